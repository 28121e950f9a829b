"""PRO periods: activation/extension on payment, shortening on refund, warnings and expiry.

`partner.is_pro` / `partner.pro_expires_at` are written only here, always under the partner's
row lock, so a completion, a refund and the expiry job can never interleave on one member.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many
from partners.eligibility import partner_eligibility_changed
from partners.models import Notification, Partner
from partners.notifications import Kind, NotificationDraft, notifications_create
from payments.models import Payment, Subscription
from payments.services.common import send_on_commit
from payments.signals import pro_expired

EXPIRY_BATCH = 500


def subscription_activate(*, partner: Partner, payment: Payment, now: datetime) -> tuple[Subscription, AuditEntry]:
    """Add one paid period. `partner` must be locked by the caller. An active subscription is
    extended from its current expiry; otherwise the period starts now."""
    active = partner.pro_active_at(now)
    starts_at = partner.pro_expires_at if active else now
    ends_at = starts_at + timedelta(days=payment.duration_days)
    subscription = Subscription.objects.create(
        partner=partner, payment=payment, plan=payment.plan, starts_at=starts_at, ends_at=ends_at, created_at=now
    )
    previous = partner.pro_expires_at
    partner.is_pro, partner.pro_expires_at = True, ends_at
    Partner.objects.filter(pk=partner.pk).update(is_pro=True, pro_expires_at=ends_at, updated_at=now)
    partner_eligibility_changed(partner.pk)  # the boards show PRO
    entry = AuditEntry(
        EventType.PRO_ACTIVATED,
        partner_id=partner.pk,
        metadata={
            "payment_id": payment.pk,
            "subscription_id": subscription.pk,
            "plan": payment.plan,
            "extended": active,
            "previous_expires_at": previous.isoformat() if previous else None,
            "starts_at": starts_at.isoformat(),
            "expires_at": ends_at.isoformat(),
        },
    )
    return subscription, entry


def subscription_cancel_for_refund(*, partner: Partner, payment: Payment, now: datetime, actor) -> list[AuditEntry]:
    """Remove the unused part of the refunded payment's period. `partner` must be locked.

    Used days stay used; a period that has not started yet is removed whole, and periods
    bought after it move forward so there is no gap. The member's expiry moves back by the
    same amount; PRO ends at once when nothing is left."""
    subscription = Subscription.objects.filter(payment=payment, status=Subscription.Status.ACTIVE).first()
    if subscription is None:
        return []
    unused = max(subscription.ends_at - max(now, subscription.starts_at), timedelta(0))
    original_end = subscription.ends_at
    subscription.status = Subscription.Status.REFUNDED
    subscription.ends_at = max(subscription.starts_at, min(original_end, now))
    subscription.save(update_fields=["status", "ends_at"])
    if not unused or not partner.pro_active_at(now):
        return []
    Subscription.objects.filter(
        partner=partner, status=Subscription.Status.ACTIVE, starts_at__gte=original_end
    ).update(starts_at=F("starts_at") - unused, ends_at=F("ends_at") - unused)
    previous = partner.pro_expires_at
    new_expiry = previous - unused
    still_pro = new_expiry > now
    partner.is_pro, partner.pro_expires_at = still_pro, new_expiry if still_pro else now
    partner_eligibility_changed(partner.pk)  # the boards show PRO
    Partner.objects.filter(pk=partner.pk).update(
        is_pro=partner.is_pro, pro_expires_at=partner.pro_expires_at, updated_at=now
    )
    return [
        AuditEntry(
            EventType.PRO_SHORTENED,
            partner_id=partner.pk,
            actor=actor,
            metadata={
                "payment_id": payment.pk,
                "subscription_id": subscription.pk,
                "removed_seconds": int(unused.total_seconds()),
                "previous_expires_at": previous.isoformat(),
                "expires_at": partner.pro_expires_at.isoformat(),
                "ended": not still_pro,
            },
        )
    ]


@dataclass
class ExpiryResult:
    warned: int = 0
    expired: int = 0


def _warning_key(partner_id: int, expires_at: datetime, days: int) -> str:
    # Keyed on the expiry itself: a renewal moves it, so the renewed period warns again.
    return f"pro_expiring:{partner_id}:{expires_at:%Y%m%dT%H%M%S}:{days}d"


def subscription_send_warnings(*, now: datetime | None = None) -> int:
    """Warn members whose PRO ends within a warning window, once per window and period: a
    member inside the 1-day window gets the 1-day warning only (not a late 3-day one)."""
    now = now or timezone.now()
    windows = sorted(settings.PRO_EXPIRY_WARNING_DAYS)  # (1, 3)
    created = 0
    lower = now
    for days in windows:
        upper = now + timedelta(days=days)
        due = list(
            Partner.objects.filter(is_pro=True, pro_expires_at__gt=lower, pro_expires_at__lte=upper)
            .order_by()
            .values_list("pk", "pro_expires_at")
        )
        lower = upper
        keys = {pk: _warning_key(pk, expires_at, days) for pk, expires_at in due}
        already = set(Notification.objects.filter(dedupe_key__in=keys.values()).values_list("dedupe_key", flat=True))
        fresh = [
            NotificationDraft(
                partner_id=pk,
                kind=Kind.PRO_EXPIRING,
                params={"days": days, "until": f"{expires_at:%Y-%m-%d %H:%M}"},
                data={"days": days, "expires_at": expires_at.isoformat()},
                dedupe_key=keys[pk],
                created_at=now,
            )
            for pk, expires_at in due
            if keys[pk] not in already
        ]
        created += len(notifications_create(fresh))
    return created


def subscription_expire_due(*, now: datetime | None = None) -> int:
    """End PRO for members whose expiry has passed (x5 stops), in batches, audited."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            due = Partner.objects.filter(is_pro=True, pro_expires_at__lte=now).order_by("pk")
            if connection.vendor == "postgresql":
                # A member being renewed right now is skipped; the next run sees their new expiry.
                due = due.select_for_update(skip_locked=True, of=("self",))
            rows = list(due.values_list("pk", "pro_expires_at")[:EXPIRY_BATCH])
            if not rows:
                return total
            ids = [pk for pk, _ in rows]
            Partner.objects.filter(pk__in=ids).update(is_pro=False, updated_at=now)
            notifications_create(
                [
                    NotificationDraft(
                        partner_id=pk,
                        kind=Kind.PRO_EXPIRED,
                        data={"expired_at": expires_at.isoformat()},
                        dedupe_key=f"pro_expired:{pk}:{expires_at:%Y%m%dT%H%M%S}",
                        created_at=now,
                    )
                    for pk, expires_at in rows
                ]
            )
            audit_record_many(
                [
                    AuditEntry(EventType.PRO_EXPIRED, partner_id=pk, metadata={"expired_at": expires_at.isoformat()})
                    for pk, expires_at in rows
                ]
            )
            send_on_commit(pro_expired, partner_ids=ids)
        total += len(rows)
        if len(rows) < EXPIRY_BATCH:
            return total


def subscriptions_run_expiry(*, now: datetime | None = None) -> ExpiryResult:
    now = now or timezone.now()
    return ExpiryResult(warned=subscription_send_warnings(now=now), expired=subscription_expire_due(now=now))
