"""Celery tasks of the partners app. Each takes ids, calls one service, and is safe to retry."""

from celery import shared_task

from partners.notifications import notification_dispatch, notifications_dispatch


@shared_task(name="partners.tasks.notification_deliver")
def notification_deliver(notification_id: int) -> str | None:
    """Deliver one stored notification (queued after the commit that stored it)."""
    return notification_dispatch(notification_id)


@shared_task(name="partners.tasks.notifications_deliver")
def notifications_deliver(notification_ids: list[int]) -> int:
    """Deliver the notifications one transaction stored together (a signup's referral rows, a
    payment's commissions, a daily job's batch). Returns how many still exist."""
    return len(notifications_dispatch(notification_ids))
