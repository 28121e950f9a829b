"""Registry of the platform's ledgers (XP in rewards, USDT in payments), and their
reconciliation: the code that spans both ledgers lives here, in one place.

Lets `/api/v1/me/ledger/?currency=...` and `manage.py reconcile_ledger` work over every ledger
without the owning apps importing each other: each app registers its ledger from
AppConfig.ready().
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BalanceMismatch:
    currency: str
    partner_id: int
    ledger_sum: Decimal
    # For `against="balance"`: the cached balance. For `against="audit"`: the sum of the audit
    # rows that record this ledger's movements (the ledger disagrees with its audit trail).
    cached_balance: Decimal
    against: str = "balance"

    @property
    def difference(self) -> Decimal:
        return self.ledger_sum - self.cached_balance


@dataclass(frozen=True)
class LedgerSource:
    currency: str
    # The member's rows, newest first. Each row exposes: id, amount, kind, level,
    # related_partner_id, created_at (and may expose more).
    entries_for: Callable[[Any], QuerySet]
    # Every partner whose cached/folded balance differs from the sum of their ledger rows.
    find_mismatches: Callable[[], list[BalanceMismatch]]
    # Makes the cached balance agree with the ledger, audited; `actor` may be None (system).
    # None for a ledger without a cached balance (USDT: every figure is a sum of rows).
    correct_mismatch: Callable[[BalanceMismatch, Any], None] | None
    # Every partner whose ledger sum differs from the sum of the audit rows of its movements
    # (a row written or removed around the services). Only ever reported, never "fixed": SPEC
    # §12, reconciliation never rewrites history; a correction is a staff action with a reason.
    find_audit_disagreements: Callable[[], list[BalanceMismatch]] | None = None


_ledgers: dict[str, LedgerSource] = {}


def register_ledger(source: LedgerSource) -> None:
    _ledgers[source.currency] = source


def ledger_for(currency: str) -> LedgerSource | None:
    return _ledgers.get(currency.upper())


def all_ledgers() -> list[LedgerSource]:
    return list(_ledgers.values())


# --- Reconciliation (`manage.py reconcile_ledger`, the daily `reconcile_ledgers` task) -------

_AUDIT_BATCH = 1000


@dataclass
class ReconcileReport:
    checked: list[str] = field(default_factory=list)  # currencies
    # Every difference found: cached balance vs ledger (`against="balance"`) and ledger vs its
    # audit trail (`against="audit"`).
    mismatches: list[BalanceMismatch] = field(default_factory=list)
    fixed: int = 0
    # Cached balances left alone because their ledger disagrees with its audit trail:
    # re-deriving them from that ledger would bless the tampering.
    withheld: int = 0

    @property
    def disagreements(self) -> list[BalanceMismatch]:
        return [m for m in self.mismatches if m.against == "audit"]


def _record(mismatches: list[BalanceMismatch], *, actor, fix: bool) -> None:
    for start in range(0, len(mismatches), _AUDIT_BATCH):
        with transaction.atomic():
            audit_record_many(
                [
                    AuditEntry(
                        EventType.LEDGER_MISMATCH,
                        partner_id=m.partner_id,
                        amount=m.difference,
                        currency=m.currency,
                        actor=actor,
                        metadata={
                            "ledger_sum": str(m.ledger_sum),
                            "cached_balance": str(m.cached_balance),
                            "difference": str(m.difference),
                            "fix_requested": fix,
                            "against": m.against,
                            # A ledger that disagrees with its audit trail is for staff to
                            # review; reconciliation never rewrites history (SPEC §12).
                            "needs_staff_review": m.against == "audit",
                        },
                    )
                    for m in mismatches[start : start + _AUDIT_BATCH]
                ]
            )


def ledgers_reconcile(*, fix: bool = False, actor=None) -> ReconcileReport:
    """Compare every member's ledger sum with their cached balance and with the audit trail of
    their movements, in every ledger. Each difference is logged and audited (LEDGER_MISMATCH).

    With `fix`, only a cached balance is re-derived from the ledger (the ledger's own audited
    correction), and only where that ledger agrees with its audit trail. A ledger that
    disagrees with its audit trail is reported for staff and never corrected here (SPEC §12)."""
    report = ReconcileReport()
    for source in all_ledgers():
        report.checked.append(source.currency)
        report.mismatches.extend(source.find_mismatches())
        if source.find_audit_disagreements is not None:
            report.mismatches.extend(source.find_audit_disagreements())
    if not report.mismatches:
        return report
    for m in report.mismatches:
        logger.error(
            "Ledger mismatch %s partner=%s against=%s ledger=%s other=%s",
            m.currency,
            m.partner_id,
            m.against,
            m.ledger_sum,
            m.cached_balance,
        )
    _record(report.mismatches, actor=actor, fix=fix)
    if fix:
        tampered = {(m.currency, m.partner_id) for m in report.disagreements}
        for m in report.mismatches:
            if m.against != "balance":
                continue
            if (m.currency, m.partner_id) in tampered:
                report.withheld += 1
                continue
            source = ledger_for(m.currency)
            if source is None or source.correct_mismatch is None:
                continue
            try:
                source.correct_mismatch(m, actor)
            except Exception:  # noqa: BLE001 - one failed correction must not stop the others
                logger.exception("Could not correct the %s balance of partner %s", m.currency, m.partner_id)
                continue
            report.fixed += 1
    return report
