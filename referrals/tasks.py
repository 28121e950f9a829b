"""Celery tasks of the referral engine. They take ids, call one service and are safe to retry:
the ledger's idempotency keys make a second run pay nothing.

Retries of a failed award step follow one schedule, `referrals.services.REFERRAL_AWARD_RETRY_DELAYS`,
kept on the `ReferralAwardRetry` row (`next_attempt_at`): the service sends the message for the
next attempt itself (eta = next_attempt_at) and the beat backstop runs every due row, so these
tasks have no Celery autoretry of their own (that would be a second, different schedule)."""

from datetime import datetime

from celery import shared_task
from django.db import DatabaseError

from referrals.services import referral_award_retries_due, referral_awards_retry, sightings_record


@shared_task(name="referrals.tasks.retry_referral_awards", ignore_result=True)
def retry_referral_awards(retry_id: int) -> bool:
    """One attempt if the row is due; a failure reschedules it (in the service)."""
    return referral_awards_retry(retry_id)


@shared_task(name="referrals.tasks.retry_due_referral_awards")
def retry_due_referral_awards() -> int:
    """Beat backstop for retries whose Celery message was lost (broker down at commit time):
    every due row is tried once, on the same schedule. Returns how many were done."""
    done = 0
    for retry_id in referral_award_retries_due():
        done += int(referral_awards_retry(retry_id))
    return done


@shared_task(
    name="referrals.tasks.record_sighting",
    ignore_result=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def record_sighting(*, partner_id: int, ip_hash: str, device_hash: str, seen_at: str) -> None:
    """A member's hashed IP / device seen at `seen_at` (an authenticated action, see
    referrals.receivers). An upsert of `last_seen`: running it twice is harmless."""
    sightings_record(partner_id=partner_id, ip_hash=ip_hash, device_hash=device_hash, now=datetime.fromisoformat(seen_at))
