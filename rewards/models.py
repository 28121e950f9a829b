"""XP ledger (SPEC §12): every XP movement is an append-only row; a balance is the sum of rows.

Hot leaders are ancestors of every signup beneath them, so signups never update a balance row.
They append ledger rows plus small `XPDelta` rows; `rewards.services.xp_fold_deltas` folds
deltas into `XPBalance` in batches (Celery beat, every minute), and reads add the unfolded
deltas, so a balance is exact at every moment: ledger sum == folded + unfolded deltas.
"""

from django.db import models
from django.utils import timezone

from partners.models import Partner


class XPEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise RuntimeError("XP ledger rows are append-only; write a correction row instead")

    def delete(self):
        raise RuntimeError("XP ledger rows are append-only; write a correction row instead")


class XPEntry(models.Model):
    class Kind(models.TextChoices):
        REFERRAL = "referral"
        CHECKIN = "checkin"
        TASK = "task"
        CORRECTION = "correction"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="xp_entries")
    amount = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    related_partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=128, unique=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = XPEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "XP ledger entry"
        verbose_name_plural = "XP ledger"
        indexes = [
            models.Index(fields=["partner", "-id"], name="xp_partner_newest"),
            models.Index(fields=["created_at", "partner"], name="xp_created_partner"),
            models.Index(fields=["related_partner", "kind"], name="xp_source_kind"),
        ]
        constraints = [
            # SPEC §2: each (recipient, new member) referral award exactly once.
            models.UniqueConstraint(
                fields=["partner", "related_partner"],
                condition=models.Q(kind="referral"),
                name="xp_referral_award_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+} XP {self.kind} → {self.partner_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("XP ledger rows are append-only; write a correction row instead")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("XP ledger rows are append-only; write a correction row instead")


class XPBalance(models.Model):
    """Folded XP per partner. Exact balance = xp + the partner's unfolded XPDelta rows."""

    partner = models.OneToOneField(Partner, primary_key=True, on_delete=models.PROTECT, related_name="xp_balance")
    xp = models.BigIntegerField(default=0)
    folded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.partner_id}: {self.xp} XP (folded)"


class XPDelta(models.Model):
    """An XP increment not yet folded into XPBalance. Insert-only for writers; the fold job
    deletes the rows it has folded, in the same transaction as the balance update."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+", db_index=True)
    amount = models.BigIntegerField()
