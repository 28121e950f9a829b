"""Pacing (SPEC §9): a global schedule and a per-chat spacing, shared across processes through
Redis, degrading to a slower per-process schedule when Redis fails (never stopping)."""

import pytest

from partners.pacing import LocalPacer, RedisPacer, pace, pacer


def test_the_global_schedule_spaces_sends_evenly(settings):
    local = LocalPacer(rate_per_second=10)
    assert local.reserve(1, now=100.0) == 0.0
    assert local.reserve(2, now=100.0) == pytest.approx(0.1)  # another chat, but the global slot is taken
    assert local.reserve(2, now=100.1) == 0.0


def test_no_one_second_window_holds_more_than_the_rate_plus_one():
    local = LocalPacer(rate_per_second=25)
    granted, now = [], 0.0
    while now < 3.0:
        if local.reserve(int(now * 1000), now=now) == 0.0:  # a new chat every millisecond
            granted.append(now)
        now += 0.001
    windows = [sum(1 for t in granted if start <= t < start + 1.0) for start in granted]
    assert max(windows) <= 26 and len(granted) >= 74


def test_one_chat_gets_at_most_one_message_a_second(settings):
    settings.TELEGRAM_PER_CHAT_INTERVAL_SECONDS = 1.0
    local = LocalPacer(rate_per_second=1000)
    assert local.reserve(7, now=10.0) == 0.0
    assert local.reserve(7, now=10.5) == pytest.approx(0.5)
    assert local.reserve(8, now=10.5) == 0.0
    assert local.reserve(7, now=11.0) == 0.0


def test_group_chats_are_spaced_further_apart(settings):
    settings.TELEGRAM_GROUP_CHAT_INTERVAL_SECONDS = 3.0
    local = LocalPacer(rate_per_second=1000)
    assert local.reserve(-100123, now=0.0) == 0.0
    assert local.reserve(-100123, now=1.0) == pytest.approx(2.0)


def test_pace_hands_on_instead_of_waiting_long(settings):
    settings.TELEGRAM_PER_CHAT_INTERVAL_SECONDS = 60.0
    settings.TELEGRAM_GLOBAL_RATE_PER_SECOND = 1000.0
    settings.REDIS_URL = ""
    assert pace(123, max_wait=0.05) == 0.0
    wait = pace(123, max_wait=0.05)
    assert 59.0 < wait <= 60.0


def test_without_redis_the_process_keeps_the_schedule(settings):
    settings.REDIS_URL = ""
    assert isinstance(pacer(), LocalPacer) and pacer().rate == settings.TELEGRAM_GLOBAL_RATE_PER_SECOND


def test_when_redis_fails_sending_degrades_to_the_slower_local_rate(settings):
    import redis

    settings.TELEGRAM_DEGRADED_RATE_PER_SECOND = 5.0
    down = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)  # nothing listens there
    connects = []
    shared = RedisPacer(
        LocalPacer(settings.TELEGRAM_DEGRADED_RATE_PER_SECOND), connect=lambda: connects.append(1) or down
    )
    assert shared.reserve(1) == 0.0  # sent, on the local schedule
    assert 0.0 < shared.reserve(2) <= 0.2  # 5 per second
    assert len(connects) == 1  # Redis is left alone for a while after failing


@pytest.mark.redis
def test_two_processes_share_one_schedule_through_redis(settings):
    from django_redis import get_redis_connection

    get_redis_connection("default").delete("p2phub:tg:pace:global", "p2phub:tg:pace:chat:31", "p2phub:tg:pace:chat:32")
    settings.TELEGRAM_GLOBAL_RATE_PER_SECOND = 2.0
    settings.TELEGRAM_PER_CHAT_INTERVAL_SECONDS = 1.0
    first, second = RedisPacer(LocalPacer(1)), RedisPacer(LocalPacer(1))  # as two workers would
    assert first.reserve(31) == 0.0
    # A process of its own would answer 0 (its local schedule is empty): the waits come from Redis.
    assert 0.0 < second.reserve(32) <= 0.5  # the global slot is taken, by the other "process"
    assert 0.0 < second.reserve(31) <= 1.0  # and so is chat 31's second
