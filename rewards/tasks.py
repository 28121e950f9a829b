"""Celery tasks of the rewards app. Each takes ids (or nothing), calls one service, and is safe
to retry."""

from celery import shared_task

from rewards.services import xp_fold_all


@shared_task(name="rewards.tasks.fold_balances")
def fold_balances() -> int:
    """Fold unfolded XP deltas into cached balances (beat: every minute)."""
    return xp_fold_all()
