"""Celery tasks of the payments app: thin wrappers that call one service and are safe to
retry (every service here is idempotent)."""

import logging

from celery import shared_task

from p2phub.clients.errors import TransientExternalError
from payments.services import commission_stats_fold, payment_expire_stale, subscriptions_run_expiry, ton_poll

logger = logging.getLogger(__name__)


@shared_task(
    name="payments.tasks.poll_ton_payments",
    autoretry_for=(TransientExternalError,),
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
def poll_ton_payments() -> dict:
    """Beat: every 30 s. Reads at most TON_POLL_MAX_PAGES pages; the next run resumes from the
    persisted cursor. Indexer timeouts, 5xx and 429s raise TransientExternalError; pages
    handled before the error stay handled (each transfer is recorded once), so a retry just
    carries on."""
    outcomes = ton_poll()
    if outcomes:
        logger.info("TON poll: %s", dict(outcomes))
    return dict(outcomes)


@shared_task(name="payments.tasks.expire_subscriptions")
def expire_subscriptions() -> dict:
    """Beat: hourly. Expiry warnings (3 d, 1 d), PRO end, stale sessions."""
    result = subscriptions_run_expiry()
    stale = payment_expire_stale()
    return {"warned": result.warned, "expired": result.expired, "sessions_expired": stale}


@shared_task(name="payments.tasks.fold_commission_stats")
def fold_commission_stats() -> int:
    """Beat: every 10 minutes. Folds each closed UTC day of the commission ledger into the
    staff summary tables once (the watermark makes reruns no-ops); returns the days folded."""
    return commission_stats_fold()
