"""Writing audit rows. Services call `audit_record` / `audit_record_many` inside their own
transaction, as their last write: the chain lock is held from here to commit, so the shorter
that stretch, the less concurrent writers wait on each other."""

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditLog
from p2phub.middleware import current_request_context

# Any constant works; it names "the audit chain head" among PostgreSQL advisory locks.
_CHAIN_LOCK_KEY = 0x50325048_00A0D17


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


def _lock_chain_head() -> None:
    """Serialize chain appends until commit so concurrent writers form one linear chain.
    SQLite already serializes writers (IMMEDIATE transactions), so only PostgreSQL needs it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Check the transaction's deferred foreign keys now: their row locks are then taken
            # before the chain lock, never at COMMIT while holding it (a join/payment deadlock).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


def _json_safe(metadata: dict[str, Any]) -> dict[str, Any]:
    # Store exactly what the hash covers: JSON-native values only (Decimals become strings).
    return json.loads(json.dumps(metadata or {}, cls=DjangoJSONEncoder))


def audit_record_many(entries: list[AuditEntry]) -> list[AuditLog]:
    if not entries:
        return []
    context = current_request_context()
    now = timezone.now()
    # No savepoint: an audit append that fails must fail the caller's whole transaction.
    with transaction.atomic(savepoint=False):
        _lock_chain_head()
        prev_hash = AuditLog.objects.order_by("-id").values_list("hash", flat=True).first() or AuditLog.GENESIS_HASH
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
        return AuditLog.objects.bulk_create(rows)


def audit_record(event_type: str, **fields: Any) -> AuditLog:
    return audit_record_many([AuditEntry(event_type=event_type, **fields)])[0]
