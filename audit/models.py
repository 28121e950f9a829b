"""Append-only, hash-chained audit log (SPEC §11).

`audit` depends on nothing of ours, so partners are referenced by id, not by foreign key
(partners are never deleted, so the ids stay meaningful). Rows are immutable three ways: the ORM
refuses updates and deletes, PostgreSQL triggers reject UPDATE/DELETE/TRUNCATE, and each row's
SHA-256 hash covers its content and the previous row's hash, so an edit made behind both
guards is still found by `manage.py verify_audit_chain`.
"""

import hashlib
import json

import pgtrigger
from django.conf import settings
from django.db import models


class EventType(models.TextChoices):
    PARTNER_JOINED = "partner_joined"
    PARTNER_UPDATED = "partner_updated"
    PARTNER_MOVED = "partner_moved"
    PARTNER_DEACTIVATED = "partner_deactivated"
    PARTNER_BANNED = "partner_banned"
    PARTNER_REACTIVATED = "partner_reactivated"
    REFERRAL_ATTRIBUTION_UNKNOWN_CODE = "referral_unknown_code"
    XP_AWARDED = "xp_awarded"
    XP_CORRECTION = "xp_correction"
    REFERRAL_AWARD_WITHHELD = "referral_award_withheld"
    REFERRAL_AWARD_HELD = "referral_award_held"
    REFERRAL_AWARD_BLOCKED = "referral_award_blocked"
    REFERRAL_AWARD_APPROVED = "referral_award_approved"
    REFERRAL_AWARD_REJECTED = "referral_award_rejected"
    REFERRAL_AWARD_QUEUED = "referral_award_queued"
    CHECKIN = "checkin"
    TASK_COMPLETED = "task_completed"
    LEVEL_UP = "level_up"
    BADGE_EARNED = "badge_earned"
    PAYMENT_CREATED = "payment_created"
    PAYMENT_STATE_CHANGED = "payment_state_changed"
    PAYMENT_COMPLETED = "payment_completed"
    PAYMENT_REFUNDED = "payment_refunded"
    PRO_ACTIVATED = "pro_activated"
    PRO_EXPIRED = "pro_expired"
    PRO_SHORTENED = "pro_shortened"
    COMMISSION_PAID = "commission_paid"
    COMMISSION_REVERSED = "commission_reversed"
    USDT_CORRECTION = "usdt_correction"
    PAYOUT_REQUESTED = "payout_requested"
    PAYOUT_APPROVED = "payout_approved"
    PAYOUT_REJECTED = "payout_rejected"
    STAFF_ACTION = "staff_action"
    SECURITY_AUTH_FAILED = "security_auth_failed"
    SECURITY_STAFF_LOCKED_OUT = "security_staff_locked_out"
    SECURITY_STAFF_DENIED = "security_staff_denied"
    SECURITY_WEBHOOK_REJECTED = "security_webhook_rejected"
    LEDGER_MISMATCH = "ledger_mismatch"
    WEB_SIGNED_IN = "web_signed_in"
    WEB_LOGIN_LINK_ISSUED = "web_login_link_issued"
    TELEGRAM_BLOCKED = "telegram_blocked"
    FRAUD_HOLD_CLEARED = "fraud_hold_cleared"
    TON_TRANSFER_ASSIGNED = "ton_transfer_assigned"


def append_only_triggers(prefix: str) -> list:
    """PostgreSQL triggers that refuse UPDATE, DELETE and TRUNCATE: the database half of an
    append-only table (the audit log and both ledgers), behind the ORM guards."""
    return [
        pgtrigger.Protect(name=f"{prefix}_no_update", operation=pgtrigger.Update),
        pgtrigger.Protect(name=f"{prefix}_no_delete", operation=pgtrigger.Delete),
        pgtrigger.Trigger(
            name=f"{prefix}_no_truncate",
            operation=pgtrigger.Truncate,
            level=pgtrigger.Statement,
            when=pgtrigger.Before,
            func="RAISE EXCEPTION 'pgtrigger: Cannot truncate the append-only table %', TG_TABLE_NAME;",
        ),
    ]


class ImmutableRowError(RuntimeError):
    pass


class AuditLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableRowError("Audit log rows cannot be updated")

    def delete(self):
        raise ImmutableRowError("Audit log rows cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise ImmutableRowError("Audit log rows cannot be updated")


class AuditLog(models.Model):
    event_type = models.CharField(max_length=48, choices=EventType.choices, db_index=True)
    partner_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    related_partner_id = models.BigIntegerField(null=True, blank=True)
    amount = models.DecimalField(max_digits=24, decimal_places=6, null=True, blank=True)
    currency = models.CharField(max_length=8, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=64, blank=True, default="system")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(db_index=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditLogQuerySet.as_manager()

    GENESIS_HASH = "0" * 64

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["partner_id", "-id"], name="audit_partner_newest"),
            models.Index(fields=["event_type", "-id"], name="audit_event_newest"),
        ]
        triggers = append_only_triggers("audit")

    def __str__(self) -> str:
        return f"#{self.pk} {self.event_type} partner={self.partner_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRowError("Audit log rows cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError("Audit log rows cannot be deleted")

    def canonical_payload(self) -> bytes:
        """The exact bytes the row hash covers. Stable across databases and round trips."""
        payload = {
            "event_type": self.event_type,
            "partner_id": self.partner_id,
            "related_partner_id": self.related_partner_id,
            "amount": None if self.amount is None else f"{self.amount:.6f}",
            "currency": self.currency,
            "metadata": self.metadata,
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "request_id": self.request_id,
            "created_at": self.created_at.isoformat(timespec="microseconds"),
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def compute_hash(self, prev_hash: str) -> str:
        return hashlib.sha256(prev_hash.encode() + b"|" + self.canonical_payload()).hexdigest()


class AuditChainHead(models.Model):
    """The hash of the newest audit row: one row (id 1), the chain's lock and its tip at once.

    A writer locks it (`SELECT ... FOR UPDATE`: after waiting, PostgreSQL's READ COMMITTED hands
    back the version the previous writer committed), chains its rows from that hash and moves
    the tip in the statement that inserts them, so concurrent transactions form one linear
    chain with two statements per append. Only `audit.services` writes it; verification never
    trusts it (it recomputes the chain from the rows)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"audit chain head {self.hash[:12]}…"
