"""The XP ledger in the platform's ledger registry (p2phub.ledgers).

Truth is the append-only `XPEntry` table. The cached balance is `XPBalance.xp` plus the
unfolded `XPDelta` rows. Reconciliation compares the two with grouped queries, one statement
per block of partner ids (one statement = one snapshot, so a concurrent signup or fold never
shows up as a false mismatch); a correction adds a delta row so the cached balance agrees with
the ledger again, and audits it. The ledger itself is never edited (PostgreSQL triggers reject
UPDATE/DELETE/TRUNCATE on it).

Every ledger row is written by `rewards.services.xp_award_many`, whose audit row carries the
row's amount and `entry_id`; so per member the ledger sum must equal the sum of those audit
amounts. A ledger that disagrees (a row inserted around the services) is reported for staff and
its cached balance is not re-derived from it.
"""

from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum

from audit.models import AuditLog, EventType
from audit.services import AuditEntry, audit_record_many
from p2phub.ledgers import BalanceMismatch, LedgerSource, register_ledger
from partners.models import Partner
from rewards.models import XPBalance, XPDelta, XPEntry
from rewards.selectors.xp import xp_entries_for

CURRENCY = "XP"
_BLOCK = 50_000


def _comparison_sql() -> str:
    quote = connection.ops.quote_name
    partners, entries = quote(Partner._meta.db_table), quote(XPEntry._meta.db_table)
    balances, deltas = quote(XPBalance._meta.db_table), quote(XPDelta._meta.db_table)
    return f"""
        SELECT p.id, COALESCE(l.total, 0), COALESCE(b.xp, 0) + COALESCE(d.total, 0)
        FROM {partners} p
        LEFT JOIN (
            SELECT partner_id, SUM(amount) AS total FROM {entries}
            WHERE partner_id BETWEEN %s AND %s GROUP BY partner_id
        ) l ON l.partner_id = p.id
        LEFT JOIN {balances} b ON b.partner_id = p.id
        LEFT JOIN (
            SELECT partner_id, SUM(amount) AS total FROM {deltas}
            WHERE partner_id BETWEEN %s AND %s GROUP BY partner_id
        ) d ON d.partner_id = p.id
        WHERE p.id BETWEEN %s AND %s
          AND COALESCE(l.total, 0) <> COALESCE(b.xp, 0) + COALESCE(d.total, 0)
        ORDER BY p.id
    """


def _compare(low: int, high: int) -> list[tuple[int, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(_comparison_sql(), [low, high] * 3)
        return [(int(pid), int(ledger), int(cached)) for pid, ledger, cached in cursor.fetchall()]


def xp_find_mismatches(*, block: int = _BLOCK) -> list[BalanceMismatch]:
    """Every partner whose cached XP (folded + unfolded deltas) differs from their ledger sum.
    Walks the partner ids in blocks of `block` existing ids (keyset), so gaps cost nothing."""
    ids = Partner.objects.order_by("id").values_list("id", flat=True)
    found = []
    low = ids.first()
    while low is not None:
        edge = list(ids.filter(id__gte=low)[block - 1 : block])
        high = edge[0] if edge else ids.order_by("-id").first()
        for pid, ledger, cached in _compare(low, high):
            found.append(BalanceMismatch(CURRENCY, pid, Decimal(ledger), Decimal(cached)))
        low = ids.filter(id__gt=high).first()
    return found


def xp_find_audit_disagreements() -> list[BalanceMismatch]:
    """Members whose XP ledger sum differs from the audited sum of their XP ledger movements
    (audit rows with an `entry_id`: one per ledger row, written in the same transaction)."""
    ledger = dict(
        XPEntry.objects.order_by().values("partner_id").annotate(total=Sum("amount")).values_list("partner_id", "total")
    )
    audited = dict(
        AuditLog.objects.filter(currency=CURRENCY, partner_id__isnull=False, metadata__has_key="entry_id")
        .order_by()
        .values("partner_id")
        .annotate(total=Sum("amount"))
        .values_list("partner_id", "total")
    )
    found = []
    for partner_id in sorted(set(ledger) | set(audited)):
        ledger_sum, audited_sum = int(ledger.get(partner_id) or 0), int(audited.get(partner_id) or 0)
        if ledger_sum != audited_sum:
            found.append(BalanceMismatch(CURRENCY, partner_id, Decimal(ledger_sum), Decimal(audited_sum), "audit"))
    return found


def xp_correct_mismatch(mismatch: BalanceMismatch, actor=None) -> None:
    """Add the difference as a delta so cached XP equals the ledger sum; audited (XP_CORRECTION).
    Re-measured under a lock on the partner row first: a mismatch already repaired (or a second
    reconciler running at the same time) writes nothing."""
    if mismatch.against != "balance":
        raise ValueError("Only a cached balance is re-derived; a ledger/audit disagreement is for staff")
    with transaction.atomic():
        Partner.objects.select_for_update().filter(pk=mismatch.partner_id).values_list("pk", flat=True).first()
        current = _compare(mismatch.partner_id, mismatch.partner_id)
        if not current:
            return
        _pid, ledger, cached = current[0]
        difference = ledger - cached
        XPDelta.objects.create(partner_id=mismatch.partner_id, amount=difference)
        audit_record_many(
            [
                AuditEntry(
                    EventType.XP_CORRECTION,
                    partner_id=mismatch.partner_id,
                    amount=difference,
                    currency=CURRENCY,
                    actor=actor,
                    metadata={"ledger_sum": ledger, "cached_before": cached, "cached_after": ledger},
                )
            ]
        )


XP_LEDGER = LedgerSource(
    currency=CURRENCY,
    entries_for=xp_entries_for,
    find_mismatches=xp_find_mismatches,
    correct_mismatch=xp_correct_mismatch,
    find_audit_disagreements=xp_find_audit_disagreements,
)


def register_xp_ledger() -> None:
    register_ledger(XP_LEDGER)
