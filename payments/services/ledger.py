"""The USDT ledger's one writer, and its maintenance: staff corrections and settling a ledger
that disagrees with its audit trail.

`usdt_entries_append` is the only code that inserts USDT ledger rows (commissions, reversals,
payout reserves and releases, corrections all call it); the rows are never edited or deleted
(ORM guards and PostgreSQL triggers).

USDT balances are never cached: every figure is a sum of ledger rows. What reconciliation can
still catch is a ledger row written around the services (raw SQL, a bad migration): each
service writes an audit row whose signed USDT amount equals its ledger row, so per member the
ledger sum must equal the sum of those audit amounts (`payments.selectors.usdt_find_mismatches`).
"""

from decimal import Decimal
from uuid import uuid4

from django.db import transaction
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many
from p2phub.errors import DomainError
from p2phub.ledgers import BalanceMismatch
from partners.member_cache import member_changed
from partners.models import Partner
from payments.models import USDTEntry
from payments.services.common import usdt


def usdt_entries_append(rows: list[USDTEntry]) -> list[USDTEntry]:
    """Insert new USDT ledger rows (one INSERT), inside the caller's transaction, and return them
    with their ids. The only writer of the USDT ledger: callers build the rows and write the
    matching audit entries (signed amount = the row's amount) in the same transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("USDT ledger rows are written inside the caller's transaction")
    for row in rows:
        if row.pk is not None or not row._state.adding:
            raise RuntimeError("USDT ledger rows are append-only; write an opposite row instead")
        if row.amount == 0:
            raise DomainError("A USDT ledger row needs a non-zero amount.", code="invalid_amount")
    if not rows:
        return []
    member_changed(row.partner_id for row in rows)
    return USDTEntry.objects.bulk_create(rows)


def usdt_correction_create(*, partner: Partner, amount, reason: str, actor) -> USDTEntry:
    """A staff correction: a new signed ledger row (never an edit), with its reason, audited."""
    amount = usdt(Decimal(str(amount)))
    if amount == 0:
        raise DomainError("A correction needs a non-zero amount.", code="invalid_amount")
    if not reason.strip():
        raise DomainError("A correction needs a reason.", code="reason_required")
    now = timezone.now()
    with transaction.atomic():
        entry = USDTEntry(
            partner=partner,
            amount=amount,
            kind=USDTEntry.Kind.CORRECTION,
            available_at=now,
            metadata={"reason": reason[:500]},
            created_by=actor,
            created_at=now,
        )
        # Each staff correction is its own decision, so every call gets a fresh key.
        entry.idempotency_key = f"correction:{uuid4().hex}"
        [entry] = usdt_entries_append([entry])
        audit_record_many(
            [
                AuditEntry(
                    EventType.USDT_CORRECTION,
                    partner_id=partner.pk,
                    amount=amount,
                    currency="USDT",
                    actor=actor,
                    metadata={"reason": reason[:500], "usdt_entry_id": entry.pk},
                )
            ]
        )
    return entry


def usdt_correct_mismatch(mismatch: BalanceMismatch, actor, *, reason: str) -> None:
    """A staff decision on a ledger that disagrees with its audit trail (never run by
    reconciliation, SPEC §12): after review, staff record the unexplained difference in the
    audit log (one USDT_CORRECTION row, with their reason) so the audited total agrees with the
    ledger again. Undoing the money itself is a separate `usdt_correction_create`."""
    if actor is None:
        raise DomainError("Only staff can settle a ledger/audit disagreement.", code="staff_required")
    if not reason.strip():
        raise DomainError("A correction needs a reason.", code="reason_required")
    audit_record_many(
        [
            AuditEntry(
                EventType.USDT_CORRECTION,
                partner_id=mismatch.partner_id,
                amount=mismatch.difference,
                currency="USDT",
                actor=actor,
                metadata={
                    "reason": reason[:500],
                    "acknowledged_disagreement": True,
                    "ledger_sum": str(mismatch.ledger_sum),
                    "audited_sum": str(mismatch.cached_balance),
                },
            )
        ]
    )
