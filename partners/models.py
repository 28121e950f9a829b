"""Partners: one per person, each a node of one materialized-path referral tree (SPEC §1)."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from treebeard.mp_tree import MP_Node, MP_NodeManager, MP_NodeQuerySet


class PartnerDeletionError(RuntimeError):
    """Deleting an MP node deletes its whole subtree: partners are deactivated, never deleted."""


class PartnerQuerySet(MP_NodeQuerySet):
    def delete(self, *args, **kwargs):
        raise PartnerDeletionError("Partners are never deleted; deactivate or ban them instead.")

    def active(self):
        return self.filter(status=Partner.Status.ACTIVE)


class PartnerManager(MP_NodeManager):
    def get_queryset(self):
        return PartnerQuerySet(self.model, using=self._db).order_by("path")

    def active(self):
        return self.get_queryset().active()


class Partner(MP_Node):
    class Language(models.TextChoices):
        EN = "en", "English"
        RU = "ru", "Русский"

    class Status(models.TextChoices):
        ACTIVE = "active"
        DEACTIVATED = "deactivated"
        BANNED = "banned"

    class LeaderboardVisibility(models.TextChoices):
        VISIBLE = "visible"
        MASKED = "masked"
        HIDDEN = "hidden"

    # Deep chains: 4 characters per level, so 1024 allows 256 levels.
    path = models.CharField(max_length=1024, unique=True)

    telegram_id = models.BigIntegerField(unique=True, null=True, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="partner"
    )
    username = models.CharField(max_length=64, blank=True, default="", db_index=True)
    first_name = models.CharField(max_length=128, blank=True, default="")
    last_name = models.CharField(max_length=128, blank=True, default="")
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    photo_url = models.URLField(max_length=512, blank=True, default="")

    referral_code = models.CharField(max_length=12, unique=True, editable=False)
    # The tree parent at join time, kept next to the path so "who did X refer, and when" is one
    # indexed lookup. Only partners.services writes it (join, and the audited staff move).
    referrer = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="referrals", editable=False
    )

    is_pro = models.BooleanField(default=False)
    pro_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    # Set by the referral engine while this member's signup is held or blocked for fraud review;
    # such members are left out of leaderboards.
    fraud_hold = models.BooleanField(default=False)
    notifications_enabled = models.BooleanField(default=True)
    # Set when Telegram answered 403 (the member blocked the bot): nothing more is sent to them
    # until they /start the bot again, which clears it.
    telegram_blocked_at = models.DateTimeField(null=True, blank=True)
    leaderboard_visibility = models.CharField(
        max_length=8, choices=LeaderboardVisibility.choices, default=LeaderboardVisibility.VISIBLE
    )
    joined_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PartnerManager()

    class Meta:
        indexes = [models.Index(fields=["referrer", "joined_at"], name="partner_referrer_joined")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(referral_code=Upper("referral_code")), name="partner_code_upper_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.referral_code})"

    def delete(self, *args, **kwargs):
        raise PartnerDeletionError("Partners are never deleted; deactivate or ban them instead.")

    @property
    def display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or (f"@{self.username}" if self.username else f"Partner {self.pk}")

    @property
    def is_active_member(self) -> bool:
        return self.status == self.Status.ACTIVE

    def pro_active_at(self, moment) -> bool:
        return bool(self.is_pro and self.pro_expires_at and self.pro_expires_at > moment)


class PendingAttribution(models.Model):
    """The bot's `/start <code>` for a Telegram user, used when their first Mini App request
    arrives without start_param (some mobile clients drop it)."""

    telegram_id = models.BigIntegerField(unique=True)
    referral_code = models.CharField(max_length=12)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.telegram_id} → {self.referral_code}"


class Delivery(models.TextChoices):
    """Telegram delivery state of one stored message (partners.delivery moves it along)."""

    PENDING = "pending"  # waiting to be sent (or for its retry at next_attempt_at)
    SENDING = "sending"  # claimed by a worker that is calling Telegram right now
    SENT = "sent"
    FAILED = "failed"  # Telegram refused it (400) or retries ran out; last_error says why
    BLOCKED = "blocked"  # the member blocked the bot: nothing is sent until they /start again
    SKIPPED = "skipped"  # member turned messages off, has no Telegram account or is not active
    DIGESTED = "digested"  # L3-L9 activity delivered inside the hourly digest (`digest`)


class DeliveryTracked(models.Model):
    """What the sender records per message: state, attempts, last error, timings."""

    Delivery = Delivery

    delivery = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")
    # When the next attempt is due (a retry's backoff or 429's retry_after); null: at once.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    telegram_message_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        abstract = True


class Notification(DeliveryTracked):
    """In-app copy of every member notification (SPEC §9). Delivery to Telegram is separate and
    tracked here too, so the dashboard shows everything even when the bot cannot reach someone."""

    class Kind(models.TextChoices):
        """Every notification the platform stores (SPEC §9). Texts: partners.notifications."""

        WELCOME = "welcome"  # a new Telegram member's own links, right after they joined
        REFERRAL_L1 = "referral_l1"
        REFERRAL_L2 = "referral_l2"
        REFERRAL_DEEP = "referral_deep"  # L3-L9 activity, sent as an hourly digest
        REFERRAL_DIGEST = "referral_digest"  # the hourly digest of REFERRAL_DEEP rows
        LEVEL_UP = "level_up"
        BADGE_EARNED = "badge_earned"
        COMMISSION = "commission_received"
        COMMISSION_REVERSED = "commission_reversed"
        PRO_ACTIVATED = "pro_activated"
        PAYMENT_APPROVED = "payment_approved"
        PAYMENT_REJECTED = "payment_rejected"
        PAYMENT_UNDER_REVIEW = "payment_under_review"
        TASK_REWARD = "task_reward"
        PRO_EXPIRING = "pro_expiring"
        PRO_EXPIRED = "pro_expired"
        STREAK_AT_RISK = "streak_at_risk"
        PAYOUT_APPROVED = "payout_approved"
        PAYOUT_REJECTED = "payout_rejected"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="notifications")
    kind = models.CharField(max_length=48, choices=Kind.choices, db_index=True)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    # Makes "notify once" (level 5 reached, expiry warning at 3 days) a database guarantee.
    dedupe_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    # REFERRAL_DEEP rows: the digest notification that carried them to Telegram.
    digest = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="digested_rows"
    )
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["partner", "-id"], name="notification_partner_newest"),
            # The sweeper's "pending and due" and "stuck in sending" scans, and the digest's.
            models.Index(fields=["delivery", "next_attempt_at"], name="notification_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.partner_id}"


class StaffMessage(DeliveryTracked):
    """A message to the staff chat (TELEGRAM_STAFF_CHAT_ID), e.g. a payment waiting for review.
    Stored and delivered like member notifications (same pacing, retries and statuses)."""

    class Kind(models.TextChoices):
        PAYMENT_UNDER_REVIEW = "payment_under_review"

    kind = models.CharField(max_length=48, choices=Kind.choices)
    text = models.TextField()
    data = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=128, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["delivery", "next_attempt_at"], name="staff_message_delivery_due")]

    def __str__(self) -> str:
        return f"{self.kind} to staff ({self.delivery})"


class TelegramUpdate(models.Model):
    """One Bot API update as received (webhook or polling). The unique update_id makes a
    redelivered update a no-op; the row is processed once, by a Celery task."""

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSING = "processing"
        DONE = "done"
        FAILED = "failed"

    update_id = models.BigIntegerField(unique=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"update {self.update_id} ({self.status})"


class WebLoginToken(models.Model):
    """A one-time link from the bot's `/login` into the web dashboard: single use, short-lived,
    and stored only as a SHA-256 digest, so a database leak holds no usable link.
    Written only by partners.login_tokens."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="web_login_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"login link for {self.partner_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class StaffLoginAttempt(models.Model):
    """A failed staff sign-in for one (username, IP) pair; the row that reached the limit carries
    `locked_until`. In the database, not the cache, so the lockout holds when Redis is down.
    Rows of a pair are deleted on its next successful sign-in and pruned as they age out.
    Written only by partners.staff_login."""

    username = models.CharField(max_length=150)  # as typed, trimmed and lower-cased
    ip_hash = models.CharField(max_length=64)  # HMAC-SHA256 with IP_HASH_SALT, never the raw IP
    created_at = models.DateTimeField(default=timezone.now)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["username", "ip_hash", "created_at"], name="staff_login_pair_recent")]

    def __str__(self) -> str:
        return f"{self.username} @ {self.ip_hash[:8]} {self.created_at:%Y-%m-%d %H:%M}"
