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


# --- Sharing and attribution (SPEC §10) ---------------------------------------------------------


class Platform(models.TextChoices):
    """Where a link was shared. The compact tags that carry them live in partners.links."""

    TELEGRAM = "telegram", "Telegram"
    WHATSAPP = "whatsapp", "WhatsApp"
    X = "x", "X"
    FACEBOOK = "facebook", "Facebook"
    LINKEDIN = "linkedin", "LinkedIn"
    REDDIT = "reddit", "Reddit"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    QR = "qr", "QR code"
    COPY = "copy", "Copied link"
    DIRECT = "direct", "No platform"  # a plain link: clicks and signups without a platform tag


# The eight platforms the share kit builds share URLs for, in display order.
SHARE_PLATFORMS = [
    Platform.TELEGRAM,
    Platform.WHATSAPP,
    Platform.X,
    Platform.FACEBOOK,
    Platform.LINKEDIN,
    Platform.REDDIT,
    Platform.EMAIL,
    Platform.SMS,
]
# What a share event may name: a share button, the QR code or copy-link (never "direct").
SHARE_EVENT_PLATFORMS = [*SHARE_PLATFORMS, Platform.QR, Platform.COPY]


class ShareEvent(models.Model):
    """A member used a share button (POST /api/v1/share/events/)."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    platform = models.CharField(max_length=16, choices=Platform.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["partner", "platform"], name="share_event_partner"),
            models.Index(fields=["created_at"], name="share_event_created"),
        ]

    def __str__(self) -> str:
        return f"share {self.platform} by {self.partner_id}"


class ShareClick(models.Model):
    """One `GET /r/<code>` for a known code. Every click is kept; `counted` says whether the
    funnel counts it: not from a bot-like user agent, and no counted click on the same link
    from the same hashed IP within the hour before."""

    referrer = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    platform = models.CharField(max_length=16, choices=Platform.choices, default=Platform.DIRECT)
    # HMAC-SHA256 with IP_HASH_SALT (referrals.fraud.hash_value): raw IPs are never stored.
    ip_hash = models.CharField(max_length=64, blank=True, default="")
    user_agent = models.CharField(max_length=512, blank=True, default="")
    is_bot = models.BooleanField(default=False)
    counted = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # The funnel of one member, and the "counted click from this IP in the hour" check.
            models.Index(fields=["referrer", "ip_hash", "created_at"], name="share_click_dedupe"),
            models.Index(fields=["created_at"], name="share_click_created"),
        ]

    def __str__(self) -> str:
        return f"click {self.platform} on {self.referrer_id}{'' if self.counted else ' (not counted)'}"


class ReferralAttribution(models.Model):
    """How a referred member arrived: written by the signup (partner_join → the referral step)
    in the join transaction, for every member who joined under a referrer."""

    new_member = models.OneToOneField(Partner, on_delete=models.PROTECT, related_name="referral_attribution")
    referrer = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    platform = models.CharField(max_length=16, choices=Platform.choices, default=Platform.DIRECT)
    channel = models.CharField(max_length=16, blank=True, default="")  # mini_app | web | bot | ...
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["referrer", "platform"], name="attribution_referrer")]

    def __str__(self) -> str:
        return f"member {self.new_member_id} via {self.platform} from {self.referrer_id}"


class ShareTemplate(models.Model):
    """A ready-made share message, seeded by a data migration and editable in admin.

    Variables: {name} {link} {earnings} {referrals} {community} (referrals.templates). A part in
    square brackets is optional: it is dropped when a figure in it is zero or unknown, so a
    message is never sent with an invented or empty number. The figures ({earnings},
    {referrals}, {community}) may only appear inside such a part."""

    class Tone(models.TextChoices):
        CASUAL = "casual"
        PROFESSIONAL = "professional"
        EXCITED = "excited"
        TESTIMONIAL = "testimonial"
        URGENCY = "urgency"
        VALUE = "value"
        SOCIAL_PROOF = "social_proof", "Social proof"

    class Language(models.TextChoices):
        EN = "en", "English"
        RU = "ru", "Русский"

    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    # Empty: any platform; otherwise the platform the message is written for (length, register).
    platform = models.CharField(
        max_length=16, blank=True, default="", choices=[(p.value, p.label) for p in SHARE_PLATFORMS]
    )
    tone = models.CharField(max_length=16, choices=Tone.choices)
    title = models.CharField(max_length=120)
    body = models.TextField(
        max_length=1000,
        help_text=(
            "Variables: {name}, {link}, {earnings}, {referrals}, {community}. Put every figure "
            "({earnings}, {referrals}, {community}) inside [square brackets]: that part is left "
            "out when the member's figure is zero or unknown."
        ),
    )
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=100)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["language", "sort_order", "id"]
        indexes = [models.Index(fields=["language", "is_active", "sort_order"], name="share_template_lang")]

    def __str__(self) -> str:
        return f"[{self.language}] {self.title}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from referrals.share_templates import TemplateError, template_validate

        try:
            template_validate(self.body)
        except TemplateError as error:
            raise ValidationError({"body": str(error)}) from None
