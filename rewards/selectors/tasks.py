"""Reads for the task catalogue (SPEC §6): each task's state and progress for one member,
with a fixed number of queries whatever the catalogue size."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from partners.models import Partner
from rewards.leaderboards.periods import utc_day
from rewards.models import CheckIn, Streak, Task, TaskProgress
from rewards.streaks import live_streak


@dataclass
class TaskState:
    task: Task
    status: str  # available / started / completed
    progress: int
    requirement: int
    reward_xp: int
    started_at: datetime | None
    completed_at: datetime | None
    awarded_xp: int


def task_reward_xp(task: Task, *, is_pro: bool) -> int:
    return task.reward_xp * (settings.PRO_XP_MULTIPLIER if is_pro else 1)


def referral_counts(partner: Partner, starts: dict[str, datetime]) -> dict[str, int]:
    """Direct referrals who joined after each task's start, in one query. Referrals that are
    banned or held for fraud review do not count (they would make tasks farmable)."""
    if not starts:
        return {}
    qs = Partner.objects.filter(referrer_id=partner.pk, fraud_hold=False).exclude(status=Partner.Status.BANNED)
    aggregates = {
        task_id: Count("pk", filter=Q(joined_at__gt=started_at)) for task_id, started_at in starts.items()
    }
    return qs.order_by().aggregate(**aggregates)


def checkin_run_progress(partner: Partner, started_at: datetime, requirement: int) -> int:
    """Consecutive check-ins after the start. Each check-in carries its streak, so the run it
    ends (counting only check-ins after the start) is min(streak, check-ins since start). A
    broken streak restarts the count; a run that already reached the requirement keeps the
    task claimable."""
    streaks = list(
        CheckIn.objects.filter(partner_id=partner.pk, created_at__gte=started_at).order_by("day").values_list("streak", flat=True)
    )
    current = 0
    for position, streak in enumerate(streaks, start=1):
        current = min(streak, position)
        if current >= requirement:
            return requirement
    if current:
        # A run that can no longer be continued (missed day, no PRO freeze) counts for nothing.
        now = timezone.now()
        last = Streak.objects.filter(partner_id=partner.pk).values_list("last_checkin_date", flat=True).first()
        is_pro = partner.pro_active_at(now)
        weeks = set(
            CheckIn.objects.filter(partner_id=partner.pk, freeze_week__isnull=False).values_list("freeze_week", flat=True)
        ) if is_pro else set()
        if not live_streak(previous_day=last, previous_streak=current, today=utc_day(now), is_pro=is_pro, used_freeze_weeks=weeks):
            return 0
    return current


def _progress(task: Task, row: TaskProgress | None, partner: Partner, referrals: dict[str, int]) -> int:
    if row is None:
        return 0
    if row.completed_at:
        return task.requirement
    if task.type == Task.Type.REFERRAL:
        return min(referrals.get(task.id, 0), task.requirement)
    if task.type == Task.Type.ACTION:
        return checkin_run_progress(partner, row.started_at, task.requirement)
    return task.requirement  # social: opening the link (start) is the progress


def task_states(partner: Partner, *, task_id: str | None = None) -> list[TaskState]:
    """The active catalogue (or one task) with this member's state. Queries: catalogue,
    progress rows, one referral count for all referral tasks, and per started check-in task
    its check-ins (one such task in the seeded catalogue)."""
    now = timezone.now()
    is_pro = partner.pro_active_at(now)
    tasks = Task.objects.filter(is_active=True)
    if task_id is not None:
        tasks = Task.objects.filter(pk=task_id)
    tasks = list(tasks)
    rows = {r.task_id: r for r in TaskProgress.objects.filter(partner_id=partner.pk, task__in=[t.pk for t in tasks])} if tasks else {}
    starts = {
        t.pk: rows[t.pk].started_at
        for t in tasks
        if t.type == Task.Type.REFERRAL and t.pk in rows and not rows[t.pk].completed_at
    }
    referrals = referral_counts(partner, starts)
    states = []
    for task in tasks:
        row = rows.get(task.pk)
        status = "available" if row is None else ("completed" if row.completed_at else "started")
        states.append(
            TaskState(
                task=task, status=status, progress=_progress(task, row, partner, referrals),
                requirement=task.requirement, reward_xp=task_reward_xp(task, is_pro=is_pro),
                started_at=row.started_at if row else None, completed_at=row.completed_at if row else None,
                awarded_xp=row.awarded_xp if row else 0,
            )
        )
    return states
