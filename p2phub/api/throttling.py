"""DRF throttles that fail open (SPEC §14): when the cache behind them is unreachable the
request is let through (and logged) instead of answering 500. With django-redis's
IGNORE_EXCEPTIONS (p2phub.caching) a cache miss already reads as an empty history; these
classes also cover a cache that raises (no IGNORE_EXCEPTIONS, a timeout, a pickling error)."""

import logging

from rest_framework import throttling

logger = logging.getLogger(__name__)


class FailOpenThrottleMixin:
    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # noqa: BLE001 - a throttle must never be the reason a member gets a 500
            logger.warning(
                "Throttle %s could not reach its cache; letting the request through", type(self).__name__, exc_info=True
            )
            return True


class AnonRateThrottle(FailOpenThrottleMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FailOpenThrottleMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(FailOpenThrottleMixin, throttling.ScopedRateThrottle):
    pass
