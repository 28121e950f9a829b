"""Celery tasks of the partners app. Each takes ids, calls one service, and is safe to retry:
a delivery task that runs twice sends nothing twice (partners.delivery claims each row)."""

import logging
import math

from celery import shared_task
from django.conf import settings

from partners.delivery import SendReport, deliveries_sweep, notifications_send, staff_messages_send

logger = logging.getLogger(__name__)


def _follow_up(task, report: SendReport) -> None:
    """Queue the rows this pass could not finish: retries at their due time, rows handed on by
    pacing or the time budget after their wait. Eager runs (no broker: local use and tests)
    queue nothing here — that would run at once, inside this call — and leave the rows to the
    sweeper (`notifications_sweep`, also run by `telegram_poll`). If the broker refuses, the rows
    are still `pending` in the database and the sweeper picks them up: nothing is lost."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    from django.utils import timezone

    now = timezone.now()
    batches: dict[int, list[int]] = {}
    for pk, due in report.retry_at.items():
        batches.setdefault(max(0, math.ceil((due - now).total_seconds())), []).append(pk)
    for pk, wait in report.deferred.items():
        batches.setdefault(max(0, math.ceil(wait)), []).append(pk)
    try:
        for countdown, ids in sorted(batches.items()):
            task.apply_async((ids,), countdown=countdown)
    except Exception:  # noqa: BLE001 - the sweeper recovers them
        logger.exception("Could not queue %s follow-up deliveries; the sweeper will", sum(map(len, batches.values())))


@shared_task(name="partners.tasks.notification_deliver")
def notification_deliver(notification_id: int) -> str | None:
    """Deliver one stored notification (queued after the commit that stored it); returns its
    state afterwards (None when the row is gone)."""
    report = notifications_send([notification_id])
    _follow_up(notifications_deliver, report)
    return report.states.get(notification_id)


@shared_task(name="partners.tasks.notifications_deliver")
def notifications_deliver(notification_ids: list[int]) -> int:
    """Deliver the notifications one transaction stored together (a signup's referral rows, a
    payment's commissions, a daily job's batch). Returns how many still exist."""
    report = notifications_send(notification_ids)
    _follow_up(notifications_deliver, report)
    return len(report.states)


@shared_task(name="partners.tasks.staff_messages_deliver")
def staff_messages_deliver(message_ids: list[int]) -> int:
    report = staff_messages_send(message_ids)
    _follow_up(staff_messages_deliver, report)
    return len(report.sent)


@shared_task(name="partners.tasks.notifications_sweep")
def notifications_sweep() -> dict:
    """Every minute: rows stuck mid-send closed, stale rows expired, overdue rows queued again
    (their task was lost), old webhook updates pruned."""
    from partners.bot.updates import telegram_updates_sweep

    result = deliveries_sweep()
    size = max(1, settings.TELEGRAM_DELIVERY_BATCH_SIZE)
    for task, ids in ((notifications_deliver, result.due_notifications), (staff_messages_deliver, result.due_staff_messages)):
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            if settings.CELERY_TASK_ALWAYS_EAGER:
                (notifications_send if task is notifications_deliver else staff_messages_send)(chunk)
            else:
                task.delay(chunk)
    updates_requeued, pruned = telegram_updates_sweep()
    return {
        "interrupted": result.interrupted,
        "expired": result.expired,
        "requeued": len(result.due_notifications) + len(result.due_staff_messages),
        "updates_requeued": updates_requeued,
        "updates_pruned": pruned,
    }


@shared_task(name="partners.tasks.referral_digests_send")
def referral_digests_send() -> int:
    """Hourly: one digest per leader of the L3-L9 activity since the last one."""
    from partners.digest import referral_digests_create

    return referral_digests_create()


@shared_task(name="partners.tasks.telegram_update_process")
def telegram_update_process(update_pk: int) -> str | None:
    """Handle one received bot update (a command and its reply); processed once."""
    from partners.bot.updates import telegram_update_handle

    outcome = telegram_update_handle(update_pk=update_pk)
    if outcome.retry_in is not None and not settings.CELERY_TASK_ALWAYS_EAGER:
        telegram_update_process.apply_async((update_pk,), countdown=outcome.retry_in)
    return outcome.status

