"""XP movements. Every XP change goes through `xp_award_many`: ledger rows + delta rows, level-up
detection, and the audit entries the caller appends at the end of its transaction."""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many
from partners.models import Notification
from rewards import leaderboards
from rewards.levels import level_for_xp, rank_for_level
from rewards.models import XPBalance, XPDelta, XPEntry
from rewards.selectors import xp_balances

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
class XPAwardResult:
    entries: list[XPEntry]
    audit_entries: list[AuditEntry]
    level_ups: list[tuple[int, int, int]]  # (partner_id, old level, new level)


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


def _insert_entries(entries: list[XPEntry]) -> list[XPEntry]:
    """One INSERT for the batch. If it fails, each row is tried on its own so one bad award
    (say, a duplicate raced in) never stops the others."""
    try:
        with transaction.atomic():
            return XPEntry.objects.bulk_create(entries)
    except (IntegrityError, DatabaseError):
        logger.warning("Batch XP insert failed; inserting %s rows one by one", len(entries))
    inserted = []
    for entry in entries:
        try:
            with transaction.atomic():
                entry.save(force_insert=True)
            inserted.append(entry)
        except (IntegrityError, DatabaseError):
            logger.exception("XP award %s could not be written", entry.idempotency_key)
    return inserted


def xp_award_many(awards: list[XPAward], *, detect_level_ups: bool = True) -> XPAwardResult:
    """Append XP awards (idempotent per key). Must run inside the caller's transaction; returns
    the audit entries for the caller's single audit append at the end of that transaction."""
    awards = [a for a in awards if a.amount]
    if not awards:
        return XPAwardResult([], [], [])
    existing = set(
        XPEntry.objects.filter(idempotency_key__in=[a.idempotency_key for a in awards]).values_list(
            "idempotency_key", flat=True
        )
    )
    awards = [a for a in awards if a.idempotency_key not in existing]
    if not awards:
        return XPAwardResult([], [], [])
    recipients = sorted({a.partner_id for a in awards})
    before = xp_balances(recipients) if detect_level_ups else {}

    now = timezone.now()
    by_key = {a.idempotency_key: a for a in awards}
    inserted = _insert_entries([_entry(a, now) for a in awards])
    gained: dict[int, int] = defaultdict(int)
    for entry in inserted:
        gained[entry.partner_id] += entry.amount
    XPDelta.objects.bulk_create([XPDelta(partner_id=pid, amount=amount) for pid, amount in gained.items()])
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
        for partner_id, amount in gained.items():
            old_level = level_for_xp(before.get(partner_id, 0))
            new_level = level_for_xp(before.get(partner_id, 0) + amount)
            if new_level > old_level:
                level_ups.append((partner_id, old_level, new_level))
        audit_entries.extend(_level_up_effects(level_ups, now))
    return XPAwardResult(inserted, audit_entries, level_ups)


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
    Notification.objects.bulk_create(
        [
            Notification(
                partner_id=partner_id,
                kind="level_up",
                title=f"Level {new} reached",
                body=f"You reached level {new} ({rank_for_level(new)}).",
                data={"level": new, "previous_level": old, "rank": rank_for_level(new)},
                dedupe_key=f"level_up:{partner_id}:{new}",
                created_at=now,
            )
            for partner_id, old, new in level_ups
        ],
        ignore_conflicts=True,
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
    rows are locked in primary-key order so folders never deadlock each other."""
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
        for balance in balances:
            balance.xp += totals[balance.partner_id]
            balance.folded_at = now
        XPBalance.objects.bulk_update(balances, ["xp", "folded_at"], batch_size=1000)
        XPDelta.objects.filter(id__in=[row[0] for row in rows]).delete()
        return len(rows)


def xp_fold_all(*, batch_size: int = 5000) -> int:
    total = 0
    while folded := xp_fold_deltas(batch_size=batch_size):
        total += folded
    return total
