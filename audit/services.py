"""Writing audit rows. Services call `audit_record` / `audit_record_many` inside their own
transaction, as their last write: the chain head is locked from here to commit, so the shorter
that stretch, the less concurrent writers wait on each other."""

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditChainHead, AuditLog
from p2phub.db import insert_sql
from p2phub.middleware import current_request_context

_HEAD_ID = 1


@dataclass
class AuditEntry:
    event_type: str
    partner_id: int | None = None
    related_partner_id: int | None = None
    amount: Decimal | int | None = None
    currency: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    actor: Any = None  # a django User (staff) or None for the system / the member themself
    actor_label: str = ""


def _without_nul(value: Any) -> Any:
    """PostgreSQL's jsonb cannot hold U+0000; member-sent text (a referral code, a name) may."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _json_safe(metadata: dict[str, Any]) -> dict[str, Any]:
    # Store exactly what the hash covers: JSON-native values only (Decimals become strings).
    return _without_nul(json.loads(json.dumps(metadata or {}, cls=DjangoJSONEncoder)))


def _chain_head_locked(cursor) -> str:
    """The hash of the newest committed audit row, with the chain head locked until commit
    (PostgreSQL; SQLite serializes writers anyway, IMMEDIATE transactions). The head row is
    created on first use (a new or flushed database) from the newest row itself."""
    head = connection.ops.quote_name(AuditChainHead._meta.db_table)
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    cursor.execute(f"SELECT hash FROM {head} WHERE id = %s{lock}", [_HEAD_ID])
    row = cursor.fetchone()
    if row is None:
        log = connection.ops.quote_name(AuditLog._meta.db_table)
        cursor.execute(
            f"INSERT INTO {head} (id, hash) VALUES (%s, COALESCE((SELECT hash FROM {log} ORDER BY id DESC LIMIT 1), %s)) "
            "ON CONFLICT (id) DO NOTHING",
            [_HEAD_ID, AuditLog.GENESIS_HASH],
        )
        cursor.execute(f"SELECT hash FROM {head} WHERE id = %s{lock}", [_HEAD_ID])
        row = cursor.fetchone()
    return row[0]


def audit_record_many(entries: list[AuditEntry], *, foreign_keys_locked: bool = False) -> list[AuditLog]:
    """Append the entries to the chain, in the caller's transaction.

    Django's PostgreSQL foreign keys are checked at COMMIT (DEFERRABLE INITIALLY DEFERRED), and
    each check takes a KEY SHARE lock on the referenced row. Taken after the chain head lock,
    such a lock can close a cycle: this transaction holds the head and waits at COMMIT for a row
    that a payment holds FOR UPDATE while it waits for the head. So by default the transaction's
    foreign keys are checked here, before the head is locked (SET CONSTRAINTS ALL IMMEDIATE).
    `foreign_keys_locked=True` skips that statement: the caller guarantees it already holds (at
    least) KEY SHARE on every row its foreign keys reference, taken before this call (the signup
    and the check-in take them in statements they run anyway), so its checks at COMMIT wait for
    nobody."""
    if not entries:
        return []
    context = current_request_context()
    now = timezone.now()
    # No savepoint: an audit append that fails must fail the caller's whole transaction.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not foreign_keys_locked:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        prev_hash = _chain_head_locked(cursor)
        rows = []
        for entry in entries:
            actor_label = entry.actor_label or (f"staff:{entry.actor.pk}" if entry.actor else "system")
            row = AuditLog(
                event_type=entry.event_type,
                partner_id=entry.partner_id,
                related_partner_id=entry.related_partner_id,
                amount=None if entry.amount is None else Decimal(entry.amount).quantize(Decimal("0.000001")),
                currency=entry.currency,
                metadata=_json_safe(entry.metadata),
                actor=entry.actor,
                actor_label=actor_label[:64],
                ip=context.ip,
                user_agent=context.user_agent,
                request_id=context.request_id,
                created_at=now,
                prev_hash=prev_hash,
            )
            row.hash = row.compute_hash(prev_hash)
            prev_hash = row.hash
            rows.append(row)
        head = connection.ops.quote_name(AuditChainHead._meta.db_table)
        insert, params = insert_sql(AuditLog, rows, returning=("id", "hash"))
        if connection.vendor == "postgresql":
            # One statement: the rows and the new tip (the head row is locked by this transaction).
            cursor.execute(f"WITH tip AS (UPDATE {head} SET hash = %s WHERE id = %s) {insert}", [prev_hash, _HEAD_ID, *params])
            ids = dict((hash_, pk) for pk, hash_ in cursor.fetchall())
        else:
            cursor.execute(insert, params)
            ids = dict((hash_, pk) for pk, hash_ in cursor.fetchall())
            cursor.execute(f"UPDATE {head} SET hash = %s WHERE id = %s", [prev_hash, _HEAD_ID])
    for row in rows:
        row.pk = ids[row.hash]
        row._state.adding = False
        row._state.db = connection.alias
    return rows


def audit_record(event_type: str, **fields: Any) -> AuditLog:
    return audit_record_many([AuditEntry(event_type=event_type, **fields)])[0]
