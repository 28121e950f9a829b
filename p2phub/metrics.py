"""Prometheus metrics (SPEC §14, API.md "Metrics") and the `/metrics` view.

Names as API.md lists them (prometheus-client adds `_total` to counters):
`referral_processed_total{level}`, `referral_failed_total{level,error_type}`,
`referral_processing_seconds` (histogram), `commission_distributed_total{level}`,
`commission_amount_usd{level}` (histogram of the USD amount of each commission row; `_sum` is
the money paid), `notification_sent_total`, `notification_failed_total{error_type}`,
`payments_total{status}` (one per payment reaching that status).

Several processes (gunicorn workers, Celery worker processes): set `PROMETHEUS_MULTIPROC_DIR`
to an empty, writable directory shared by every process of one host *before* they start; each
process then writes its values to files there and `/metrics` sums them (prometheus-client's
multiprocess mode). gunicorn's `child_exit` hook (p2phub/gunicorn.conf.py) and Celery's
`worker_process_shutdown` signal (p2phub/celery.py) mark dead processes; their counts stay in
the sum. Without the variable, values live in this process's memory (runserver, tests).

Callers use the one-line helpers below; those that run inside a transaction count after commit
(`*_on_commit`), so a rolled-back signup or payment moves nothing.
"""

import hmac
import os
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

REGISTRY = CollectorRegistry(auto_describe=True)

REFERRAL_PROCESSED = Counter(
    "referral_processed", "Referral XP awards paid, by upline level.", ["level"], registry=REGISTRY
)
REFERRAL_FAILED = Counter(
    "referral_failed",
    "Referral awards that failed (queued for retry), by level ('all': the whole step) and error type.",
    ["level", "error_type"],
    registry=REGISTRY,
)
REFERRAL_PROCESSING_SECONDS = Histogram(
    "referral_processing_seconds",
    "Time to process the referral awards of one signup.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
COMMISSION_DISTRIBUTED = Counter(
    "commission_distributed", "Commission rows paid, by upline level.", ["level"], registry=REGISTRY
)
COMMISSION_AMOUNT_USD = Histogram(
    "commission_amount_usd",
    "USD amount of each commission row paid, by level (the _sum is the money paid).",
    ["level"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100),
    registry=REGISTRY,
)
NOTIFICATION_SENT = Counter("notification_sent", "Notifications delivered to Telegram.", registry=REGISTRY)
NOTIFICATION_FAILED = Counter(
    "notification_failed", "Notification deliveries that failed, by error type.", ["error_type"], registry=REGISTRY
)
PAYMENTS = Counter("payments", "Payments reaching a status (pending when opened).", ["status"], registry=REGISTRY)

# Known label values start at 0, so a series exists before its first event (an alert such as
# "no commission for an hour" needs the series to be there, and rate() needs a starting point).
for _level in range(1, 10):
    REFERRAL_PROCESSED.labels(level=str(_level))
    COMMISSION_DISTRIBUTED.labels(level=str(_level))
    COMMISSION_AMOUNT_USD.labels(level=str(_level))
for _status in ("pending", "completed", "expired", "under_review", "rejected", "refunded"):
    PAYMENTS.labels(status=_status)


def _label(value) -> str:
    return str(value)[:64] or "unknown"


def referral_processed(level: int) -> None:
    REFERRAL_PROCESSED.labels(level=_label(level)).inc()


def referral_failed(level, error_type: str) -> None:
    REFERRAL_FAILED.labels(level=_label(level), error_type=_label(error_type)).inc()


def referral_processing_observe(seconds: float) -> None:
    REFERRAL_PROCESSING_SECONDS.observe(seconds)


def commission_distributed(level: int, amount_usd: Decimal) -> None:
    COMMISSION_DISTRIBUTED.labels(level=_label(level)).inc()
    COMMISSION_AMOUNT_USD.labels(level=_label(level)).observe(float(amount_usd))  # exposition is float


def notification_sent() -> None:
    NOTIFICATION_SENT.inc()


def notification_failed(error_type: str) -> None:
    NOTIFICATION_FAILED.labels(error_type=_label(error_type)).inc()


def payment_status(status: str) -> None:
    PAYMENTS.labels(status=_label(status)).inc()


def referrals_processed_on_commit(levels: list[int]) -> None:
    if levels:
        transaction.on_commit(lambda: [referral_processed(level) for level in levels])


def commissions_distributed_on_commit(rows: list[tuple[int, Decimal]]) -> None:
    if rows:
        transaction.on_commit(lambda: [commission_distributed(level, amount) for level, amount in rows])


def payment_status_on_commit(status: str, count: int = 1) -> None:
    if count:
        transaction.on_commit(lambda: [payment_status(status) for _ in range(count)])


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def render() -> bytes:
    """The exposition text: summed over every process's files in multiprocess mode."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def mark_process_dead(pid: int) -> None:
    """Called when a worker process exits (gunicorn child_exit, Celery worker_process_shutdown)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


def _unauthorized(status: int, detail: str) -> HttpResponse:
    response = HttpResponse(detail + "\n", status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@require_GET
def metrics_view(request):
    """GET /metrics. With METRICS_TOKEN set: `Authorization: Bearer <token>` or 401 (missing) /
    403 (wrong); compared in constant time."""
    token = settings.METRICS_TOKEN
    if token:
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return _unauthorized(401, "Bearer token required.")
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            return _unauthorized(403, "Invalid token.")
    return HttpResponse(render(), content_type=CONTENT_TYPE_LATEST)
