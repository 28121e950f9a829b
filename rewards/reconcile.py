"""Reconciliation of every registered ledger (XP here, USDT from payments): the code behind
`manage.py reconcile_ledger` and the daily `rewards.tasks.reconcile_ledgers` beat task."""

import logging
from dataclasses import dataclass, field

from django.db import transaction

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many
from p2phub.ledgers import BalanceMismatch, all_ledgers, ledger_for

logger = logging.getLogger(__name__)

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
