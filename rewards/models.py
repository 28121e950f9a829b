"""XP ledger (SPEC §12): every XP movement is an append-only row; a balance is the sum of rows.

Hot leaders are ancestors of every signup beneath them, so signups never update a balance row.
They append ledger rows plus small `XPDelta` rows; `rewards.services.xp_fold_deltas` folds
deltas into `XPBalance` in batches (Celery beat, every minute), and reads add the unfolded
deltas, so a balance is exact at every moment: ledger sum == folded + unfolded deltas.
"""

from django.db import models
from django.utils import timezone

from audit.models import append_only_triggers
from partners.models import Partner

_APPEND_ONLY = "XP ledger rows are append-only; write a correction row instead"


class XPEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise RuntimeError(_APPEND_ONLY)

    def delete(self):
        raise RuntimeError(_APPEND_ONLY)

    def bulk_update(self, objs, fields, batch_size=None):
        raise RuntimeError(_APPEND_ONLY)


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
        # SPEC §12: behind the ORM guards, PostgreSQL itself refuses to edit, delete or
        # truncate ledger rows (folding touches XPDelta / XPBalance only, never this table).
        triggers = append_only_triggers("xp_entry")

    def __str__(self) -> str:
        return f"{self.amount:+} XP {self.kind} → {self.partner_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError(_APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError(_APPEND_ONLY)


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

    def __str__(self) -> str:
        return f"{self.partner_id}: {self.amount:+} XP (unfolded)"


# --- Check-ins and streaks (SPEC §5) ---------------------------------------------------------


class CheckIn(models.Model):
    """One row per member per UTC day: the unique constraint is what makes "one check-in a day"
    hold under concurrency. Rows are never edited."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="checkins")
    day = models.DateField()
    streak = models.PositiveIntegerField()
    xp = models.PositiveIntegerField()
    bonus_xp = models.PositiveIntegerField(default=0)
    was_pro = models.BooleanField(default=False)
    # ISO week ("2025-W07") of the missed day a PRO freeze bridged; unique per member, so the
    # database itself refuses a second freeze in one ISO week.
    freeze_week = models.CharField(max_length=8, null=True, blank=True)  # noqa: DJ001 - NULL: no freeze
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "day"], name="checkin_once_per_day"),
            models.UniqueConstraint(
                fields=["partner", "freeze_week"],
                condition=models.Q(freeze_week__isnull=False),
                name="checkin_one_freeze_per_iso_week",
            ),
        ]
        indexes = [models.Index(fields=["partner", "-day"], name="checkin_partner_newest")]

    def __str__(self) -> str:
        return f"{self.partner_id} checked in {self.day} (streak {self.streak})"


class Streak(models.Model):
    """Folded streak state per member (what the latest check-in left behind). The check-in
    service locks this row, so one member's check-ins are serialized without touching anyone
    else's rows."""

    partner = models.OneToOneField(Partner, primary_key=True, on_delete=models.PROTECT, related_name="streak")
    current = models.PositiveIntegerField(default=0)
    longest = models.PositiveIntegerField(default=0)
    last_checkin_date = models.DateField(null=True, blank=True, db_index=True)
    # When `current` was reached: the leaderboard tie-break ("whoever got there first").
    last_checkin_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.partner_id}: streak {self.current} (longest {self.longest})"


class Badge(models.Model):
    class Code(models.TextChoices):
        STREAK_7 = "streak_7", "7-day streak"
        STREAK_30 = "streak_30", "30-day streak"
        STREAK_100 = "streak_100", "100-day streak"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="badges")
    code = models.CharField(max_length=32, choices=Code.choices)
    earned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "code"], name="badge_once_per_partner")]

    def __str__(self) -> str:
        return f"{self.partner_id}: {self.code}"


# --- Tasks (SPEC §6) --------------------------------------------------------------------------


class Task(models.Model):
    class Type(models.TextChoices):
        SOCIAL = "social"
        ACTION = "action"
        REFERRAL = "referral"

    # Stable public id used in URLs (`/api/v1/tasks/invite_3_friends/claim/`).
    id = models.SlugField(max_length=64, primary_key=True)
    type = models.CharField(max_length=12, choices=Type.choices)
    title = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True, default="")
    reward_xp = models.PositiveIntegerField(help_text="Base XP; PRO members earn this x PRO_XP_MULTIPLIER.")
    requirement = models.PositiveIntegerField(default=1, help_text="Referrals / consecutive check-ins needed; 1 for social tasks.")
    url = models.URLField(blank=True, default="")
    telegram_chat_id = models.CharField(
        max_length=64, blank=True, default="",
        help_text="@username or numeric id; when set, claiming checks chat membership through the Bot API.",
    )
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.id


class TaskProgress(models.Model):
    """A member's state on one task: started (snapshot taken) and, once, completed."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="task_progress")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="progress")
    started_at = models.DateTimeField(default=timezone.now)
    snapshot = models.JSONField(default=dict, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    awarded_xp = models.PositiveIntegerField(default=0)
    # Last start / claim attempt: the stale-task cleanup looks at this.
    touched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "task progress"
        constraints = [models.UniqueConstraint(fields=["partner", "task"], name="task_progress_once")]
        indexes = [
            models.Index(fields=["touched_at"], condition=models.Q(completed_at__isnull=True), name="task_progress_open"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id}: {self.task_id} ({'completed' if self.completed_at else 'started'})"


# --- Levels reached (SPEC §7) ----------------------------------------------------------------


class LevelReached(models.Model):
    """A member reached an XP level. Unique per (partner, level), so a level-up is announced
    (LEVEL_UP audit row + notification) exactly once, by whichever writer inserts the row first:
    the award's own transaction when it sees the crossing, or the fold job, which re-checks every
    crossing from the committed balance under the balance row lock (two concurrent awards that
    cross a level only together are both blind to it; the fold is not)."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveIntegerField()
    reached_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "levels reached"
        constraints = [models.UniqueConstraint(fields=["partner", "level"], name="level_reached_once")]

    def __str__(self) -> str:
        return f"{self.partner_id} reached level {self.level}"
