"""The cache configuration for a Redis URL (imported by settings: no Django imports here).

SPEC §14: with Redis down members are still served. The cache fails open (django-redis's
IGNORE_EXCEPTIONS: a read is a miss, a write is dropped) and short socket
timeouts make a closed port or a hung server cost seconds at most, not a stuck worker.
The leaderboards and the throttles that talk to Redis handle its errors themselves
(rewards.leaderboards, p2phub.api.throttling); /health/ pings Redis directly and says degraded.
"""


def redis_caches(
    url: str, *, key_prefix: str = "p2phub", connect_timeout_seconds: float = 0.5, timeout_seconds: float = 2.0
) -> dict:
    """`connect_timeout_seconds` bounds reaching Redis (a black-holed host fails in half a
    second; a closed port is refused at once); `timeout_seconds` bounds each command, with room
    for the leaderboard rebuild's batches and scripts on a busy server."""
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": key_prefix,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": connect_timeout_seconds,
                "SOCKET_TIMEOUT": timeout_seconds,
            },
        }
    }
