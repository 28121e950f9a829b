"""XP movements. Every XP change goes through `xp_award_many`: ledger rows + delta rows, level-up
detection, and the audit entries the caller appends at the end of its transaction.

Failures: only an IntegrityError whose row turns out to be written already (same idempotency key
or, for a referral, the same (recipient, new member) pair: a duplicate raced in) is swallowed, as
"already paid". Any other database error on a row (a statement timeout, a lost lock) is reported
in `XPAwardResult.failed` when the caller asked for partial results (the referral engine, which
queues a durable retry), and raised otherwise. An award is never dropped silently.

Level-ups (SPEC §7) are announced once per (member, level) through `LevelReached`: the award's
transaction announces a crossing it can see, and the fold job re-checks every crossing from the
committed, row-locked balance, so two concurrent awards that cross a level only together (each
blind to the other) are announced by the fold."""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many
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


def _already_written(entry: XPEntry) -> bool:
    """After an IntegrityError: is this award in the ledger already (the only safe reason)?"""
    match = Q(idempotency_key=entry.idempotency_key)
    if entry.kind == XPEntry.Kind.REFERRAL and entry.related_partner_id is not None:
        match |= Q(kind=XPEntry.Kind.REFERRAL, partner_id=entry.partner_id, related_partner_id=entry.related_partner_id)
    return XPEntry.objects.filter(match).exists()


def _insert_entries(entries: list[XPEntry]) -> tuple[list[XPEntry], list[tuple[XPEntry, Exception]]]:
    """One INSERT for the batch. If it fails, each row is tried on its own savepoint so one bad
    award never stops the others. Returns (inserted, failed); a row already in the ledger (the
    unique key raced) is neither."""
    try:
        with transaction.atomic():
            return XPEntry.objects.bulk_create(entries), []
    except DatabaseError:
        logger.warning("Batch XP insert failed; inserting %s rows one by one", len(entries), exc_info=True)
    inserted: list[XPEntry] = []
    failed: list[tuple[XPEntry, Exception]] = []
    for entry in entries:
        try:
            with transaction.atomic():
                entry.save(force_insert=True)
        except IntegrityError as error:
            if _already_written(entry):
                logger.info("XP award %s is in the ledger already", entry.idempotency_key)
                continue
            logger.exception("XP award %s could not be written", entry.idempotency_key)
            failed.append((entry, error))
        except DatabaseError as error:
            logger.exception("XP award %s could not be written", entry.idempotency_key)
            failed.append((entry, error))
        else:
            inserted.append(entry)
    return inserted, failed


def xp_award_many(
    awards: list[XPAward], *, detect_level_ups: bool = True, allow_failures: bool = False, keys_are_new: bool = False
) -> XPAwardResult:
    """Append XP awards (idempotent per key). Must run inside the caller's transaction; returns
    the audit entries for the caller's single audit append at the end of that transaction.

    A row that cannot be written raises its database error (the caller's transaction decides),
    unless `allow_failures`: then the other rows are still written and the failed ones are
    returned in `failed`, for the caller to queue durably.

    `keys_are_new`: the caller just created what the keys name (a new member, today's check-in
    row), so the look-up of already-written keys is skipped. Still exact if that is wrong: the
    unique key refuses the row and the one-by-one path recognises it as already written."""
    awards = [a for a in awards if a.amount]
    if not awards:
        return XPAwardResult([], [], [])
    existing = (
        set()
        if keys_are_new
        else set(
            XPEntry.objects.filter(idempotency_key__in=[a.idempotency_key for a in awards]).values_list(
                "idempotency_key", flat=True
            )
        )
    )
    awards = [a for a in awards if a.idempotency_key not in existing]
    if not awards:
        return XPAwardResult([], [], [])
    recipients = sorted({a.partner_id for a in awards})
    before = xp_balances(recipients) if detect_level_ups else {}

    now = timezone.now()
    by_key = {a.idempotency_key: a for a in awards}
    inserted, failed_rows = _insert_entries([_entry(a, now) for a in awards])
    failed = [XPAwardFailure(by_key[entry.idempotency_key], error) for entry, error in failed_rows]
    if failed and not allow_failures:
        raise failed[0].error
    gained: dict[int, int] = defaultdict(int)
    for entry in inserted:
        gained[entry.partner_id] += entry.amount
    XPDelta.objects.bulk_create([XPDelta(partner_id=pid, amount=amount) for pid, amount in gained.items()])
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
        audit_entries.extend(_level_up_effects(level_ups, now))
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


def _level_up_effects(level_ups: list[tuple[int, int, int]], now) -> list[AuditEntry]:
    if not level_ups:
        return []
    notifications_create(
        [
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
    )
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
