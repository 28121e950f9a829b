"""Celery tasks of the referral engine. They take ids, call one service and are safe to retry:
the ledger's idempotency keys make a second run pay nothing."""

from celery import shared_task

from referrals.services import referral_award_retries_due, referral_awards_retry


class AwardRetryFailed(Exception):
    """Raised so Celery backs off and tries again; the row also records the error."""


@shared_task(
    name="referrals.tasks.retry_referral_awards",
    autoretry_for=(AwardRetryFailed,),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=8,
)
def retry_referral_awards(retry_id: int) -> bool:
    if not referral_awards_retry(retry_id):
        raise AwardRetryFailed(f"referral award retry {retry_id} failed")
    return True


@shared_task(name="referrals.tasks.retry_due_referral_awards")
def retry_due_referral_awards() -> int:
    """Beat backstop for retries whose Celery message was lost (broker down at commit time) or
    that exhausted their Celery retries: every due row is tried again, with its own backoff."""
    done = 0
    for retry_id in referral_award_retries_due():
        done += int(referral_awards_retry(retry_id))
    return done
