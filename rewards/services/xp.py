"""XP movements. Every XP change goes through `xp_award_many`: ledger rows + delta rows, level-up
detection, and the audit entries the caller appends at the end of its transaction.

Failures: only a row already written (same idempotency key or, for a referral, the same
(recipient, new member) pair: a duplicate raced in) is skipped, as "already paid", by the insert
itself (ON CONFLICT DO NOTHING). Any database error on a row (a statement timeout, a lost lock, a
foreign key) is reported in `XPAwardResult.failed` when the caller asked for partial results (the
referral engine's retries, which queue a durable retry), and raised otherwise. An award is never
dropped silently.

Level-ups (SPEC §7) are announced once per (member, level) through `LevelReached`: the award's
transaction announces a crossing it can see, and the fold job re-checks every crossing from the
committed, row-locked balance, so two concurrent awards that cross a level only together (each
blind to the other) are announced by the fold."""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many
from p2phub.db import insert_returning, insert_sql
from partners.member_cache import member_changed
from partners.notifications import Kind, NotificationDraft, notifications_create
from rewards import leaderboards
from rewards.levels import level_for_xp, rank_for_level
from rewards.models import LevelReached, XPBalance, XPDelta, XPEntry
from rewards.selectors.xp import xp_balances

logger = logging.getLogger(__name__)


@dataclass
class XPAward:
    partner_id: int
    amount: int
    kind: str
    idempotency_key: str
    level: int | None = None
    related_partner_id: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    audit_event: str = EventType.XP_AWARDED


@dataclass
class XPAwardFailure:
    award: XPAward
    error: Exception


@dataclass
class XPAwardResult:
    entries: list[XPEntry]
    audit_entries: list[AuditEntry]
    level_ups: list[tuple[int, int, int]]  # (partner_id, old level, new level)
    # Awards whose row could not be written (only with allow_failures=True; else they raise).
    failed: list[XPAwardFailure] = field(default_factory=list)


def _entry(award: XPAward, now) -> XPEntry:
    return XPEntry(
        partner_id=award.partner_id,
        amount=award.amount,
        kind=award.kind,
        level=award.level,
        related_partner_id=award.related_partner_id,
        idempotency_key=award.idempotency_key,
        metadata=award.metadata,
        created_at=now,
    )


def _insert_entries_one_by_one(entries: list[XPEntry]) -> tuple[list[XPEntry], list[tuple[XPEntry, Exception]]]:
    """The batch insert failed: each row on its own savepoint, so one bad award never stops the
    others. Returns (inserted, failed); a row already in the ledger (same key, or the same
    referral pair) is neither: ON CONFLICT DO NOTHING skips it, so any error left is real."""
    inserted: list[XPEntry] = []
    failed: list[tuple[XPEntry, Exception]] = []
    for entry in entries:
        try:
            with transaction.atomic():
                written = insert_returning(XPEntry, [entry], ignore_conflicts=True, returning=("id",))
        except DatabaseError as error:
            logger.exception("XP award %s could not be written", entry.idempotency_key)
            failed.append((entry, error))
            continue
        if written:
            entry.pk = written[0][0]
            inserted.append(entry)
        else:
            logger.info("XP award %s is in the ledger already", entry.idempotency_key)
    return inserted, failed


def _insert_entries_isolated(entries: list[XPEntry]) -> tuple[list[XPEntry], list[tuple[XPEntry, Exception]]]:
    """One INSERT for the batch, in a savepoint; if it fails, row by row (see above)."""
    try:
        with transaction.atomic():
            return _entries_written(entries, insert_returning(XPEntry, entries, ignore_conflicts=True, returning=_RETURNED)), []
    except DatabaseError:
        logger.warning("Batch XP insert failed; inserting %s rows one by one", len(entries), exc_info=True)
    return _insert_entries_one_by_one(entries)


# What the ledger insert hands back for each row that went in (a conflicting row is skipped).
_RETURNED = ("id", "idempotency_key")


def _entries_written(entries: list[XPEntry], returned) -> list[XPEntry]:
    """The entries whose rows went in, with their ids, in the caller's order."""
    ids = dict((key, pk) for pk, key in returned)
    written = []
    for entry in entries:
        if entry.idempotency_key in ids:
            entry.pk = ids.pop(entry.idempotency_key)
            entry._state.adding = False
            written.append(entry)
    return written


def _deltas_insert(gained: dict[int, int]) -> None:
    if gained:
        XPDelta.objects.bulk_create([XPDelta(partner_id=pid, amount=amount) for pid, amount in gained.items()])


def _gained(inserted: list[XPEntry]) -> dict[int, int]:
    gained: dict[int, int] = defaultdict(int)
    for entry in inserted:
        gained[entry.partner_id] += entry.amount
    return gained


def _write_in_one_statement(entries: list[XPEntry], recipients: list[int], *, balances: bool) -> tuple[list[XPEntry], dict[int, int]]:
    """PostgreSQL: the ledger rows, their delta rows and the recipients' balances before them in
    one statement. Every part of a statement sees the snapshot it started with, so the balances
    are what this transaction could see before this award (committed XP + its own, exactly what
    a read just before would return; a concurrent award it cannot see is the fold's to announce,
    as before), and the deltas are computed from the rows the ledger insert returned: exactly the
    rows that went in, none for a key already in the ledger."""
    insert, params = insert_sql(
        XPEntry, entries, ignore_conflicts=True, returning=("id", "idempotency_key", "partner_id", "amount")
    )
    delta, balance = XPDelta._meta.db_table, XPBalance._meta.db_table
    before_sql, before_params = "SELECT NULL::bigint AS partner_id, 0::bigint AS xp WHERE false", []
    if balances:
        before_sql = (
            f"SELECT partner_id, SUM(xp) AS xp FROM (SELECT partner_id, xp FROM {balance} WHERE partner_id = ANY(%s) "
            f"UNION ALL SELECT partner_id, amount FROM {delta} WHERE partner_id = ANY(%s)) AS parts GROUP BY partner_id"
        )
        before_params = [recipients, recipients]
    sql = (
        f"WITH e AS ({insert}), "
        f"d AS (INSERT INTO {delta} (partner_id, amount) SELECT partner_id, SUM(amount) FROM e GROUP BY partner_id), "
        f"b AS ({before_sql}) "
        "SELECT e.id, e.idempotency_key, COALESCE(b.xp, 0) FROM e LEFT JOIN b ON b.partner_id = e.partner_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *before_params])
        rows = cursor.fetchall()
    before = {}
    by_key = {entry.idempotency_key: entry for entry in entries}
    for _pk, key, xp in rows:
        before[by_key[key].partner_id] = int(xp)
    return _entries_written(entries, [(pk, key) for pk, key, _xp in rows]), before


def xp_award_many(
    awards: list[XPAward],
    *,
    detect_level_ups: bool = True,
    allow_failures: bool = False,
    notifications: list[NotificationDraft] | None = None,
) -> XPAwardResult:
    """Append XP awards (idempotent per key). Must run inside the caller's transaction; returns
    the audit entries for the caller's single audit append at the end of that transaction.

    An award whose key (or, for a referral, whose (recipient, new member) pair) is in the ledger
    already is skipped by the insert itself (ON CONFLICT DO NOTHING): no look-up before, no
    savepoint around it. On PostgreSQL ledger rows, delta rows and the balances for level-up
    detection are one statement; on SQLite three.

    A row that cannot be written raises its database error (the caller's transaction decides),
    unless `allow_failures`: then the batch runs in a savepoint, falls back to row-by-row
    savepoints, the other rows are still written and the failed ones are returned in `failed`,
    for the caller to queue durably.

    `notifications`: level-up notifications are appended to this list for the caller's own
    (single) notification insert instead of being stored here."""
    awards = [a for a in awards if a.amount]
    if not awards:
        return XPAwardResult([], [], [])
    recipients = sorted({a.partner_id for a in awards})
    now = timezone.now()
    by_key: dict[str, XPAward] = {}
    for award in awards:
        by_key.setdefault(award.idempotency_key, award)  # one row per key (the ledger's rule)
    entries = [_entry(a, now) for a in by_key.values()]
    failed: list[XPAwardFailure] = []
    if allow_failures:
        before = xp_balances(recipients) if detect_level_ups else {}
        inserted, failed_rows = _insert_entries_isolated(entries)
        failed = [XPAwardFailure(by_key[entry.idempotency_key], error) for entry, error in failed_rows]
        gained = _gained(inserted)
        _deltas_insert(gained)
    elif connection.vendor == "postgresql":
        inserted, before = _write_in_one_statement(entries, recipients, balances=detect_level_ups)
        gained = _gained(inserted)
    else:
        before = xp_balances(recipients) if detect_level_ups else {}
        inserted = _entries_written(entries, insert_returning(XPEntry, entries, ignore_conflicts=True, returning=_RETURNED))
        gained = _gained(inserted)
        _deltas_insert(gained)
    member_changed(gained)
    _leaderboards_after_commit(inserted, gained, now)

    audit_entries = [
        AuditEntry(
            by_key[e.idempotency_key].audit_event,
            partner_id=e.partner_id,
            related_partner_id=e.related_partner_id,
            amount=e.amount,
            currency="XP",
            metadata={"kind": e.kind, "level": e.level, "entry_id": e.pk, **by_key[e.idempotency_key].metadata},
        )
        for e in inserted
    ]
    level_ups = []
    if detect_level_ups:
        # What this transaction can see: committed XP + its own. A concurrent award it cannot
        # see may make the crossing real only together with this one; the fold announces that.
        crossings = {pid: (before.get(pid, 0), before.get(pid, 0) + amount) for pid, amount in gained.items()}
        level_ups = _levels_reached(crossings, now)
        audit_entries.extend(_level_up_effects(level_ups, now, notifications=notifications))
    return XPAwardResult(inserted, audit_entries, level_ups, failed)


def _levels_reached(crossings: dict[int, tuple[int, int]], now) -> list[tuple[int, int, int]]:
    """Claim the levels each member crossed ({partner_id: (xp before, xp after)}) in
    `LevelReached`; returns (partner_id, old level, new level) for each member with a level
    claimed here. One INSERT ... ON CONFLICT DO NOTHING RETURNING, in (partner, level) order:
    a level a concurrent transaction claims first (or claimed long ago) is not announced twice,
    and the inserts of two transactions never wait on each other in a cycle."""
    rows: list[tuple[int, int]] = []
    for partner_id, (xp_before, xp_after) in sorted(crossings.items()):
        old, new = level_for_xp(xp_before), level_for_xp(xp_after)
        if new > old:
            rows.extend((partner_id, level) for level in range(old + 1, new + 1))
    if not rows:
        return []
    table = connection.ops.quote_name(LevelReached._meta.db_table)
    values = ", ".join(["(%s, %s, %s)"] * len(rows))
    params: list[Any] = []
    for partner_id, level in rows:
        params.extend([partner_id, level, now])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (partner_id, level, reached_at) VALUES {values} "
            "ON CONFLICT (partner_id, level) DO NOTHING RETURNING partner_id, level",
            params,
        )
        claimed = cursor.fetchall()
    reached: dict[int, list[int]] = defaultdict(list)
    for partner_id, level in claimed:
        reached[partner_id].append(level)
    # From the level below the lowest one claimed here (a level announced before is not the
    # "from" of this announcement), to the highest.
    return [(pid, min(levels) - 1, max(levels)) for pid, levels in sorted(reached.items())]


def _leaderboards_after_commit(inserted: list[XPEntry], gained: dict[int, int], now) -> None:
    """Redis boards move only once the XP is committed (a rolled-back award never shows)."""
    if not gained or not leaderboards.redis_enabled():
        return
    first_entry = {}
    for entry in inserted:
        first_entry.setdefault(entry.partner_id, entry.pk)
    gains = [(pid, amount, now, first_entry[pid]) for pid, amount in gained.items()]
    transaction.on_commit(partial(leaderboards.record_xp, gains), robust=True)


def _level_up_effects(
    level_ups: list[tuple[int, int, int]], now, *, notifications: list[NotificationDraft] | None = None
) -> list[AuditEntry]:
    if not level_ups:
        return []
    drafts = [
        NotificationDraft(
            partner_id=partner_id,
            kind=Kind.LEVEL_UP,
            params={"level": new, "rank": rank_for_level(new)},
            data={"level": new, "previous_level": old, "rank": rank_for_level(new)},
            dedupe_key=f"level_up:{partner_id}:{new}",
            created_at=now,
        )
        for partner_id, old, new in level_ups
    ]
    if notifications is None:
        notifications_create(drafts)
    else:
        notifications.extend(drafts)
    return [
        AuditEntry(
            EventType.LEVEL_UP,
            partner_id=partner_id,
            metadata={"from_level": old, "to_level": new, "rank": rank_for_level(new)},
        )
        for partner_id, old, new in level_ups
    ]


def xp_award(award: XPAward) -> XPAwardResult:
    """One award in its own transaction, audited."""
    with transaction.atomic():
        result = xp_award_many([award])
        audit_record_many(result.audit_entries)
    return result


def xp_fold_deltas(*, batch_size: int = 5000) -> int:
    """Fold up to `batch_size` delta rows into XPBalance. Returns how many rows were folded.
    Deltas are claimed with SKIP LOCKED so parallel folders never fold a row twice, and balance
    rows are locked in primary-key order so folders never deadlock each other.

    Under those locks each balance moves from one committed total to the next, so every level a
    member's XP crosses is crossed by exactly one fold step: the fold claims it in
    `LevelReached` and announces it unless the award's own transaction already did (exact
    level-ups whatever the concurrency, without a per-award lock on the recipient)."""
    with transaction.atomic():
        claim = XPDelta.objects.order_by("id").values_list("id", "partner_id", "amount")
        if connection.vendor == "postgresql":
            claim = claim.select_for_update(skip_locked=True)
        rows = list(claim[:batch_size])
        if not rows:
            return 0
        totals: dict[int, int] = defaultdict(int)
        for _id, partner_id, amount in rows:
            totals[partner_id] += amount
        partner_ids = sorted(totals)
        XPBalance.objects.bulk_create(
            [XPBalance(partner_id=pid, xp=0) for pid in partner_ids], ignore_conflicts=True
        )
        balances = list(XPBalance.objects.select_for_update().filter(partner_id__in=partner_ids).order_by("partner_id"))
        now = timezone.now()
        crossings = {}
        for balance in balances:
            crossings[balance.partner_id] = (balance.xp, balance.xp + totals[balance.partner_id])
            balance.xp += totals[balance.partner_id]
            balance.folded_at = now
        XPBalance.objects.bulk_update(balances, ["xp", "folded_at"], batch_size=1000)
        XPDelta.objects.filter(id__in=[row[0] for row in rows]).delete()
        level_ups = _levels_reached(crossings, now)
        if level_ups:
            logger.info("Fold announced %s level-up(s) its awards could not see", len(level_ups))
            audit_record_many(_level_up_effects(level_ups, now))
        return len(rows)


def xp_fold_all(*, batch_size: int = 5000) -> int:
    total = 0
    while folded := xp_fold_deltas(batch_size=batch_size):
        total += folded
    return total
