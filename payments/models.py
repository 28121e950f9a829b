"""PRO payments, subscriptions, the USDT ledger and payouts (SPEC §3-§4, §12).

Money rules encoded here: amounts are `Decimal` columns (USD to the cent, USDT to 6 places,
TON in integer nanotons); ledger rows are append-only (ORM guards; corrections are new rows);
every transaction hash can pay at most one payment (unique constraints); foreign keys from
money rows are PROTECT.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from audit.models import append_only_triggers
from partners.models import Partner

USD = {"max_digits": 12, "decimal_places": 2}
USDT = {"max_digits": 24, "decimal_places": 6}


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise RuntimeError("USDT ledger rows are append-only; write an opposite row instead")

    def delete(self):
        raise RuntimeError("USDT ledger rows are append-only; write an opposite row instead")

    def bulk_update(self, objs, fields, batch_size=None):
        raise RuntimeError("USDT ledger rows are append-only; write an opposite row instead")


class Payment(models.Model):
    """One payment session (invoice) for the PRO plan. Only `payments.services` changes it."""

    class Method(models.TextChoices):
        TON = "TON"
        USDT = "USDT"

    class Status(models.TextChoices):
        PENDING = "pending"
        COMPLETED = "completed"
        EXPIRED = "expired"
        UNDER_REVIEW = "under_review"
        REJECTED = "rejected"
        REFUNDED = "refunded"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=4, choices=Method.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    plan = models.CharField(max_length=32)
    duration_days = models.PositiveSmallIntegerField()
    price_usd = models.DecimalField(**USD)
    # What the member is asked to send: TON with 9 places (= nanotons / 1e9), USDT with 6.
    amount = models.DecimalField(max_digits=30, decimal_places=9)
    currency = models.CharField(max_length=4)
    amount_nanotons = models.BigIntegerField(null=True, blank=True)
    ton_usd_rate = models.DecimalField(max_digits=24, decimal_places=9, null=True, blank=True)
    memo = models.CharField(max_length=16, unique=True)
    address = models.CharField(max_length=128)
    expires_at = models.DateTimeField()
    # The transfer that paid (or was submitted for) this payment; one payment per hash.
    tx_hash = models.CharField(max_length=128, unique=True, null=True, blank=True)
    received_nanotons = models.BigIntegerField(null=True, blank=True)
    review_reason = models.CharField(max_length=32, blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["partner", "-id"], name="payment_partner_newest"),
            models.Index(fields=["status", "method", "expires_at"], name="payment_status_method_exp"),
            models.Index(fields=["status", "completed_at"], name="payment_status_completed"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(price_usd__gt=0), name="payment_price_positive"),
            models.CheckConstraint(
                condition=~models.Q(method="TON") | models.Q(amount_nanotons__gt=0, ton_usd_rate__gt=0),
                name="payment_ton_has_quote",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment #{self.pk} {self.method} {self.status} ({self.memo})"

    @property
    def ton_link(self) -> str | None:
        if self.method != self.Method.TON:
            return None
        return f"ton://transfer/{self.address}?amount={self.amount_nanotons}&text={self.memo}"


class Subscription(models.Model):
    """One paid PRO period. `partner.pro_expires_at` is the end of the member's latest active
    period; refunds cut a period short and pull later periods forward."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        REFUNDED = "refunded"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="subscriptions")
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="subscription")
    plan = models.CharField(max_length=32)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["partner", "ends_at"], name="subscription_partner_end")]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gte=models.F("starts_at")), name="subscription_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.starts_at:%Y-%m-%d}→{self.ends_at:%Y-%m-%d} ({self.status})"


class TonTransfer(models.Model):
    """Every incoming TON transfer the poller has seen, once (the hash is unique), with what was
    done with it. Anything but `matched` needs a human look and is never auto-credited."""

    class Status(models.TextChoices):
        MATCHED = "matched"  # paid its session
        UNDERPAID = "underpaid"  # memo matched, value below the tolerance
        LATE = "late"  # memo matched, arrived after the session expired
        BOUNCED = "bounced"  # bounced or aborted: the money did not stay with us
        UNMATCHED = "unmatched"  # no session has this comment
        DUPLICATE_MEMO = "duplicate_memo"  # the session was already paid / under review
        MALFORMED = "malformed"  # odd bytes or fields the poller could not use; see `detail`

    NEEDS_REVIEW = (
        Status.UNDERPAID,
        Status.LATE,
        Status.BOUNCED,
        Status.UNMATCHED,
        Status.DUPLICATE_MEMO,
        Status.MALFORMED,
    )

    tx_hash = models.CharField(max_length=128, unique=True)
    lt = models.BigIntegerField()
    utime = models.DateTimeField()
    source = models.CharField(max_length=128, blank=True, default="")
    value_nanotons = models.BigIntegerField()
    comment = models.CharField(max_length=512, blank=True, default="")
    bounced = models.BooleanField(default=False)
    aborted = models.BooleanField(default=False)
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="ton_transfers"
    )
    status = models.CharField(max_length=16, choices=Status.choices)
    # Why a malformed transfer could not be used (for staff); empty otherwise.
    detail = models.CharField(max_length=255, blank=True, default="")
    seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution_note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["status", "resolved_at"], name="tontransfer_review")]

    def __str__(self) -> str:
        return f"{self.tx_hash[:12]}… {self.value_nanotons} nTON {self.status}"


class TonPollCursor(models.Model):
    """How far the TON poller has read a wallet's transactions: every transaction with a
    logical time below `next_lt` has been handled (recorded in TonTransfer or not a transfer).
    The next poll asks the indexer from here, so a run bounded to a few pages resumes where the
    last one stopped instead of starting again. Only ever moves forward."""

    account = models.CharField(max_length=128, unique=True)
    next_lt = models.BigIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.account[:12]}… from lt {self.next_lt}"


class USDTAccount(models.Model):
    """The row a member's withdrawals lock (FOR UPDATE) so concurrent payout requests run one
    at a time per member. It holds no balance: balances are always sums of ledger rows."""

    partner = models.OneToOneField(Partner, primary_key=True, on_delete=models.PROTECT, related_name="usdt_account")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"USDT account of partner {self.partner_id}"


class Payout(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested"
        APPROVED = "approved"
        REJECTED = "rejected"

    class Network(models.TextChoices):
        TON = "TON"
        TRC20 = "TRC20"
        ERC20 = "ERC20"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="payouts")
    amount = models.DecimalField(**USDT)
    address = models.CharField(max_length=128)
    network = models.CharField(max_length=8, choices=Network.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    tx_hash = models.CharField(max_length=128, unique=True, null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_note = models.CharField(max_length=500, blank=True, default="")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["partner", "-id"], name="payout_partner_newest"),
            models.Index(fields=["status", "requested_at"], name="payout_status_requested"),
        ]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="payout_amount_positive")]

    def __str__(self) -> str:
        return f"Payout #{self.pk} {self.amount} USDT {self.status}"


class USDTEntry(models.Model):
    """One USDT movement. A member's balance is the sum of their rows; `available` is the sum of
    rows whose `available_at` has passed (commissions are held, debits count at once)."""

    class Kind(models.TextChoices):
        COMMISSION = "commission"
        COMMISSION_REVERSAL = "commission_reversal"
        PAYOUT_RESERVE = "payout_reserve"
        PAYOUT_RELEASE = "payout_release"
        CORRECTION = "correction"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="usdt_entries")
    amount = models.DecimalField(**USDT)  # signed
    kind = models.CharField(max_length=20, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    # The buyer, for commissions and their reversals.
    related_partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="usdt_entries")
    payout = models.ForeignKey(Payout, null=True, blank=True, on_delete=models.PROTECT, related_name="usdt_entries")
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    # Frozen at payment time: the commission rate and the USD price it applied to.
    rate = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    base_amount = models.DecimalField(null=True, blank=True, **USD)
    available_at = models.DateTimeField()
    idempotency_key = models.CharField(max_length=128, unique=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "USDT ledger entry"
        verbose_name_plural = "USDT ledger"
        indexes = [
            models.Index(fields=["partner", "-id"], name="usdt_partner_newest"),
            models.Index(fields=["partner", "available_at", "amount"], name="usdt_partner_available"),
            models.Index(fields=["kind", "created_at"], name="usdt_kind_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="usdt_amount_nonzero"),
            models.UniqueConstraint(
                fields=["payment", "level"], condition=models.Q(kind="commission"), name="usdt_commission_once"
            ),
        ]
        # Behind the ORM guards, PostgreSQL itself refuses to edit or delete ledger rows.
        triggers = append_only_triggers("usdt_entry")

    def __str__(self) -> str:
        return f"{self.amount:+} USDT {self.kind} → {self.partner_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("USDT ledger rows are append-only; write an opposite row instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("USDT ledger rows are append-only; write an opposite row instead")


class CommissionDay(models.Model):
    """Commission ledger rows folded per UTC day and level, for the staff figures at scale
    (`payments.services.stats.commission_stats_fold`, Celery beat). Only days up to the fold
    watermark (`StatsFold`) are here; the selectors add the live rows after it, so the figures
    stay exact between folds."""

    day = models.DateField()
    level = models.PositiveSmallIntegerField()
    paid = models.DecimalField(**USDT)  # sum of commission rows (positive)
    reversed = models.DecimalField(**USDT)  # sum of reversal rows (negative or zero)
    paid_count = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "level"], name="commission_day_level_once")]

    def __str__(self) -> str:
        return f"{self.day} L{self.level}: {self.paid} paid, {self.reversed} reversed"


class PartnerEarning(models.Model):
    """A member's commissions net of reversals over the folded days (see CommissionDay)."""

    partner = models.OneToOneField(Partner, primary_key=True, on_delete=models.PROTECT, related_name="+")
    total = models.DecimalField(**USDT)

    class Meta:
        indexes = [models.Index(fields=["-total", "partner"], name="partner_earning_top")]

    def __str__(self) -> str:
        return f"{self.partner_id}: {self.total}"


class StatsFold(models.Model):
    """Fold watermark: every UTC day up to and including `through` is in the summary tables."""

    name = models.CharField(max_length=32, primary_key=True)
    through = models.DateField()
    folded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} through {self.through}"


class ProBuyer(models.Model):
    """A member who completed a PRO purchase (refunded later or not), for the staff PRO
    conversion figure at scale; folded per closed UTC day like CommissionDay."""

    partner = models.OneToOneField(Partner, primary_key=True, on_delete=models.PROTECT, related_name="+")
    first_purchase_day = models.DateField()

    def __str__(self) -> str:
        return f"{self.partner_id} since {self.first_purchase_day}"


class PaymentDay(models.Model):
    """Completed PRO purchases (refunded later or not) per UTC day of completion, folded."""

    day = models.DateField(primary_key=True)
    purchases = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.day}: {self.purchases}"
