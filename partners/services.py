"""Every state change of a partner: joining the tree, profile updates, staff moves and status."""

import logging
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record, audit_record_many
from p2phub.errors import ConflictError, DomainError
from partners.models import Notification, Partner, PendingAttribution
from partners.signals import partner_joined

logger = logging.getLogger(__name__)

REFERRAL_CODE_PREFIX = "P2P-"
_CODE_ATTEMPTS = 8
_ROOTS_LOCK_KEY = 0x50325048_0000001  # serializes root creation on PostgreSQL


class ReferralCycleError(DomainError):
    code = "referral_cycle"


@dataclass(frozen=True)
class SignupContext:
    """What is known about the request a member joined through (for fraud scoring)."""

    ip: str | None = None
    user_agent: str = ""
    device_fingerprint: str = ""
    channel: str = "mini_app"  # mini_app | web | bot | seed | staff
    client_started_at: float | None = None  # unix time the client says the flow began


@dataclass(frozen=True)
class JoinResult:
    partner: Partner
    created: bool
    referrer: Partner | None
    unknown_referral_code: bool = False


def normalize_referral_code(code: str | None) -> str:
    return (code or "").strip().upper()[:12]


def generate_referral_code() -> str:
    return f"{REFERRAL_CODE_PREFIX}{secrets.token_hex(4).upper()}"


def partner_find_by_code(code: str | None) -> Partner | None:
    normalized = normalize_referral_code(code)
    if not normalized:
        return None
    return Partner.objects.filter(referral_code=normalized).first()


def _insert_node(referrer: Partner | None, candidate: Partner) -> Partner:
    if referrer is not None:
        return Partner.objects.add_child(referrer, instance=candidate)
    if connection.vendor == "postgresql":
        # add_root() reads the last root without a lock; concurrent roots would collide.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ROOTS_LOCK_KEY])
    return Partner.objects.add_root(instance=candidate)


def partner_join(
    *,
    referral_code: str | None = None,
    referrer: Partner | None = None,
    telegram_id: int | None = None,
    user=None,
    username: str = "",
    first_name: str = "",
    last_name: str = "",
    language: str = Partner.Language.EN,
    photo_url: str = "",
    signup: SignupContext | None = None,
) -> JoinResult:
    """Create a member under the referrer named by `referral_code` (or given directly).

    An unknown code makes a root and says so. An existing Telegram identity is returned as it
    is: the referrer is fixed at creation. Referral awards and other join effects run in the same
    transaction through `partner_joined` receivers; the join's audit rows are appended last.
    """
    signup = signup or SignupContext()
    normalized_code = normalize_referral_code(referral_code)
    if telegram_id is not None:
        existing = Partner.objects.filter(telegram_id=telegram_id).first()
        if existing:
            return JoinResult(partner=existing, created=False, referrer=None)
    if referrer is None and normalized_code:
        referrer = partner_find_by_code(normalized_code)
    unknown_code = bool(normalized_code) and referrer is None
    language = language if language in Partner.Language.values else Partner.Language.EN

    for attempt in range(_CODE_ATTEMPTS):
        candidate = Partner(
            telegram_id=telegram_id,
            user=user,
            username=username[:64],
            first_name=first_name[:128],
            last_name=last_name[:128],
            language=language,
            photo_url=photo_url[:512],
            referral_code=generate_referral_code(),
            referrer=referrer,
            joined_at=timezone.now(),
        )
        try:
            with transaction.atomic():
                partner = _insert_node(referrer, candidate)
                entries = [
                    AuditEntry(
                        EventType.PARTNER_JOINED,
                        partner_id=partner.pk,
                        related_partner_id=referrer.pk if referrer else None,
                        metadata={"channel": signup.channel, "depth": partner.depth},
                    )
                ]
                if unknown_code:
                    entries.append(
                        AuditEntry(
                            EventType.REFERRAL_ATTRIBUTION_UNKNOWN_CODE,
                            partner_id=partner.pk,
                            metadata={"code": normalized_code},
                        )
                    )
                for _receiver, receiver_entries in partner_joined.send(
                    sender=Partner, partner=partner, referrer=referrer, signup=signup
                ):
                    entries.extend(receiver_entries or [])
                audit_record_many(entries)
            return JoinResult(partner=partner, created=True, referrer=referrer, unknown_referral_code=unknown_code)
        except IntegrityError:
            # Either the same Telegram user joined concurrently (their row is committed now and
            # wins), or the random code / a root path collided (try again with fresh values).
            if telegram_id is not None:
                existing = Partner.objects.filter(telegram_id=telegram_id).first()
                if existing:
                    return JoinResult(partner=existing, created=False, referrer=None)
            logger.info("partner_join retry %s after a unique collision", attempt + 1)
    raise ConflictError("Could not allocate a unique referral code; please retry.", code="join_conflict")


def partner_join_telegram(*, telegram_user, start_param: str = "", signup: SignupContext | None = None) -> JoinResult:
    """First contact from the Mini App: start_param, else the bot's pending /start attribution."""
    code = start_param
    if not code:
        code = (
            PendingAttribution.objects.filter(telegram_id=telegram_user.id).values_list("referral_code", flat=True).first()
            or ""
        )
    return partner_join(
        referral_code=code,
        telegram_id=telegram_user.id,
        username=telegram_user.username,
        first_name=telegram_user.first_name,
        last_name=telegram_user.last_name,
        language="ru" if telegram_user.language_code.startswith("ru") else "en",
        photo_url=telegram_user.photo_url,
        signup=signup,
    )


def pending_attribution_record(*, telegram_id: int, referral_code: str) -> None:
    """The bot saw `/start <code>` from a Telegram user who may not have opened the Mini App yet."""
    code = normalize_referral_code(referral_code)
    if not code or Partner.objects.filter(telegram_id=telegram_id).exists():
        return
    PendingAttribution.objects.update_or_create(telegram_id=telegram_id, defaults={"referral_code": code})


def partner_sync_telegram_profile(*, partner: Partner, telegram_user) -> None:
    """Keep names and photo in step with Telegram; writes only when something changed."""
    changes = {
        field: value
        for field, value in (
            ("username", telegram_user.username),
            ("first_name", telegram_user.first_name),
            ("last_name", telegram_user.last_name),
            ("photo_url", telegram_user.photo_url),
        )
        if value and getattr(partner, field) != value
    }
    if changes:
        Partner.objects.filter(pk=partner.pk).update(**changes, updated_at=timezone.now())
        for field, value in changes.items():
            setattr(partner, field, value)


def partner_update_preferences(*, partner: Partner, **changes) -> Partner:
    allowed = {"language", "notifications_enabled", "leaderboard_visibility"}
    changes = {k: v for k, v in changes.items() if k in allowed and getattr(partner, k) != v}
    if not changes:
        return partner
    with transaction.atomic():
        for field, value in changes.items():
            setattr(partner, field, value)
        partner.save(update_fields=[*changes, "updated_at"])
        audit_record(EventType.PARTNER_UPDATED, partner_id=partner.pk, metadata={"changes": changes})
    return partner


def partner_move(*, partner: Partner, new_referrer: Partner, actor) -> Partner:
    """Staff move a member (with their subtree) under another sponsor. Past XP and commissions
    stay as they were paid; only future awards follow the new tree."""
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        new_referrer = Partner.objects.get(pk=new_referrer.pk)
        if new_referrer.pk == partner.pk or new_referrer.path.startswith(partner.path):
            raise ReferralCycleError("A member cannot be moved under themself or their own downline.")
        old_referrer_id = partner.referrer_id
        if old_referrer_id == new_referrer.pk:
            return partner
        Partner.objects.move(partner, new_referrer, "last-child")
        Partner.objects.filter(pk=partner.pk).update(referrer=new_referrer)
        audit_record(
            EventType.PARTNER_MOVED,
            partner_id=partner.pk,
            related_partner_id=new_referrer.pk,
            actor=actor,
            metadata={"from_referrer_id": old_referrer_id, "to_referrer_id": new_referrer.pk},
        )
    partner.refresh_from_db()
    return partner


_STATUS_EVENTS = {
    Partner.Status.ACTIVE: EventType.PARTNER_REACTIVATED,
    Partner.Status.DEACTIVATED: EventType.PARTNER_DEACTIVATED,
    Partner.Status.BANNED: EventType.PARTNER_BANNED,
}


def partner_set_status(*, partner: Partner, status: str, actor, reason: str = "") -> Partner:
    if status not in _STATUS_EVENTS:
        raise DomainError(f"Unknown status {status!r}.", code="invalid_status")
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        if partner.status == status:
            return partner
        previous = partner.status
        partner.status = status
        partner.save(update_fields=["status", "updated_at"])
        audit_record(
            _STATUS_EVENTS[status],
            partner_id=partner.pk,
            actor=actor,
            metadata={"from": previous, "to": status, "reason": reason[:500]},
        )
    return partner


def notification_create(
    *, partner_id: int, kind: str, title: str, body: str = "", data: dict | None = None, dedupe_key: str | None = None
) -> Notification | None:
    """Store an in-app notification (every app calls this inside its own transaction).
    With `dedupe_key`, a second call with the same key stores nothing and returns None."""
    notification = Notification(
        partner_id=partner_id, kind=kind, title=title[:200], body=body, data=data or {}, dedupe_key=dedupe_key
    )
    try:
        with transaction.atomic():
            notification.save()
    except IntegrityError:
        if dedupe_key is None:
            raise
        return None
    return notification
