"""Liveness and readiness (SPEC §14): /health/ping/ says the process answers; /health/ checks
the database, the cache and the broker: 200 healthy, 200 degraded with details, 503 when the
database is down (nothing useful can be served without it)."""

import logging
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _timed(name: str, check) -> dict:
    """Run one check. A failure is a health finding, not a crash; /health/ is public, so the
    answer says only that the dependency is unreachable (no driver message: hosts, users,
    database names) and the details go to the log, under the request id."""
    started = time.perf_counter()
    try:
        detail = check()
        status = "ok"
    except Exception:  # noqa: BLE001 - any failure of a dependency is a health finding, not a crash
        logger.exception("Health check %s failed", name)
        detail = f"{name} unavailable"
        status = "down"
    result = {"status": status, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    if detail:
        result["detail"] = detail
    return result


def _check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache():
    if settings.CACHES["default"]["BACKEND"].startswith("django_redis"):
        # The cache ignores Redis errors (fails open), so ask Redis itself.
        from django_redis import get_redis_connection

        get_redis_connection("default").ping()
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", 5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)


def _check_broker():
    if not settings.CELERY_BROKER_URL:
        return "no broker configured: tasks run in-process"
    from p2phub.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


@never_cache
@require_GET
def ping(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def health(request):
    checks = {
        "database": _timed("database", _check_database),
        "cache": _timed("cache", _check_cache),
        "broker": _timed("broker", _check_broker),
    }
    if checks["database"]["status"] != "ok":
        overall, http_status = "unhealthy", 503
    elif any(check["status"] != "ok" for check in checks.values()):
        overall, http_status = "degraded", 200
    else:
        overall, http_status = "healthy", 200
    return JsonResponse({"status": overall, "checks": checks}, status=http_status)
