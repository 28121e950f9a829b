"""Referral engine state (SPEC §2).

Paid awards live in the XP ledger (`rewards.XPEntry`); this app keeps what the ledger cannot:
hashed IP / device sightings for fraud scoring, signups whose awards are held or blocked for
review, and the rare signups whose award step failed and is retried.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from partners.models import Partner


class PartnerSighting(models.Model):
    """A member was seen on a (hashed) IP address or device fingerprint. One row per value,
    `last_seen` refreshed at most once a day, so the table grows with distinct values only."""

    class Kind(models.TextChoices):
        IP = "ip"
        DEVICE = "device"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # HMAC-SHA256 with IP_HASH_SALT: raw IPs and fingerprints are never stored.
    value_hash = models.CharField(max_length=64)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "kind", "value_hash"], name="sighting_once_per_value"),
        ]
        indexes = [
            # "How many members used this IP in the window" (shared carrier / office NAT).
            models.Index(fields=["kind", "value_hash", "last_seen"], name="sighting_value_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.kind} {self.value_hash[:10]}…"


class ReferralReview(models.Model):
    """One signup whose referral awards were held (score 31-70) or blocked (71+).

    The awards are frozen here as they would have been paid at signup (PRO x5 included);
    approving pays exactly these, with the same idempotency keys as a normal payout."""

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        BLOCKED = "blocked"

    new_member = models.OneToOneField(Partner, on_delete=models.PROTECT, related_name="referral_review")
    referrer = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField()
    # [{"code": "same_ip_as_referrer", "points": 40}, ...]
    reasons = models.JSONField(default=list)
    # The reason codes joined by commas, for filtering on every database (SQLite has no JSON
    # containment lookup).
    reason_codes = models.CharField(max_length=255, blank=True, default="")
    # [{"partner_id": 7, "level": 1, "amount": 35}, ...]
    awards = models.JSONField(default=list)
    total_xp = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["status", "-score", "id"], name="review_queue"),
            models.Index(fields=["referrer", "status"], name="review_referrer_status"),
        ]

    def __str__(self) -> str:
        return f"review #{self.pk} member={self.new_member_id} score={self.score} {self.status}"


class ReferralAwardRetry(models.Model):
    """A signup whose award step raised. Written in the join transaction (after rolling the
    award step back to its savepoint), so the pending award commits with the member and is
    retried by Celery with backoff until done: never lost, and paid once by the ledger keys."""

    new_member = models.OneToOneField(Partner, on_delete=models.PROTECT, related_name="+")
    # Hashed signup signals (SignupSignals.as_dict()), so a retry scores the signup the same way.
    signals = models.JSONField(default=dict)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "referral award retry"
        verbose_name_plural = "referral award retries"
        indexes = [models.Index(fields=["done_at", "next_attempt_at"], name="award_retry_due")]

    def __str__(self) -> str:
        return f"award retry member={self.new_member_id} attempts={self.attempts}"
