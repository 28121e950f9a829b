"""Fixed-window throttles (p2phub.api.throttling): one counter per client and window, counted
atomically, a 429 with Retry-After past the rate, and a fresh window after it."""

import time
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import pytest
import time_machine
from django.core.cache import cache

from p2phub.api import throttling
from p2phub.api.throttling import UserRateThrottle
from partners.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_a_window_admits_the_rate_then_answers_429_until_the_next_window(monkeypatch, tma_client):
    monkeypatch.setitem(UserRateThrottle.THROTTLE_RATES, "user", "3/min")
    member = tma_client(PartnerFactory())
    window_start = (int(time.time()) // 60 + 1) * 60  # the next minute: initData stays fresh
    with time_machine.travel(window_start + 10, tick=False):
        statuses = [member.get("/api/v1/me/").status_code for _ in range(4)]
        refused = member.get("/api/v1/me/")
    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) == 50  # the window ends 50 s later
    with time_machine.travel(window_start + 60, tick=False):
        assert member.get("/api/v1/me/").status_code == 200


@pytest.mark.redis
def test_concurrent_requests_each_count_once_in_redis():
    cache.clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(lambda _: throttling._count("test:throttle:burst", 60), range(200)))
    assert sorted(counts) == list(range(1, 201))


def test_a_cache_that_raises_lets_the_request_through(tma_client):
    member = tma_client(PartnerFactory())
    with mock.patch.object(throttling, "_count", side_effect=ConnectionError("redis down")):
        assert member.get("/api/v1/me/").status_code == 200
