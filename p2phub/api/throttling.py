"""DRF throttles: fixed-window counters that fail open (SPEC §14).

DRF's own rate throttles keep each client's request history as a pickled list: a read and a
write of that list on every request (two cache round trips, and two concurrent requests can both
read the old list and both pass). These keep one counter per client and window instead: on Redis
an INCR and an EXPIRE sent together (one round trip, atomic, so N concurrent requests count N);
on another cache `incr`/`add`. A window admits `num_requests`; across a window boundary a client
can at most double that briefly, which is fine for abuse limits of this size.

When the cache is unreachable the request is let through (and logged) instead of answering 500.
"""

import logging
import time

from django.core.cache import cache, caches
from rest_framework import throttling

logger = logging.getLogger(__name__)


def _redis_connection():
    """The raw Redis client behind the default cache, or None for another backend."""
    from django_redis import get_redis_connection
    from django_redis.cache import RedisCache

    return get_redis_connection("default") if isinstance(caches["default"], RedisCache) else None


def _count(key: str, window_seconds: int) -> int:
    """This window's count for the key after counting this request."""
    connection = _redis_connection()
    if connection is not None:
        pipe = connection.pipeline(transaction=False)
        full_key = cache.make_key(key)
        pipe.incr(full_key)
        pipe.expire(full_key, window_seconds, nx=True)
        return int(pipe.execute()[0])
    if cache.add(key, 1, window_seconds):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr: this request opens the window again
        cache.add(key, 1, window_seconds)
        return 1


class FixedWindowRateThrottle(throttling.SimpleRateThrottle):
    """SimpleRateThrottle's rates and cache keys, counted per fixed window."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        try:
            count = _count(f"{self.key}:{window}", int(self.duration))
        except Exception:  # noqa: BLE001 - a throttle must never be the reason a member gets a 500
            logger.warning(
                "Throttle %s could not reach its cache; letting the request through", type(self).__name__, exc_info=True
            )
            return True
        if count <= self.num_requests:
            return True
        self.wait_seconds = max((window + 1) * self.duration - now, 1)
        return False

    def wait(self):
        return getattr(self, "wait_seconds", None)


# DRF's classes first: their get_cache_key (and the scope's rate, read per view) with our counting.
class AnonRateThrottle(throttling.AnonRateThrottle, FixedWindowRateThrottle):
    pass


class UserRateThrottle(throttling.UserRateThrottle, FixedWindowRateThrottle):
    pass


class ScopedRateThrottle(throttling.ScopedRateThrottle, FixedWindowRateThrottle):
    pass
