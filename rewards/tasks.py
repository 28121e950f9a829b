"""Celery tasks of the rewards app. Each takes ids (or nothing), calls one service, and is safe
to retry."""

import logging

from celery import shared_task

from rewards.services import xp_fold_all

logger = logging.getLogger(__name__)


@shared_task(name="rewards.tasks.fold_balances")
def fold_balances() -> int:
    """Fold unfolded XP deltas into cached balances (beat: every minute)."""
    return xp_fold_all()


@shared_task(name="rewards.tasks.reconcile_ledgers")
def reconcile_ledgers() -> int:
    """Daily: compare every balance with its ledger (each difference is logged and audited as
    LEDGER_MISMATCH for staff) and check the referral tree's integrity (each violation logged)."""
    from p2phub.ledgers import ledgers_reconcile
    from partners.selectors import partner_tree_problems

    problems = len(ledgers_reconcile(fix=False).mismatches)
    for kind, partner_ids in partner_tree_problems().items():
        if partner_ids:
            logger.error("Tree integrity: %s for %s partner(s), first ids %s", kind, len(partner_ids), partner_ids[:20])
            problems += len(partner_ids)
    return problems


@shared_task(name="rewards.tasks.streak_reminders")
def streak_reminders() -> int:
    """Daily at STREAK_REMINDER_HOUR_UTC: "streak at risk" notices (deduplicated per day)."""
    from rewards.services import streak_reminders_send

    return streak_reminders_send()


@shared_task(name="rewards.tasks.cleanup_stale_tasks")
def cleanup_stale_tasks() -> int:
    """Weekly: forget started tasks untouched for STALE_TASK_DAYS."""
    from rewards.services import tasks_cleanup_stale

    return tasks_cleanup_stale()


@shared_task(name="rewards.tasks.rebuild_leaderboards")
def rebuild_leaderboards() -> dict:
    """Daily, Redis mode only: rebuild the boards from the ledger (repairs writes lost while
    Redis was unreachable); safe while traffic runs (see rewards.leaderboards.sync.rebuild)."""
    from rewards import leaderboards

    return leaderboards.rebuild() if leaderboards.redis_enabled() else {}
