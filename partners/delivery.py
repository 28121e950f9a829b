"""Telegram delivery of stored messages: member notifications and staff-chat messages (SPEC §9).

One attempt at one row:

1. Decide without sending: not `pending` (already handled) → nothing; not due yet
   (`next_attempt_at`) → later; member turned messages off, has no Telegram account or is not
   active → `skipped`; member blocked the bot → `blocked`; L3-L9 activity → left for the digest;
   sending switched off (TELEGRAM_SEND_ENABLED) → stays `pending`.
2. **Claim** it with a conditional UPDATE `pending → sending` (attempts + 1). Only the worker
   whose UPDATE matched sends; a duplicate task, a retried task or a sweeper run that finds the
   row `sending` or `sent` sends nothing.
3. Take a pacing slot (partners.pacing); when none comes within a short wait the row goes back
   to `pending` untried and is handed to a later task.
4. Call sendMessage, then record the outcome from `sending`: `sent` (time, message id); 429 →
   `pending` again, due after Telegram's retry_after; 5xx / timeout → `pending`, due after an
   exponential backoff (TELEGRAM_RETRY_BASE_SECONDS · 2^(attempt-1), capped, up to
   TELEGRAM_SEND_MAX_ATTEMPTS attempts, then `failed`); 403 → `blocked`, the member's messages
   switched off (audited) until they /start the bot again; other 4xx → `failed` with Telegram's
   description, no retry.

At most once: a worker that dies after step 2 leaves the row `sending`. Telegram may or may not
have shown it, and there is no way to ask, so the sweeper closes such rows as `failed` (after
TELEGRAM_STALE_SENDING_MINUTES) instead of sending them again: a member never gets a message
twice; the rare lost one is still in the in-app list. The one exception Telegram forces on every
client: a sendMessage that timed out may have been delivered, and it is retried like a 5xx (the
issue's rule), so a timeout after Telegram accepted the message can repeat it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from p2phub import metrics
from p2phub.clients import telegram
from p2phub.clients.errors import ExternalServiceError, TransientExternalError
from partners.models import Delivery, Notification, Partner, StaffMessage
from partners.pacing import pace

logger = logging.getLogger(__name__)


@dataclass
class Outgoing:
    chat_id: int | str
    text: str
    reply_markup: dict | None = None
    partner_id: int | None = None  # whose messages a 403 switches off (None: the staff chat)


@dataclass
class SendReport:
    """What one pass did: each existing row's state afterwards, the rows to try again at a given
    time (retries, not yet due), and the rows handed on untouched (pacing, time budget) with the
    seconds to wait."""

    states: dict[int, str] = field(default_factory=dict)
    retry_at: dict[int, datetime] = field(default_factory=dict)
    deferred: dict[int, float] = field(default_factory=dict)

    @property
    def sent(self) -> list[int]:
        return [pk for pk, state in self.states.items() if state == Delivery.SENT]


def _due(now: datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def _truncate(text: str) -> str:
    return text if len(text) <= 300 else text[:297] + "..."


def retry_delay(attempt: int, error: TransientExternalError) -> float:
    """Seconds before the next attempt: exactly Telegram's retry_after for a 429, else an
    exponential backoff with up to 10% jitter (thousands of rows failing together during an
    outage do not come back in one instant)."""
    if error.status_code == 429 and error.retry_after is not None:
        return max(float(error.retry_after), 0.0)
    base = settings.TELEGRAM_RETRY_BASE_SECONDS * (2 ** max(attempt - 1, 0))
    return min(base, settings.TELEGRAM_RETRY_MAX_SECONDS) * (1 + random.random() * 0.1)  # noqa: S311


# --- member notifications -------------------------------------------------------------------------


def _notification_outgoing(row: Notification) -> Outgoing | tuple[str, str] | None:
    """What to send for a pending, due notification; or (final state, reason) when it is not
    sent at all; or None when it waits (digest, sending switched off)."""
    from partners.notifications import Kind, notification_telegram_message

    partner = row.partner
    if not partner.notifications_enabled:
        return Delivery.SKIPPED, "member turned notifications off"
    if partner.telegram_id is None:
        return Delivery.SKIPPED, "member has no Telegram account"
    if partner.status != Partner.Status.ACTIVE:
        return Delivery.SKIPPED, f"member is {partner.status}"
    if partner.telegram_blocked_at is not None:
        return Delivery.BLOCKED, "member blocked the bot"
    if row.kind == Kind.REFERRAL_DEEP or not settings.TELEGRAM_SEND_ENABLED:
        return None
    text, markup = notification_telegram_message(row, partner=partner)
    return Outgoing(chat_id=partner.telegram_id, text=text, reply_markup=markup, partner_id=partner.pk)


def notifications_send(notification_ids: list[int], *, now: datetime | None = None) -> SendReport:
    rows = (
        Notification.objects.filter(pk__in=notification_ids)
        .select_related("partner")
        .only(
            "id", "kind", "title", "body", "data", "delivery", "attempts", "next_attempt_at",
            "partner__id", "partner__telegram_id", "partner__language", "partner__notifications_enabled",
            "partner__status", "partner__telegram_blocked_at", "partner__referral_code",
        )
        .order_by("id")
    )
    return _send_rows(Notification, list(rows), _notification_outgoing, now=now)


# --- the staff chat -------------------------------------------------------------------------------


def _staff_outgoing(row: StaffMessage) -> Outgoing | tuple[str, str] | None:
    chat = settings.TELEGRAM_STAFF_CHAT_ID
    if not chat:
        return Delivery.SKIPPED, "TELEGRAM_STAFF_CHAT_ID is not set"
    if not settings.TELEGRAM_SEND_ENABLED:
        return None
    chat_id: int | str = int(chat) if chat.lstrip("-").isdigit() else chat
    markup = row.data.get("reply_markup") if isinstance(row.data.get("reply_markup"), dict) else None
    return Outgoing(chat_id=chat_id, text=row.text[:4096], reply_markup=markup)


def staff_messages_send(message_ids: list[int], *, now: datetime | None = None) -> SendReport:
    rows = list(StaffMessage.objects.filter(pk__in=message_ids).order_by("id"))
    return _send_rows(StaffMessage, rows, _staff_outgoing, now=now)


# --- the common loop ------------------------------------------------------------------------------


def _send_rows(model, rows: list, decide: Callable, *, now: datetime | None) -> SendReport:
    clock = (lambda: now) if now is not None else timezone.now
    report = SendReport()
    started = time.monotonic()
    budget = settings.TELEGRAM_DELIVERY_TASK_BUDGET_SECONDS
    for row in rows:
        report.states[row.pk] = row.delivery
        if row.delivery != Delivery.PENDING:
            continue
        if time.monotonic() - started > budget:
            report.deferred[row.pk] = 0.0  # this task ran long: the next one carries on
            continue
        moment = clock()
        if row.next_attempt_at is not None and row.next_attempt_at > moment:
            report.retry_at[row.pk] = row.next_attempt_at
            continue
        decision = decide(row)
        if decision is None:
            continue
        if isinstance(decision, tuple):
            state, reason = decision
            if model.objects.filter(pk=row.pk, delivery=Delivery.PENDING).update(delivery=state, last_error=reason):
                report.states[row.pk] = state
            continue
        claimed = (
            model.objects.filter(_due(moment), pk=row.pk, delivery=Delivery.PENDING)
            .update(delivery=Delivery.SENDING, attempts=F("attempts") + 1, last_attempt_at=clock())
        )
        if not claimed:  # another worker has it, or had it
            report.states[row.pk] = model.objects.filter(pk=row.pk).values_list("delivery", flat=True).first()
            continue
        # The slot is taken right before the request (after the claim's database round trip),
        # so requests reach Telegram spaced as the schedule granted them.
        wait = pace(decision.chat_id)
        if wait > 0:  # no slot soon: give the row back untried (the attempt does not count)
            model.objects.filter(pk=row.pk, delivery=Delivery.SENDING).update(
                delivery=Delivery.PENDING, attempts=F("attempts") - 1
            )
            report.states[row.pk] = Delivery.PENDING
            report.deferred[row.pk] = wait
            continue
        state, retry_at = _attempt(model, row.pk, row.attempts + 1, decision, clock)
        report.states[row.pk] = state
        if retry_at is not None:
            report.retry_at[row.pk] = retry_at
    return report


def _attempt(model, pk: int, attempt: int, outgoing: Outgoing, clock) -> tuple[str, datetime | None]:
    """Send one claimed row and record the outcome (from `sending` only)."""
    claimed = model.objects.filter(pk=pk, delivery=Delivery.SENDING)
    try:
        message = telegram.send_message(outgoing.chat_id, outgoing.text, reply_markup=outgoing.reply_markup)
    except TransientExternalError as error:
        if attempt >= settings.TELEGRAM_SEND_MAX_ATTEMPTS:
            claimed.update(delivery=Delivery.FAILED, last_error=_truncate(f"gave up after {attempt} attempts: {error}"))
            metrics.notification_failed("retries_exhausted")
            return Delivery.FAILED, None
        retry_at = clock() + timedelta(seconds=retry_delay(attempt, error))
        claimed.update(delivery=Delivery.PENDING, next_attempt_at=retry_at, last_error=_truncate(_describe(error)))
        return Delivery.PENDING, retry_at
    except telegram.BotBlockedError as error:
        if outgoing.partner_id is None:
            logger.error("Telegram refused the staff chat (bot removed from it?): %s", error)
            claimed.update(delivery=Delivery.FAILED, last_error=_truncate(_describe(error)))
            metrics.notification_failed("staff_chat_refused")
            return Delivery.FAILED, None
        from partners.services import partner_telegram_block

        claimed.update(delivery=Delivery.BLOCKED, last_error=_truncate(_describe(error)))
        partner_telegram_block(partner_id=outgoing.partner_id, description=error.description)
        metrics.notification_failed("bot_blocked")
        return Delivery.BLOCKED, None
    except ExternalServiceError as error:
        claimed.update(delivery=Delivery.FAILED, last_error=_truncate(_describe(error)))
        metrics.notification_failed("rejected")  # a 400: Telegram said why, retrying cannot help
        return Delivery.FAILED, None
    except Exception as error:  # a fault of ours: recorded, never left `sending`, never retried
        logger.exception("Telegram delivery of %s %s failed unexpectedly", model.__name__, pk)
        claimed.update(delivery=Delivery.FAILED, last_error=_truncate(f"internal error: {type(error).__name__}"))
        metrics.notification_failed("internal")
        return Delivery.FAILED, None
    message_id = message.get("message_id")
    claimed.update(
        delivery=Delivery.SENT,
        sent_at=clock(),
        next_attempt_at=None,
        last_error="",
        telegram_message_id=message_id if isinstance(message_id, int) and not isinstance(message_id, bool) else None,
    )
    metrics.notification_sent()
    return Delivery.SENT, None


def _describe(error: ExternalServiceError) -> str:
    code = f"{error.status_code}: " if error.status_code else ""
    return f"{code}{error}"


# --- the sweeper --------------------------------------------------------------------------------


@dataclass
class SweepResult:
    interrupted: int = 0
    expired: int = 0
    due_notifications: list[int] = field(default_factory=list)
    due_staff_messages: list[int] = field(default_factory=list)


def deliveries_sweep(*, now: datetime | None = None, limit: int = 5000) -> SweepResult:
    """Close rows stuck `sending` (their worker died: `failed`, never sent again); with sending
    on, expire rows that could not be sent within TELEGRAM_SEND_MAX_AGE_HOURS and return the pending rows whose
    attempt is overdue by more than a minute (their queued task was lost: broker down at commit,
    worker lost), for the caller to queue again. Rows still on schedule are left to their task."""
    from partners.notifications import Kind

    now = now or timezone.now()
    result = SweepResult()
    stale = now - timedelta(minutes=settings.TELEGRAM_STALE_SENDING_MINUTES)
    oldest = now - timedelta(hours=settings.TELEGRAM_SEND_MAX_AGE_HOURS)
    overdue = now - timedelta(seconds=60)
    for model in (Notification, StaffMessage):
        result.interrupted += model.objects.filter(delivery=Delivery.SENDING, last_attempt_at__lt=stale).update(
            delivery=Delivery.FAILED,
            last_error="interrupted while sending: outcome unknown, not sent again (at most once)",
        )
        if not settings.TELEGRAM_SEND_ENABLED:
            continue  # rows wait, as they are, until sending is switched on
        pending = model.objects.filter(delivery=Delivery.PENDING)
        if model is Notification:
            pending = pending.exclude(kind=Kind.REFERRAL_DEEP)
        result.expired += pending.filter(created_at__lt=oldest).update(
            delivery=Delivery.SKIPPED, last_error=f"not sent within {settings.TELEGRAM_SEND_MAX_AGE_HOURS} h"
        )
        due = list(
            pending.filter(created_at__lt=overdue)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=overdue))
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        if model is Notification:
            result.due_notifications = due
        else:
            result.due_staff_messages = due
    return result
