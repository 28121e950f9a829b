"""Leaderboards in Redis sorted sets.

Layout under LEADERBOARD_KEY_PREFIX (`p`):
  p:xp · p:week:<2025-W07> · p:month:<2025-02> · p:streak:<2025-02-14>   sorted sets
  <board key>:m   hash partner_id → that partner's current member string in the set
  p:excluded      set of partner ids that may not be ranked (hidden, banned, fraud-held, ...)
  p:rebuilding / p:journal   a rebuild in progress and the writes it must replay

Ties: the score is the exact integer (XP or streak days) and the *member string* carries the
tie-break: 14 hex digits of (T_MAX − microseconds when the score was reached) then 16 hex digits
of (ID_MAX − partner id). Redis orders equal scores by member bytes and ZREVRANGE / ZREVRANK
read them in reverse, so among equal scores the earliest arrival (then the lowest id) comes
first — exactly the database mode's `ORDER BY score DESC, reached, partner_id`. Scores stay
exact integers (doubles hold 2^53) however large XP grows, unlike packing time into the
score's fraction. The hash finds a member's string in O(1), so my-rank is HGET + ZREVRANK +
ZSCORE: O(log n), one round trip (a read script).

Writes run in Lua so "read old string, add, re-insert with the new reach time" is atomic:
an `incr` is ZINCRBY's semantics plus the tie-break re-key.
"""

import json
import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from p2phub.token_cache import tokens_replace
from rewards.leaderboards.periods import end_of_day, month_window, utc_day, week_window

logger = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_T_MAX = 16**14 - 1
_ID_MAX = 16**16 - 1
# Period keys outlive their period by a day so a late after-commit write still lands harmlessly.
_GRACE = timedelta(days=1)

_APPLY_LUA = """
local function apply(op)
  local pid = op.pid
  if op.op == 'exclude' then
    redis.call('SADD', KEYS[1], pid)
  elseif op.op == 'include' then
    redis.call('SREM', KEYS[1], pid)
  elseif redis.call('SISMEMBER', KEYS[1], pid) == 1 then
    return
  end
  for _, b in ipairs(op.boards) do
    local z, h, exp = b[1], b[2], tonumber(b[3])
    local old = redis.call('HGET', h, pid)
    if op.op == 'exclude' or op.op == 'remove' then
      if old then redis.call('ZREM', z, old); redis.call('HDEL', h, pid) end
    else
      local score = tonumber(op.amount)
      local member = op.member
      if old then
        if op.op == 'incr' then
          local current = redis.call('ZSCORE', z, old)
          if current then score = score + tonumber(current) end
          -- keep the later reach time: a smaller inverted time sorts lower
          if old < member then member = old end
        end
        redis.call('ZREM', z, old)
      end
      redis.call('ZADD', z, string.format('%d', score), member)
      redis.call('HSET', h, pid, member)
      if exp > 0 then redis.call('EXPIREAT', z, exp); redis.call('EXPIREAT', h, exp) end
    end
  end
end
"""

# KEYS: excluded, rebuilding flag, journal. ARGV[1]: JSON list of ops.
WRITE_LUA = _APPLY_LUA + """
local ops = cjson.decode(ARGV[1])
local journaling = redis.call('EXISTS', KEYS[2]) == 1
for _, op in ipairs(ops) do
  if journaling then redis.call('RPUSH', KEYS[3], cjson.encode(op)) end
  apply(op)
end
return #ops
"""

# KEYS: excluded, rebuilding flag, journal. ARGV[1]: JSON {renames: [[tmp, live]], visible: [refs]}.
SWAP_LUA = _APPLY_LUA + """
local plan = cjson.decode(ARGV[1])
for _, pair in ipairs(plan.renames) do
  if redis.call('EXISTS', pair[1]) == 1 then redis.call('RENAME', pair[1], pair[2])
  else redis.call('DEL', pair[2]) end
end
local visible = {}
for _, ref in ipairs(plan.visible) do visible[ref] = true end
local replayed = 0
for _, raw in ipairs(redis.call('LRANGE', KEYS[3], 0, -1)) do
  local op = cjson.decode(raw)
  if not (op.ref and visible[op.ref]) then apply(op); replayed = replayed + 1 end
end
redis.call('DEL', KEYS[3], KEYS[2])
return replayed
"""

# KEYS: zset, hash. ARGV: partner id. → {rank0 or false, score or false}
RANK_LUA = """
local member = redis.call('HGET', KEYS[2], ARGV[1])
if not member then return {false, false} end
return {redis.call('ZREVRANK', KEYS[1], member), redis.call('ZSCORE', KEYS[1], member)}
"""

_scripts: dict = {}

# What "Redis is unreachable or failing" looks like to callers that fall back to the database.
REDIS_ERRORS = (RedisError, ConnectionInterrupted, ConnectionError, TimeoutError)


def client():
    """The Redis connection: django-redis's pool when the cache is django-redis."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend.startswith("django_redis"):
        from django_redis import get_redis_connection

        return get_redis_connection("default")
    import redis

    key = ("client", settings.REDIS_URL)
    if key not in _scripts:
        _scripts[key] = redis.Redis.from_url(settings.REDIS_URL)
    return _scripts[key]


def _script(conn, source: str):
    key = (id(conn), source)
    if key not in _scripts:
        _scripts[key] = conn.register_script(source)
    return _scripts[key]


def prefix() -> str:
    return settings.LEADERBOARD_KEY_PREFIX


def control_keys() -> list[str]:
    p = prefix()
    return [f"{p}:excluded", f"{p}:rebuilding", f"{p}:journal"]


def encode_member(partner_id: int, reached: datetime) -> str:
    micros = (reached - _EPOCH) // timedelta(microseconds=1)
    return f"{_T_MAX - micros:014x}{_ID_MAX - partner_id:016x}"


def decode_partner(member: bytes | str) -> int:
    text = member.decode() if isinstance(member, bytes) else member
    return _ID_MAX - int(text[14:], 16)


def board_key(board: str, now: datetime) -> tuple[str, int]:
    """(sorted-set key, expire-at unix time or 0) of a board as of `now`."""
    p = prefix()
    if board == "xp":
        return f"{p}:xp", 0
    if board == "week":
        _, end, label = week_window(now)
        return f"{p}:week:{label}", int((end + _GRACE).timestamp())
    if board == "month":
        _, end, label = month_window(now)
        return f"{p}:month:{label}", int((end + _GRACE).timestamp())
    return streak_key(utc_day(now))


def streak_key(day) -> tuple[str, int]:
    """The streak board *for* a day: members whose last check-in is that day or the day before."""
    return f"{prefix()}:streak:{day.isoformat()}", int((end_of_day(day) + _GRACE).timestamp())


def board_spec(key_and_expiry: tuple[str, int]) -> list:
    key, expiry = key_and_expiry
    return [key, f"{key}:m", str(expiry)]


# The token of every cached top list (rewards.leaderboards.leaderboard_top): replaced after each
# write to the boards, so a top list is never served from before the write.
TOP_TOKEN = "leaderboards:top"


def write(ops: list[dict], conn=None) -> None:
    if ops:
        conn = conn or client()
        _script(conn, WRITE_LUA)(keys=control_keys(), args=[json.dumps(ops)], client=conn)
        tokens_replace([TOP_TOKEN])


def swap(plan: dict, conn) -> int:
    replayed = int(_script(conn, SWAP_LUA)(keys=control_keys(), args=[json.dumps(plan)], client=conn))
    tokens_replace([TOP_TOKEN])
    return replayed


def top(board: str, limit: int, now: datetime, offset: int = 0) -> list[tuple[int, int]]:
    key, _ = board_key(board, now)
    rows = client().zrevrange(key, offset, offset + limit - 1, withscores=True)
    return [(decode_partner(member), int(score)) for member, score in rows]


def rank_of(board: str, partner_id: int, now: datetime) -> tuple[int | None, int | None]:
    """(1-based rank, score), or (None, None) when the member is not on this board."""
    key, _ = board_key(board, now)
    conn = client()
    rank, score = _script(conn, RANK_LUA)(keys=[key, f"{key}:m"], args=[str(partner_id)], client=conn)
    if rank is None or score is None:
        return None, None
    return int(rank) + 1, int(float(score))
