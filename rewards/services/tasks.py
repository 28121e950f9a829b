"""Task start / claim (SPEC §6) and the stale-task cleanup."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import EventType
from audit.services import audit_record_many
from p2phub.clients import telegram
from p2phub.clients.errors import PermanentExternalError, TransientExternalError
from p2phub.errors import ConflictError, DomainError, NotFoundError, ServiceUnavailableError
from partners.models import Partner
from partners.notifications import Kind, notification_create
from rewards.models import Streak, Task, TaskProgress, XPEntry
from rewards.selectors.tasks import TaskState, task_reward_xp, task_states
from rewards.services.xp import XPAward, xp_award_many

logger = logging.getLogger(__name__)


def _task(task_id: str, *, active_only: bool) -> Task:
    qs = Task.objects.filter(is_active=True) if active_only else Task.objects.all()
    task = qs.filter(pk=task_id).first()
    if task is None:
        raise NotFoundError(f"Unknown task {task_id!r}.", code="task_not_found")
    return task


def _state(partner: Partner, task: Task) -> TaskState:
    return task_states(partner, task_id=task.pk)[0]


def task_start(*, partner: Partner, task_id: str) -> TaskState:
    """Start a task (idempotent): records when and the starting snapshot the requirement is
    measured from. Starting again only marks the task as touched."""
    task = _task(task_id, active_only=True)
    now = timezone.now()
    streak = Streak.objects.filter(partner_id=partner.pk).values_list("current", flat=True).first() or 0
    snapshot = {
        "direct_referrals": Partner.objects.filter(referrer_id=partner.pk).count(),
        "checkin_streak": streak,
        "requirement": task.requirement,
    }
    _row, created = TaskProgress.objects.get_or_create(
        partner_id=partner.pk, task=task, defaults={"started_at": now, "snapshot": snapshot, "touched_at": now}
    )
    if not created:
        TaskProgress.objects.filter(partner_id=partner.pk, task=task).update(touched_at=now)
    return _state(partner, task)


def _verify_chat_membership(partner: Partner, task: Task) -> None:
    if partner.telegram_id is None:
        raise DomainError(
            "This task checks your Telegram chat membership: sign in through Telegram first.",
            code="telegram_account_required",
        )
    try:
        member = telegram.is_chat_member(task.telegram_chat_id, partner.telegram_id)
    except TransientExternalError as exc:
        raise ServiceUnavailableError(
            "Telegram could not be reached to check your membership. Try again in a minute.",
            code="telegram_unavailable",
        ) from exc
    except PermanentExternalError as exc:
        # Our configuration (bot not in the chat, wrong chat id): staff must fix the catalogue.
        logger.error("Membership check for task %s failed: %s", task.pk, exc)
        raise ServiceUnavailableError(
            "Membership for this task cannot be verified right now.", code="verification_unavailable"
        ) from exc
    if not member:
        raise DomainError("Join the chat first, then claim the reward.", code="not_a_chat_member")


def task_claim(*, partner: Partner, task_id: str) -> tuple[int, TaskState]:
    """Pay a task's reward once per (member, task): the conditional UPDATE on the member's
    progress row decides the single winner, and the ledger's idempotency key backs it up."""
    task = _task(task_id, active_only=False)
    row = TaskProgress.objects.filter(partner_id=partner.pk, task=task).first()
    if row is None:
        if not task.is_active:
            raise NotFoundError(f"Unknown task {task_id!r}.", code="task_not_found")
        raise DomainError("Start the task before claiming it.", code="task_not_started")
    if row.completed_at:
        raise ConflictError("This task's reward was already claimed.", code="already_claimed")
    now = timezone.now()
    TaskProgress.objects.filter(pk=row.pk).update(touched_at=now)
    state = _state(partner, task)
    if state.progress < state.requirement:
        raise DomainError(
            f"Requirement not met. Progress: {state.progress}/{state.requirement}", code="requirement_not_met"
        )
    if task.type == Task.Type.SOCIAL and task.telegram_chat_id:
        _verify_chat_membership(partner, task)
    with transaction.atomic():
        is_pro = Partner.objects.get(pk=partner.pk).pro_active_at(now)
        xp = task_reward_xp(task, is_pro=is_pro)
        won = TaskProgress.objects.filter(pk=row.pk, completed_at__isnull=True).update(
            completed_at=now, awarded_xp=xp, touched_at=now
        )
        if not won:
            raise ConflictError("This task's reward was already claimed.", code="already_claimed")
        award = xp_award_many(
            [
                XPAward(
                    partner_id=partner.pk, amount=xp, kind=XPEntry.Kind.TASK,
                    idempotency_key=f"task:{partner.pk}:{task.pk}",
                    metadata={"task": task.pk, "pro": is_pro, "progress": state.progress},
                    audit_event=EventType.TASK_COMPLETED,
                )
            ]
        )
        notification_create(
            partner=partner, kind=Kind.TASK_REWARD, params={"task": task.title, "xp": xp},
            data={"task": task.pk, "xp": xp}, dedupe_key=f"task:{partner.pk}:{task.pk}",
        )
        audit_record_many(award.audit_entries)
    return xp, _state(partner, task)


def tasks_cleanup_stale(*, now: datetime | None = None, days: int | None = None) -> int:
    """Forget started, never-completed tasks nobody touched (start or claim attempt) for
    STALE_TASK_DAYS: the task is available again and a new start takes a fresh snapshot.
    Completed tasks are never touched (they are the proof of payment)."""
    now = now or timezone.now()
    days = settings.STALE_TASK_DAYS if days is None else days
    deleted, _ = TaskProgress.objects.filter(completed_at__isnull=True, touched_at__lt=now - timedelta(days=days)).delete()
    if deleted:
        logger.info("Removed %s stale started tasks (untouched for %s days)", deleted, days)
    return deleted
