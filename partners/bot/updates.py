"""Bot updates in: stored once per update_id, handled once by a Celery task.

`telegram_update_receive` (the webhook and `telegram_poll`) inserts the update; the unique
`update_id` makes a redelivery (Telegram retries a webhook call it thinks failed) a no-op. The
task claims the row (`received → processing`, a conditional UPDATE), computes the command's
reply (partners.bot.commands) and sends it, paced like every other message. A transient Bot API
failure puts the row back to `received` for a later attempt (at most MAX_ATTEMPTS), anything
else ends it `done` or `failed` with the reason. Like notifications, at most once: a worker that
dies while a row is `processing` leaves it there (the sweeper re-queues only `received` rows),
so a reply is never sent twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from p2phub.clients import telegram
from p2phub.clients.errors import ExternalServiceError, TransientExternalError
from partners.models import TelegramUpdate
from partners.pacing import pace

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
REPLY_MAX_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class HandleOutcome:
    status: str
    retry_in: int | None = None  # seconds, when the reply is to be tried again


def telegram_update_receive(update: dict) -> bool:
    """Store one update and queue its handling after commit; False for a known update_id."""
    try:
        with transaction.atomic():
            row = TelegramUpdate.objects.create(update_id=update["update_id"], payload=update)
    except IntegrityError:
        return False
    transaction.on_commit(partial(_enqueue, row.pk), robust=True)
    return True


def _enqueue(update_pk: int) -> None:
    from partners.tasks import telegram_update_process

    telegram_update_process.delay(update_pk)


def _finish(update_pk: int, status: str, error: str = "") -> HandleOutcome:
    TelegramUpdate.objects.filter(pk=update_pk, status=TelegramUpdate.Status.PROCESSING).update(
        status=status, last_error=error[:300], processed_at=timezone.now()
    )
    return HandleOutcome(status=status)


def telegram_update_handle(*, update_pk: int) -> HandleOutcome:
    from partners.bot.commands import reply_for

    claimed = TelegramUpdate.objects.filter(pk=update_pk, status=TelegramUpdate.Status.RECEIVED).update(
        status=TelegramUpdate.Status.PROCESSING, attempts=F("attempts") + 1
    )
    if not claimed:
        current = TelegramUpdate.objects.filter(pk=update_pk).values_list("status", flat=True).first()
        return HandleOutcome(status=current or "gone")
    row = TelegramUpdate.objects.get(pk=update_pk)
    try:
        reply = reply_for(row.payload)
    except Exception as error:  # a fault of ours: recorded, the update is not handled again
        logger.exception("Telegram update %s could not be handled", row.update_id)
        return _finish(update_pk, TelegramUpdate.Status.FAILED, f"internal error: {type(error).__name__}")
    if reply is None:
        return _finish(update_pk, TelegramUpdate.Status.DONE)
    if not settings.TELEGRAM_SEND_ENABLED:
        return _finish(update_pk, TelegramUpdate.Status.DONE, "reply not sent: TELEGRAM_SEND_ENABLED is off")
    wait = pace(reply.chat_id, max_wait=REPLY_MAX_WAIT_SECONDS)
    try:
        if wait > 0:
            raise TransientExternalError("no sending slot yet (pacing)", retry_after=wait)
        telegram.send_message(reply.chat_id, reply.text, reply_markup=reply.reply_markup)
    except TransientExternalError as error:
        if row.attempts >= MAX_ATTEMPTS:
            return _finish(update_pk, TelegramUpdate.Status.FAILED, f"gave up after {row.attempts} attempts: {error}")
        delay = error.retry_after if error.retry_after is not None else 2 ** row.attempts
        TelegramUpdate.objects.filter(pk=update_pk, status=TelegramUpdate.Status.PROCESSING).update(
            status=TelegramUpdate.Status.RECEIVED, last_error=str(error)[:300]
        )
        return HandleOutcome(status=TelegramUpdate.Status.RECEIVED, retry_in=max(1, int(delay + 0.999)))
    except telegram.BotBlockedError as error:
        from partners.selectors import partner_get_by_telegram_id
        from partners.services import partner_telegram_block

        member = partner_get_by_telegram_id(reply.chat_id) if isinstance(reply.chat_id, int) else None
        if member is not None:
            partner_telegram_block(partner_id=member.pk, description=error.description)
        return _finish(update_pk, TelegramUpdate.Status.FAILED, f"403: {error.description}")
    except ExternalServiceError as error:
        return _finish(update_pk, TelegramUpdate.Status.FAILED, f"{error.status_code or ''} {error}".strip())
    return _finish(update_pk, TelegramUpdate.Status.DONE)


def telegram_updates_sweep(*, now=None) -> tuple[int, int]:
    """Queue again the updates whose task was lost (still `received` after a minute, within
    the last hour), and prune handled ones older than TELEGRAM_UPDATE_RETENTION_DAYS (their
    update_id can no longer be redelivered by then). Returns (requeued, pruned)."""
    now = now or timezone.now()
    lost = list(
        TelegramUpdate.objects.filter(
            status=TelegramUpdate.Status.RECEIVED,
            received_at__lt=now - timedelta(minutes=1),
            received_at__gte=now - timedelta(hours=1),
        ).values_list("pk", flat=True)[:1000]
    )
    for pk in lost:
        _enqueue(pk)
    pruned, _ = TelegramUpdate.objects.filter(
        received_at__lt=now - timedelta(days=settings.TELEGRAM_UPDATE_RETENTION_DAYS)
    ).delete()
    return len(lost), pruned
