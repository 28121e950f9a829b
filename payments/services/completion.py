"""Completing, reviewing and refunding payments: the one place PRO is sold and commissions move.

`payment_complete` is the only way a payment becomes `completed`. It locks the payment row,
checks the state, and in ONE transaction marks it completed, activates/extends PRO, writes the
commission ledger rows for ancestors L1..L9, stores in-app notifications and appends the audit
rows last. Its query count does not depend on the buyer's depth (one `path IN` ancestor query,
bulk inserts). Anything external runs after commit.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many
from p2phub import metrics
from p2phub.errors import ConflictError, DomainError
from partners.models import Partner
from partners.notifications import Kind, NotificationDraft, notifications_create
from partners.selectors import partner_ancestors
from payments.models import Payment, USDTEntry
from payments.services.common import commission_amount, display_name, send_on_commit
from payments.services.ledger import usdt_entries_append
from payments.services.subscriptions import subscription_activate, subscription_cancel_for_refund
from payments.signals import payment_completed, payment_refunded

COMPLETABLE = (Payment.Status.PENDING, Payment.Status.EXPIRED, Payment.Status.UNDER_REVIEW)


def commission_plan(price: Decimal) -> list[tuple[int, Decimal, Decimal]]:
    """[(level, rate, amount)] for a sale at `price`; zero amounts are left out."""
    plan = []
    for level, rate in enumerate(settings.COMMISSION_RATES, start=1):
        amount = commission_amount(price, rate)
        if amount > 0:
            plan.append((level, Decimal(rate), amount))
    return plan


def _lock_payment(payment_id: int) -> Payment:
    payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
    if payment is None:
        raise DomainError("Payment not found.", code="not_found", status_code=404)
    return payment


def _commission_entries(
    payment: Payment, buyer: Partner, now: datetime
) -> tuple[list[USDTEntry], list[dict]]:
    """The commission rows for ancestors L1..L9, and the levels left unpaid.

    A banned or deactivated ancestor earns nothing (SPEC §3): their level's share stays with the
    platform. Levels are counted along the tree, so the next ancestor up still gets only their
    own level's share (no compression), the same rule as referral XP."""
    ancestors = partner_ancestors(buyer, levels=len(settings.COMMISSION_RATES))
    available_at = now + timedelta(days=settings.COMMISSION_HOLD_DAYS)
    by_level = {level: (rate, amount) for level, rate, amount in commission_plan(payment.price_usd)}
    entries = []
    withheld = []
    for level, recipient in enumerate(ancestors, start=1):
        if level not in by_level:
            continue
        if recipient.status != Partner.Status.ACTIVE:
            withheld.append(
                {
                    "level": level,
                    "partner_id": recipient.pk,
                    "status": recipient.status,
                    "amount": str(by_level[level][1]),
                }
            )
            continue
        rate, amount = by_level[level]
        entries.append(
            USDTEntry(
                partner=recipient,
                amount=amount,
                kind=USDTEntry.Kind.COMMISSION,
                level=level,
                related_partner_id=buyer.pk,
                payment=payment,
                rate=rate,
                base_amount=payment.price_usd,
                available_at=available_at,
                idempotency_key=f"commission:{payment.pk}:L{level}",
                metadata={"plan": payment.plan, "method": payment.method},
                created_at=now,
            )
        )
    return entries, withheld


def payment_complete(
    *,
    payment_id: int,
    tx_hash: str | None = None,
    received_nanotons: int | None = None,
    actor=None,
    source: str = "system",
) -> Payment:
    """Complete a payment exactly once. A payment that is already completed is returned as is
    (a repeated delivery of the same confirmation is not an error); other final states → 409."""
    with transaction.atomic():
        payment = _lock_payment(payment_id)
        if payment.status == Payment.Status.COMPLETED:
            return payment
        if payment.status not in COMPLETABLE:
            raise ConflictError(f"A {payment.status} payment cannot be completed.", code="invalid_state")
        now = timezone.now()
        buyer = Partner.objects.select_for_update().get(pk=payment.partner_id)
        previous = payment.status

        subscription, pro_audit = subscription_activate(partner=buyer, payment=payment, now=now)
        payment.status = Payment.Status.COMPLETED
        payment.completed_at = now
        if tx_hash:
            payment.tx_hash = tx_hash
        if received_nanotons is not None:
            payment.received_nanotons = received_nanotons
        if actor is not None:
            payment.decided_by = actor
        payment.save(
            update_fields=["status", "completed_at", "tx_hash", "received_nanotons", "decided_by", "updated_at"]
        )

        commission_rows, commission_withheld = _commission_entries(payment, buyer, now)
        entries = usdt_entries_append(commission_rows)
        metrics.payment_status_on_commit(Payment.Status.COMPLETED)
        metrics.commissions_distributed_on_commit([(entry.level, entry.amount) for entry in entries])
        buyer_name = display_name(buyer)
        notifications_create(
            [
                NotificationDraft(
                    partner_id=buyer.pk,
                    kind=Kind.PRO_ACTIVATED,
                    params={"until": f"{buyer.pro_expires_at:%Y-%m-%d %H:%M}"},
                    language=buyer.language,
                    data={"payment_id": payment.pk, "expires_at": buyer.pro_expires_at.isoformat()},
                    dedupe_key=f"pro_activated:{payment.pk}",
                    created_at=now,
                )
            ]
            + [
                NotificationDraft(
                    partner_id=entry.partner_id,
                    kind=Kind.COMMISSION,
                    params={
                        "amount": f"{entry.amount:.2f}",
                        "level": entry.level,
                        "buyer": buyer_name,
                        "available_on": f"{entry.available_at:%Y-%m-%d}",
                    },
                    data={
                        "amount": str(entry.amount),
                        "level": entry.level,
                        "buyer_id": buyer.pk,
                        "buyer_name": buyer_name,
                        "payment_id": payment.pk,
                        "available_at": entry.available_at.isoformat(),
                    },
                    dedupe_key=f"commission:{payment.pk}:L{entry.level}",
                    created_at=now,
                )
                for entry in entries
            ]
        )
        audit = [
            AuditEntry(
                EventType.PAYMENT_COMPLETED,
                partner_id=buyer.pk,
                amount=payment.price_usd,
                currency="USD",
                actor=actor,
                metadata={
                    "payment_id": payment.pk,
                    "method": payment.method,
                    "from": previous,
                    "tx_hash": payment.tx_hash,
                    "received_nanotons": payment.received_nanotons,
                    "source": source,
                    "commission_total": str(sum((e.amount for e in entries), Decimal(0))),
                    # Levels whose ancestor is banned or deactivated: the share stays with us.
                    "commission_withheld": commission_withheld,
                },
            ),
            pro_audit,
        ]
        audit.extend(
            AuditEntry(
                EventType.COMMISSION_PAID,
                partner_id=entry.partner_id,
                related_partner_id=buyer.pk,
                amount=entry.amount,
                currency="USDT",
                metadata={
                    "payment_id": payment.pk,
                    "level": entry.level,
                    "rate": str(entry.rate),
                    "base_amount": str(entry.base_amount),
                    "available_at": entry.available_at.isoformat(),
                    "usdt_entry_id": entry.pk,
                },
            )
            for entry in entries
        )
        audit_record_many(audit)
        send_on_commit(
            payment_completed,
            payment_id=payment.pk,
            partner_id=buyer.pk,
            commission_entry_ids=[e.pk for e in entries],
        )
    return payment


def payment_approve(*, payment_id: int, actor, note: str = "") -> Payment:
    """Staff confirm a payment under review (USDT hash checked on-chain, or a TON transfer
    that was late/underpaid and is accepted)."""
    with transaction.atomic():
        payment = _lock_payment(payment_id)
        if payment.status != Payment.Status.UNDER_REVIEW:
            raise ConflictError(f"Only payments under review can be approved; this one is {payment.status}.", code="invalid_state")
        if note:
            Payment.objects.filter(pk=payment.pk).update(decision_note=note[:500])
        # The member hears that staff accepted it (SPEC §9), beside PRO activated.
        notifications_create(
            [
                NotificationDraft(
                    partner_id=payment.partner_id,
                    kind=Kind.PAYMENT_APPROVED,
                    params={"note": note},
                    data={"payment_id": payment.pk},
                    dedupe_key=f"payment_approved:{payment.pk}",
                )
            ]
        )
        return payment_complete(payment_id=payment.pk, actor=actor, source="staff_review")


def payment_reject(*, payment_id: int, actor, note: str = "") -> Payment:
    with transaction.atomic():
        payment = _lock_payment(payment_id)
        if payment.status != Payment.Status.UNDER_REVIEW:
            raise ConflictError(f"Only payments under review can be rejected; this one is {payment.status}.", code="invalid_state")
        payment.status = Payment.Status.REJECTED
        payment.decided_by = actor
        payment.decision_note = note[:500]
        payment.save(update_fields=["status", "decided_by", "decision_note", "updated_at"])
        metrics.payment_status_on_commit(Payment.Status.REJECTED)
        notifications_create(
            [
                NotificationDraft(
                    partner_id=payment.partner_id,
                    kind=Kind.PAYMENT_REJECTED,
                    params={"note": note},
                    data={"payment_id": payment.pk},
                    dedupe_key=f"payment_rejected:{payment.pk}",
                )
            ]
        )
        audit_record_many(
            [
                AuditEntry(
                    EventType.PAYMENT_STATE_CHANGED,
                    partner_id=payment.partner_id,
                    actor=actor,
                    metadata={
                        "payment_id": payment.pk,
                        "from": Payment.Status.UNDER_REVIEW,
                        "to": Payment.Status.REJECTED,
                        "note": note[:500],
                    },
                )
            ]
        )
    return payment


def payment_refund(*, payment_id: int, actor, note: str = "") -> Payment:
    """Staff refund a completed payment: every commission row of it gets an opposite row for
    exactly the amount paid, PRO loses the unused part of the period, all audited. (Returning
    the buyer's money happens outside the platform.)"""
    with transaction.atomic():
        payment = _lock_payment(payment_id)
        if payment.status != Payment.Status.COMPLETED:
            raise ConflictError(f"Only completed payments can be refunded; this one is {payment.status}.", code="invalid_state")
        now = timezone.now()
        buyer = Partner.objects.select_for_update().get(pk=payment.partner_id)
        commissions = list(
            USDTEntry.objects.filter(payment=payment, kind=USDTEntry.Kind.COMMISSION, reversed_by__isnull=True).order_by(
                "level"
            )
        )
        reversals = usdt_entries_append(
            [
                USDTEntry(
                    partner_id=entry.partner_id,
                    amount=-entry.amount,
                    kind=USDTEntry.Kind.COMMISSION_REVERSAL,
                    level=entry.level,
                    related_partner_id=entry.related_partner_id,
                    payment=payment,
                    reverses=entry,
                    rate=entry.rate,
                    base_amount=entry.base_amount,
                    # A still-held commission is cancelled when it would have become available,
                    # so the member's available balance never dips for money they never had.
                    available_at=max(now, entry.available_at),
                    idempotency_key=f"commission_reversal:{entry.pk}",
                    metadata={"note": note[:500]},
                    created_by=actor,
                    created_at=now,
                )
                for entry in commissions
            ]
        )
        pro_audit = subscription_cancel_for_refund(partner=buyer, payment=payment, now=now, actor=actor)
        payment.status = Payment.Status.REFUNDED
        payment.refunded_at = now
        payment.decided_by = actor
        payment.decision_note = note[:500]
        payment.save(update_fields=["status", "refunded_at", "decided_by", "decision_note", "updated_at"])
        metrics.payment_status_on_commit(Payment.Status.REFUNDED)
        notifications_create(
            [
                NotificationDraft(
                    partner_id=entry.partner_id,
                    kind=Kind.COMMISSION_REVERSED,
                    params={"amount": f"{-entry.amount:.2f}", "level": entry.level},
                    data={"amount": str(entry.amount), "level": entry.level, "payment_id": payment.pk},
                    dedupe_key=f"commission_reversed:{payment.pk}:L{entry.level}",
                    created_at=now,
                )
                for entry in reversals
            ]
        )
        audit = [
            AuditEntry(
                EventType.PAYMENT_REFUNDED,
                partner_id=buyer.pk,
                amount=payment.price_usd,
                currency="USD",
                actor=actor,
                metadata={
                    "payment_id": payment.pk,
                    "note": note[:500],
                    "commission_reversed_total": str(-sum((e.amount for e in reversals), Decimal(0))),
                },
            ),
            *pro_audit,
        ]
        audit.extend(
            AuditEntry(
                EventType.COMMISSION_REVERSED,
                partner_id=entry.partner_id,
                related_partner_id=entry.related_partner_id,
                amount=entry.amount,
                currency="USDT",
                actor=actor,
                metadata={
                    "payment_id": payment.pk,
                    "level": entry.level,
                    "reverses_entry_id": entry.reverses_id,
                    "usdt_entry_id": entry.pk,
                },
            )
            for entry in reversals
        )
        audit_record_many(audit)
        send_on_commit(
            payment_refunded, payment_id=payment.pk, partner_id=buyer.pk, reversal_entry_ids=[e.pk for e in reversals]
        )
    return payment
