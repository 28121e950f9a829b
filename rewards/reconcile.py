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
    mismatches: list[BalanceMismatch] = field(default_factory=list)
    fixed: int = 0


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
                        },
                    )
                    for m in mismatches[start : start + _AUDIT_BATCH]
                ]
            )


def ledgers_reconcile(*, fix: bool = False, actor=None) -> ReconcileReport:
    """Compare every member's cached balance with their ledger sum in every ledger. Each
    difference is logged and audited (LEDGER_MISMATCH); with `fix`, each is also corrected by
    the ledger's own audited correction."""
    report = ReconcileReport()
    for source in all_ledgers():
        report.checked.append(source.currency)
        report.mismatches.extend(source.find_mismatches())
    if not report.mismatches:
        return report
    for m in report.mismatches:
        logger.error(
            "Ledger mismatch %s partner=%s ledger=%s cached=%s", m.currency, m.partner_id, m.ledger_sum, m.cached_balance
        )
    _record(report.mismatches, actor=actor, fix=fix)
    if fix:
        for m in report.mismatches:
            try:
                ledger_for(m.currency).correct_mismatch(m, actor)
            except Exception:  # noqa: BLE001 - one failed correction must not stop the others
                logger.exception("Could not correct the %s balance of partner %s", m.currency, m.partner_id)
                continue
            report.fixed += 1
    return report
