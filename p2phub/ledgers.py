"""Registry of the platform's ledgers (XP in rewards, USDT in payments).

Lets `/api/v1/me/ledger/?currency=...` and `manage.py reconcile_ledger` work over every ledger
without the owning apps importing each other: each app registers its ledger from
AppConfig.ready().
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet


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
