"""The one home of member notifications (SPEC §9): every app stores them through here.

`notification_create` / `notifications_create` run inside the caller's transaction: the row is
written (title and body rendered in the member's language, English or Russian, from the
catalogue below), and delivery is handed to Celery after commit, so a rolled-back award or
payment never notifies anyone. Kinds are `Notification.Kind` (a TextChoices enum); a dedupe key
makes "notify once" a database guarantee.

Delivery to Telegram (partners.delivery) runs in the Celery task queued after commit: the stored
title and body in the member's language, with the kind's buttons, paced to Telegram's limits,
each row's state tracked (pending, sent, failed, blocked, skipped; L3-L9 activity `digested` into
the hourly digest). The in-app copy is what the dashboard and `GET /api/v1/me/notifications/` show.
"""

import logging
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from p2phub.db import insert_returning
from partners.member_cache import member_changed
from partners.models import Delivery, Notification, Partner, StaffMessage

logger = logging.getLogger(__name__)

NotificationKind = Notification.Kind
Kind = Notification.Kind

# kind -> (title, body). Placeholders are filled from the caller's `params`; a `note` param (staff
# text) is appended to the body as it is, untranslated, and a `details` param (lines the caller
# rendered in the member's language, e.g. the digest's per-level list) on lines of its own.
_TEXTS: dict[str, tuple[Any, Any]] = {
    Kind.WELCOME: (
        _("Welcome to P2PHub, %(name)s!"),
        _(
            "Your own referral links — everyone who joins through them joins your team:\n"
            "Bot: %(bot_link)s\nMini App: %(app_link)s\nWeb: %(web_link)s"
        ),
    ),
    Kind.REFERRAL_L1: (
        _("New referral: %(name)s"),
        _("%(name)s joined with your link. You earned %(xp)s XP."),
    ),
    Kind.REFERRAL_L2: (
        _("New level 2 referral: %(name)s"),
        _("%(name)s joined your network at level 2. You earned %(xp)s XP."),
    ),
    Kind.REFERRAL_DEEP: (
        _("New member at level %(level)s"),
        _("%(name)s joined your network at level %(level)s. You earned %(xp)s XP."),
    ),
    Kind.REFERRAL_DIGEST: (
        ngettext_lazy(
            "%(count)s new member in your network", "%(count)s new members in your network", "count"
        ),
        _("Levels 3-9, since the last digest. You earned %(xp)s XP:"),
    ),
    Kind.LEVEL_UP: (
        _("Level %(level)s reached"),
        _("You reached level %(level)s (%(rank)s)."),
    ),
    Kind.BADGE_EARNED: (
        _("Badge earned: %(badge)s"),
        _("You kept a %(streak)s-day check-in streak."),
    ),
    Kind.COMMISSION: (
        _("Commission received: %(amount)s USDT"),
        _("Level %(level)s commission from %(buyer)s's PRO purchase. Available for withdrawal from %(available_on)s."),
    ),
    Kind.COMMISSION_REVERSED: (
        _("Commission reversed: %(amount)s USDT"),
        _("The level %(level)s commission from a refunded PRO purchase was reversed."),
    ),
    Kind.PRO_ACTIVATED: (
        _("PRO activated"),
        _("Thank you! PRO is active until %(until)s UTC."),
    ),
    Kind.PAYMENT_APPROVED: (
        _("Payment approved"),
        _("Your PRO payment was confirmed."),
    ),
    Kind.PAYMENT_REJECTED: (
        _("Payment not accepted"),
        _("We could not confirm your PRO payment."),
    ),
    Kind.PAYMENT_UNDER_REVIEW: (
        _("Payment under review"),
        _("Your USDT payment is waiting for a staff review."),
    ),
    Kind.TASK_REWARD: (
        _("Task completed: %(task)s"),
        _("You earned %(xp)s XP."),
    ),
    Kind.PRO_EXPIRING: (
        ngettext_lazy("PRO ends in %(days)s day", "PRO ends in %(days)s days", "days"),
        _("Your PRO subscription ends on %(until)s UTC. Renew to keep x5 XP."),
    ),
    Kind.PRO_EXPIRED: (
        _("PRO has ended"),
        _("Your PRO subscription has ended. Renew any time to get x5 XP again."),
    ),
    Kind.STREAK_AT_RISK: (
        _("Your streak is at risk"),
        _("Check in today to keep your %(streak)s-day streak."),
    ),
    Kind.PAYOUT_APPROVED: (
        _("Payout sent: %(amount)s USDT"),
        _("Your payout to %(address)s (%(network)s) was sent. Transaction: %(tx_hash)s"),
    ),
    Kind.PAYOUT_REJECTED: (
        _("Payout rejected"),
        _("Your payout of %(amount)s USDT was rejected and returned to your balance."),
    ),
}


@dataclass
class NotificationDraft:
    """One notification to store. `params` fill the texts; `data` is kept as structured data for
    clients (ids, raw amounts). `language` defaults to the member's."""

    partner_id: int
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None
    language: str | None = None
    created_at: datetime | None = None


def _supported_language(language: str | None) -> str:
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _render(kind: str, params: dict[str, Any]) -> tuple[str, str]:
    """(title, body) of `kind` in the active language."""
    if kind not in _TEXTS:
        raise ValueError(f"Unknown notification kind {kind!r}; add it to Notification.Kind and the catalogue.")
    title, body = _TEXTS[kind]
    rendered_title = str(title % params)  # `%` also picks the plural form (ngettext_lazy)
    rendered_body = str(body % params)
    note = str(params.get("note") or "").strip()
    if note:
        rendered_body = f"{rendered_body} {note}"
    details = str(params.get("details") or "").strip()
    if details:
        rendered_body = f"{rendered_body}\n{details}"
    return rendered_title[:200], rendered_body


def notification_text(kind: str, params: dict[str, Any] | None = None, *, language: str = "en") -> tuple[str, str]:
    """(title, body) of `kind` in `language` (en or ru; anything else falls back to English)."""
    with translation.override(_supported_language(language)):
        return _render(kind, params or {})


def notification_create(
    *,
    kind: str,
    partner: Partner | None = None,
    partner_id: int | None = None,
    params: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    created_at: datetime | None = None,
) -> Notification | None:
    """Store one notification in the caller's transaction; delivery is queued after commit.
    With `dedupe_key`, a second call with the same key stores nothing and returns None."""
    if partner is None and partner_id is None:
        raise ValueError("notification_create needs partner or partner_id.")
    draft = NotificationDraft(
        partner_id=partner.pk if partner is not None else partner_id,
        kind=kind,
        params=params or {},
        data=data or {},
        dedupe_key=dedupe_key,
        language=partner.language if partner is not None else None,
        created_at=created_at,
    )
    created = notifications_create([draft])
    return created[0] if created else None


# The name the level-up, streak and payment code call; kept short on purpose.
notify = notification_create


_storing_history: ContextVar[bool] = ContextVar("notifications_storing_history", default=False)


@contextmanager
def notifications_as_history():
    """Inside, notifications (and staff-chat messages) are stored as history: kept for the
    in-app list and admin, marked `skipped`, never delivered. `seed_demo` plays 30 past days;
    nobody is messaged about them."""
    token = _storing_history.set(True)
    try:
        yield
    finally:
        _storing_history.reset(token)


def notifications_create(drafts: list[NotificationDraft]) -> list[Notification]:
    """Store many notifications with one INSERT (the signup, commission and daily-job paths; a
    language lookup first only for drafts that do not carry their member's language), in the
    caller's transaction. Drafts whose dedupe key is already stored are skipped by the insert
    itself (ON CONFLICT DO NOTHING RETURNING: no savepoint, no second read). Returns the rows
    stored; their delivery is queued after commit."""
    if not drafts:
        return []
    missing = {d.partner_id for d in drafts if d.language is None}
    languages = dict(Partner.objects.filter(pk__in=missing).values_list("pk", "language")) if missing else {}
    now = timezone.now()
    history = _storing_history.get()
    delivery = Notification.Delivery.SKIPPED if history else Notification.Delivery.PENDING
    # One language switch per language, not per row (a signup stores up to nine).
    by_language: dict[str, list[int]] = defaultdict(list)
    for index, draft in enumerate(drafts):
        by_language[_supported_language(draft.language or languages.get(draft.partner_id))].append(index)
    texts: dict[int, tuple[str, str]] = {}
    for language, indexes in by_language.items():
        with translation.override(language):
            for index in indexes:
                texts[index] = _render(drafts[index].kind, drafts[index].params)
    rows = []
    for index, draft in enumerate(drafts):
        title, body = texts[index]
        rows.append(
            Notification(
                partner_id=draft.partner_id,
                kind=draft.kind,
                title=title,
                body=body,
                data=draft.data,
                dedupe_key=draft.dedupe_key,
                delivery=delivery,
                created_at=draft.created_at or now,
            )
        )
    created = _insert(rows)
    ids = [row.pk for row in created]
    member_changed(row.partner_id for row in created)
    if ids and not history:
        transaction.on_commit(partial(_enqueue_delivery, ids), robust=True)
    return created


def _insert(rows: list[Notification]) -> list[Notification]:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING: the rows whose dedupe key is stored
    already (or repeated in this batch) are skipped, the others come back with their ids
    (matched by key; rows without a key, which never conflict, by member and kind)."""
    returned = insert_returning(
        Notification, rows, ignore_conflicts=True, returning=("id", "dedupe_key", "partner_id", "kind")
    )
    keyed = {key: pk for pk, key, _partner, _kind in returned if key is not None}
    unkeyed: dict[tuple, list[int]] = defaultdict(list)
    for pk, key, partner_id, kind in sorted(returned):
        if key is None:
            unkeyed[(partner_id, kind)].append(pk)
    created = []
    for row in rows:
        if row.dedupe_key is None:
            row.pk = unkeyed[(row.partner_id, row.kind)].pop(0)
        elif row.dedupe_key in keyed:
            row.pk = keyed.pop(row.dedupe_key)
        else:
            continue
        row._state.adding = False
        created.append(row)
    return created


def _enqueue_delivery(ids: list[int]) -> None:
    """Hand freshly committed rows to Celery in batches, so that several workers share a burst.
    If the broker is down the rows stay `pending` and the sweeper (partners.tasks) sends them."""
    from partners.tasks import notification_deliver, notifications_deliver

    if len(ids) == 1:
        notification_deliver.delay(ids[0])
        return
    size = max(1, settings.TELEGRAM_DELIVERY_BATCH_SIZE)
    for start in range(0, len(ids), size):
        notifications_deliver.delay(ids[start : start + size])


def notification_dispatch(notification_id: int) -> str | None:
    """Deliver one stored notification now; returns its delivery state (None when the row is
    gone)."""
    return notifications_dispatch([notification_id]).get(notification_id)


def notifications_dispatch(notification_ids: list[int]) -> dict[int, str]:
    """Deliver stored notifications (partners.delivery): sent to Telegram in the member's
    language, paced; members who turned messages off are `skipped`; L3-L9 activity waits for the
    hourly digest; with sending switched off (TELEGRAM_SEND_ENABLED) a row stays `pending`.
    Returns {id: delivery state} for the rows that exist."""
    from partners.delivery import notifications_send

    return notifications_send(notification_ids).states


# --- The Telegram form of a notification --------------------------------------------------------

# kind -> the buttons under its Telegram message: "app" opens the Mini App (a web_app button),
# "share" shares the member's bot link. Labels are translated in the member's language.
_BUTTONS: dict[str, tuple[tuple[str, Any], ...]] = {
    Kind.WELCOME: (("app", _("Open P2PHub")), ("share", _("Share my link"))),
    Kind.REFERRAL_L1: (("app", _("Open my team")), ("share", _("Invite more friends"))),
    Kind.REFERRAL_L2: (("app", _("Open my team")),),
    Kind.REFERRAL_DIGEST: (("app", _("Open my team")),),
    Kind.LEVEL_UP: (("app", _("Open P2PHub")),),
    Kind.BADGE_EARNED: (("app", _("Open P2PHub")),),
    Kind.COMMISSION: (("app", _("Open my earnings")),),
    Kind.COMMISSION_REVERSED: (("app", _("Open my earnings")),),
    Kind.PRO_ACTIVATED: (("app", _("Open P2PHub")),),
    Kind.PAYMENT_APPROVED: (("app", _("Open P2PHub")),),
    Kind.PAYMENT_REJECTED: (("app", _("Open P2PHub")),),
    Kind.PAYMENT_UNDER_REVIEW: (("app", _("Open P2PHub")),),
    Kind.TASK_REWARD: (("app", _("More tasks")),),
    Kind.PRO_EXPIRING: (("app", _("Renew PRO")),),
    Kind.PRO_EXPIRED: (("app", _("Renew PRO")),),
    Kind.STREAK_AT_RISK: (("app", _("Check in now")),),
    Kind.PAYOUT_APPROVED: (("app", _("Open my earnings")),),
    Kind.PAYOUT_REJECTED: (("app", _("Open my earnings")),),
}


def mini_app_button(label: str) -> dict:
    """A button that opens the Mini App inside Telegram: a `web_app` button on the Mini App's
    HTTPS page, or (Telegram refuses web_app buttons on http URLs, e.g. locally) its t.me link."""
    from partners.links import mini_app_url

    url = settings.TELEGRAM_MINI_APP_URL
    if url.startswith("https://"):
        return {"text": label, "web_app": {"url": url}}
    return {"text": label, "url": mini_app_url()}


def share_button(label: str, *, referral_code: str, language: str) -> dict:
    from partners.links import share_url

    return {"text": label, "url": share_url(referral_code, language=language)}


def notification_telegram_message(notification: Notification, *, partner: Partner) -> tuple[str, dict | None]:
    """(HTML text, reply_markup) of a stored notification for sendMessage: the stored title in
    bold over the body (both escaped: names come from users), and the kind's buttons."""
    from django.utils.html import escape

    text = f"<b>{escape(notification.title)}</b>\n{escape(notification.body)}".strip()
    language = partner.language if partner.language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    rows = []
    with translation.override(language):
        for action, label in _BUTTONS.get(notification.kind, ()):
            if action == "app":
                rows.append([mini_app_button(str(label))])
            elif action == "share" and partner.referral_code:
                rows.append([share_button(str(label), referral_code=partner.referral_code, language=language)])
    return text[:4096], ({"inline_keyboard": rows} if rows else None)


# --- The staff chat ---------------------------------------------------------------------------

_STAFF_TEXTS: dict[str, Any] = {
    StaffMessage.Kind.PAYMENT_UNDER_REVIEW: _(
        "<b>Payment #%(payment_id)s is waiting for review</b>\n"
        "Member: %(member)s (%(code)s)\n"
        "Method: %(method)s · %(amount)s %(currency)s\n"
        "Reason: %(reason)s\n"
        "Transaction: %(tx_hash)s"
    ),
}


def staff_message_create(
    *, kind: str, params: dict[str, Any], data: dict[str, Any] | None = None, dedupe_key: str | None = None,
    admin_url: str = "",
) -> StaffMessage | None:
    """Store a message for the staff chat (TELEGRAM_STAFF_CHAT_ID, in TELEGRAM_STAFF_LANGUAGE) in
    the caller's transaction and queue its delivery after commit. Params are HTML-escaped; a
    repeated dedupe key stores nothing and returns None."""
    from django.utils.html import escape

    if kind not in _STAFF_TEXTS:
        raise ValueError(f"Unknown staff message kind {kind!r}.")
    language = settings.TELEGRAM_STAFF_LANGUAGE if settings.TELEGRAM_STAFF_LANGUAGE in dict(settings.LANGUAGES) else "en"
    with translation.override(language):
        text = str(_STAFF_TEXTS[kind]) % {key: escape(str(value)) for key, value in params.items()}
        label = str(_("Open in admin"))
    data = dict(data or {})
    if admin_url.startswith("https://"):
        data["reply_markup"] = {"inline_keyboard": [[{"text": label, "url": admin_url}]]}
    elif admin_url:
        text = f"{text}\n{escape(admin_url)}"
    if dedupe_key and StaffMessage.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    history = _storing_history.get()  # the demo's past days: kept, never posted to the chat
    try:
        with transaction.atomic():
            message = StaffMessage.objects.create(
                kind=kind, text=text, data=data, dedupe_key=dedupe_key, next_attempt_at=None,
                delivery=Delivery.SKIPPED if history else Delivery.PENDING,
            )
    except IntegrityError:
        return None  # the same key stored concurrently
    if not history:
        transaction.on_commit(partial(_enqueue_staff_delivery, message.pk), robust=True)
    return message


def _enqueue_staff_delivery(message_id: int) -> None:
    from partners.tasks import staff_messages_deliver

    staff_messages_deliver.delay([message_id])


def notifications_mark_read(*, partner: Partner, now: datetime | None = None) -> int:
    """Mark every unread notification of the member read; returns how many changed."""
    changed = Notification.objects.filter(partner_id=partner.pk, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )
    if changed:
        member_changed([partner.pk])
    return changed
