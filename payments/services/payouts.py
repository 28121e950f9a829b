"""Withdrawals of available USDT. The amount is reserved by a debit ledger row at request time;
staff either approve (recording the on-chain payout hash; no further movement) or reject
(an opposite release row). Requests lock the member's USDTAccount row, so concurrent requests
run one at a time per member and can never overdraw."""

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many
from p2phub.errors import ConflictError, DomainError
from partners.models import Partner
from partners.notifications import Kind, NotificationDraft, notifications_create
from payments.models import Payout, USDTAccount, USDTEntry
from payments.selectors import usdt_balances
from payments.services.common import send_on_commit, usdt
from payments.services.ledger import usdt_entries_append
from payments.signals import payout_decided


def _lock_account(partner_id: int) -> USDTAccount:
    # get_or_create first (it handles the creation race), then lock the existing row.
    USDTAccount.objects.get_or_create(partner_id=partner_id)
    return USDTAccount.objects.select_for_update().get(partner_id=partner_id)


def payout_request(*, partner: Partner, amount, address: str, network: str) -> Payout:
    try:
        amount = Decimal(str(amount))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError("Amount must be a decimal number.", code="invalid_amount") from exc
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.000001")):
        raise DomainError("Amount must be positive with at most 6 decimal places.", code="invalid_amount")
    minimum = Decimal(settings.PAYOUT_MINIMUM_USDT)
    if amount < minimum:
        raise DomainError(f"The minimum payout is {minimum} USDT.", code="below_minimum")
    if network not in settings.PAYOUT_NETWORKS:
        raise DomainError(f"Network must be one of {', '.join(settings.PAYOUT_NETWORKS)}.", code="invalid_network")
    amount = usdt(amount)

    with transaction.atomic():
        _lock_account(partner.pk)
        # Read after the lock: the previous holder's reservation is committed and counted.
        balances = usdt_balances(partner.pk)
        if balances.balance < 0:
            raise DomainError(
                f"Your USDT balance is negative ({balances.balance}); payouts resume once later earnings cover it.",
                code="negative_balance",
            )
        if amount > balances.available:
            raise DomainError(
                f"Insufficient available balance: {balances.available} USDT available, {amount} requested.",
                code="insufficient_balance",
            )
        now = timezone.now()
        payout = Payout.objects.create(
            partner=partner, amount=amount, address=address, network=network, requested_at=now
        )
        [entry] = usdt_entries_append(
            [
                USDTEntry(
                    partner=partner,
                    amount=-amount,
                    kind=USDTEntry.Kind.PAYOUT_RESERVE,
                    payout=payout,
                    available_at=now,
                    idempotency_key=f"payout_reserve:{payout.pk}",
                    metadata={"network": network},
                    created_at=now,
                )
            ]
        )
        audit_record_many(
            [
                AuditEntry(
                    EventType.PAYOUT_REQUESTED,
                    partner_id=partner.pk,
                    amount=-amount,
                    currency="USDT",
                    metadata={"payout_id": payout.pk, "network": network, "address": address, "usdt_entry_id": entry.pk},
                )
            ]
        )
    return payout


def _lock_requested_payout(payout_id: int) -> Payout:
    payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
    if payout is None:
        raise DomainError("Payout not found.", code="not_found", status_code=404)
    if payout.status != Payout.Status.REQUESTED:
        raise ConflictError(f"This payout is already {payout.status}.", code="invalid_state")
    return payout


def payout_approve(*, payout_id: int, actor, tx_hash: str, note: str = "") -> Payout:
    tx_hash = (tx_hash or "").strip()
    if not tx_hash or len(tx_hash) > 128:
        raise DomainError("The payout transaction hash is required (at most 128 characters).", code="invalid_tx_hash")
    with transaction.atomic():
        payout = _lock_requested_payout(payout_id)
        if Payout.objects.filter(tx_hash=tx_hash).exists():
            raise ConflictError("This transaction hash is already recorded for another payout.", code="tx_hash_used")
        payout.status = Payout.Status.APPROVED
        payout.tx_hash = tx_hash
        payout.decided_by = actor
        payout.decided_at = timezone.now()
        payout.decision_note = note[:500]
        try:
            with transaction.atomic():
                payout.save(update_fields=["status", "tx_hash", "decided_by", "decided_at", "decision_note"])
        except IntegrityError as exc:
            raise ConflictError("This transaction hash is already recorded for another payout.", code="tx_hash_used") from exc
        notifications_create(
            [
                NotificationDraft(
                    partner_id=payout.partner_id,
                    kind=Kind.PAYOUT_APPROVED,
                    params={
                        "amount": f"{payout.amount:.2f}",
                        "address": payout.address,
                        "network": payout.network,
                        "tx_hash": tx_hash,
                    },
                    data={"payout_id": payout.pk, "tx_hash": tx_hash, "amount": str(payout.amount)},
                    dedupe_key=f"payout_approved:{payout.pk}",
                )
            ]
        )
        audit_record_many(
            [
                AuditEntry(
                    EventType.PAYOUT_APPROVED,
                    partner_id=payout.partner_id,
                    amount=payout.amount,
                    currency="USDT",
                    actor=actor,
                    metadata={"payout_id": payout.pk, "tx_hash": tx_hash, "note": note[:500]},
                )
            ]
        )
        send_on_commit(payout_decided, payout_id=payout.pk, partner_id=payout.partner_id, status=payout.status)
    return payout


def payout_reject(*, payout_id: int, actor, note: str = "") -> Payout:
    with transaction.atomic():
        payout = _lock_requested_payout(payout_id)
        now = timezone.now()
        payout.status = Payout.Status.REJECTED
        payout.decided_by = actor
        payout.decided_at = now
        payout.decision_note = note[:500]
        payout.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        [entry] = usdt_entries_append(
            [
                USDTEntry(
                    partner_id=payout.partner_id,
                    amount=payout.amount,
                    kind=USDTEntry.Kind.PAYOUT_RELEASE,
                    payout=payout,
                    available_at=now,
                    idempotency_key=f"payout_release:{payout.pk}",
                    metadata={"note": note[:500]},
                    created_by=actor,
                    created_at=now,
                )
            ]
        )
        notifications_create(
            [
                NotificationDraft(
                    partner_id=payout.partner_id,
                    kind=Kind.PAYOUT_REJECTED,
                    params={"amount": f"{payout.amount:.2f}", "note": note},
                    data={"payout_id": payout.pk, "amount": str(payout.amount)},
                    dedupe_key=f"payout_rejected:{payout.pk}",
                )
            ]
        )
        audit_record_many(
            [
                AuditEntry(
                    EventType.PAYOUT_REJECTED,
                    partner_id=payout.partner_id,
                    amount=payout.amount,
                    currency="USDT",
                    actor=actor,
                    metadata={"payout_id": payout.pk, "note": note[:500], "usdt_entry_id": entry.pk},
                )
            ]
        )
        send_on_commit(payout_decided, payout_id=payout.pk, partner_id=payout.partner_id, status=payout.status)
    return payout
