"""Pacing of Telegram sends (SPEC §9): about 30 messages per second overall, one per second per
chat (a group chat: 20 per minute), so a burst of thousands of notifications goes out paced
instead of being answered with 429s.

`pacer().reserve(chat_id)` takes a sending slot: it returns 0.0 when the message may go now (the
slot is taken), else the seconds to wait (nothing is taken). Two limits at once, checked and
taken atomically:

* global: a GCRA (generic cell rate) schedule — slots are `1 / TELEGRAM_GLOBAL_RATE_PER_SECOND`
  apart, no burst, so no one-second window ever holds more than rate + 1 sends;
* per chat: the chat's next allowed time (`TELEGRAM_PER_CHAT_INTERVAL_SECONDS` after its last
  send; group chats, negative ids, `TELEGRAM_GROUP_CHAT_INTERVAL_SECONDS`).

Several worker processes must share the limits, so with REDIS_URL set the state lives in Redis
(one Lua script, Redis's own clock: no skew between hosts). Without Redis the limits are kept in
the process (the embedded default runs tasks in-process; run one worker). When Redis fails,
sending does not stop and nothing is lost: each process falls back to its own schedule at the
lower TELEGRAM_DEGRADED_RATE_PER_SECOND until Redis answers again, and logs it (once a minute).
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

_GLOBAL_KEY = "p2phub:tg:pace:global"
_CHAT_KEY = "p2phub:tg:pace:chat:"

# KEYS[1] global schedule, KEYS[2] the chat's next allowed time (both in microseconds since the
# epoch, Redis's clock). ARGV[1] global interval, ARGV[2] chat interval (microseconds).
# Returns 0 when the slot is taken, else the microseconds to wait.
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local chat_interval = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local global_wait = tat - now
local chat_next = tonumber(redis.call('GET', KEYS[2]) or '0')
local chat_wait = chat_next - now
if chat_wait < 0 then chat_wait = 0 end
if global_wait > 0 or chat_wait > 0 then
  if global_wait > chat_wait then return global_wait end
  return chat_wait
end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.floor(interval / 1000) + 1000)
redis.call('SET', KEYS[2], now + chat_interval, 'PX', math.floor(chat_interval / 1000) + 1000)
return 0
"""


def chat_interval(chat_id: int | str) -> float:
    try:
        is_group = int(chat_id) < 0
    except (TypeError, ValueError):
        is_group = True  # "@channelname"
    return settings.TELEGRAM_GROUP_CHAT_INTERVAL_SECONDS if is_group else settings.TELEGRAM_PER_CHAT_INTERVAL_SECONDS


class LocalPacer:
    """The same two limits inside one process (thread-safe)."""

    def __init__(self, rate_per_second: float) -> None:
        self.rate = rate_per_second
        self._lock = threading.Lock()
        self._tat = 0.0
        self._chats: dict[str, float] = {}
        self._pruned_at = 0.0

    def reserve(self, chat_id: int | str, *, now: float | None = None) -> float:
        interval = 1.0 / self.rate if self.rate > 0 else 0.0
        with self._lock:
            now = time.monotonic() if now is None else now
            tat = max(self._tat, now)
            key = str(chat_id)
            wait = max(tat - now, self._chats.get(key, 0.0) - now, 0.0)
            if wait > 0:
                return wait
            self._tat = tat + interval
            self._chats[key] = now + chat_interval(chat_id)
            if now - self._pruned_at > 60:
                self._chats = {k: v for k, v in self._chats.items() if v > now}
                self._pruned_at = now
            return 0.0


class RedisPacer:
    """Limits shared by every process through Redis; a Redis failure degrades to `fallback`."""

    _LOG_EVERY_SECONDS = 60.0
    # After a failure Redis is left alone this long (the client's own retries make every failed
    # call slow): the process paces itself meanwhile, then tries Redis again.
    RETRY_REDIS_AFTER_SECONDS = 30.0

    def __init__(self, fallback: LocalPacer, *, connect=None) -> None:
        self.fallback = fallback
        self._connect = connect or _default_connection
        self._script = None
        self._logged_at = 0.0
        self._down_until = 0.0

    def reserve(self, chat_id: int | str) -> float:
        interval_us = int(1_000_000 / settings.TELEGRAM_GLOBAL_RATE_PER_SECOND)
        chat_us = int(chat_interval(chat_id) * 1_000_000)
        if time.monotonic() < self._down_until:
            return self.fallback.reserve(chat_id)
        try:
            if self._script is None:
                self._script = self._connect().register_script(_LUA)
            wait_us = self._script(keys=[_GLOBAL_KEY, f"{_CHAT_KEY}{chat_id}"], args=[interval_us, chat_us])
        except Exception as exc:  # noqa: BLE001 - any Redis trouble: degrade, never stop sending
            self._script = None
            now = time.monotonic()
            self._down_until = now + self.RETRY_REDIS_AFTER_SECONDS
            if now - self._logged_at > self._LOG_EVERY_SECONDS:
                self._logged_at = now
                logger.warning(
                    "Telegram pacing: Redis unavailable (%s); this process sends at %.1f msg/s meanwhile",
                    type(exc).__name__,
                    self.fallback.rate,
                )
            return self.fallback.reserve(chat_id)
        return int(wait_us) / 1_000_000


def _default_connection():
    from django_redis import get_redis_connection

    return get_redis_connection("default")  # the cache's Redis (REDIS_URL), short timeouts


_pacer = None
_pacer_config = None


def pacer():
    """The process's pacer for the current settings (rebuilt when tests change them)."""
    global _pacer, _pacer_config
    config = (
        settings.REDIS_URL,
        settings.TELEGRAM_GLOBAL_RATE_PER_SECOND,
        settings.TELEGRAM_DEGRADED_RATE_PER_SECOND,
    )
    if _pacer is None or config != _pacer_config:
        if settings.REDIS_URL:
            _pacer = RedisPacer(LocalPacer(settings.TELEGRAM_DEGRADED_RATE_PER_SECOND))
        else:
            _pacer = LocalPacer(settings.TELEGRAM_GLOBAL_RATE_PER_SECOND)
        _pacer_config = config
    return _pacer


def pace(chat_id: int | str, *, max_wait: float | None = None) -> float:
    """Wait (sleep) for a sending slot for at most `max_wait` seconds. Returns 0.0 when the slot
    is taken, else the seconds still to wait (the caller hands the message to a later task)."""
    max_wait = settings.TELEGRAM_PACING_MAX_WAIT_SECONDS if max_wait is None else max_wait
    deadline = time.monotonic() + max_wait
    while True:
        wait = pacer().reserve(chat_id)
        if wait <= 0:
            return 0.0
        if time.monotonic() + wait > deadline:
            return wait
        time.sleep(wait)
