"""Tasks: the catalogue with the member's progress (rewards.selectors.task_states, as
GET /api/v1/tasks/), start and claim (rewards.services.task_start / task_claim)."""

from django.contrib import messages
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import member_page
from dashboard.labels import task_description, task_status, task_title
from dashboard.views.common import back, page, refuse
from p2phub.errors import DomainError
from rewards.selectors import task_states
from rewards.services import task_claim, task_start

TASKS_URL = "/dashboard/tasks/"


@require_GET
@member_page
def tasks(request):
    states = task_states(request.partner)
    rows = [
        {
            "id": s.task.pk,
            "type": s.task.type,
            "title": task_title(s.task),
            "description": task_description(s.task),
            "url": s.task.url,
            "status": s.status,
            "status_label": task_status(s.status),
            "progress": s.progress,
            "requirement": s.requirement,
            "reward_xp": s.reward_xp,
            "awarded_xp": s.awarded_xp,
            "claimable": s.status == "started" and s.progress >= s.requirement,
        }
        for s in states
    ]
    return page(request, "dashboard/tasks.html", "tasks", {"rows": rows})


@require_POST
@member_page
def task_start_view(request, task_id: str):
    try:
        state = task_start(partner=request.partner, task_id=task_id)
    except DomainError as error:
        return refuse(request, error, TASKS_URL)
    messages.success(request, _("Task started: %(task)s.") % {"task": task_title(state.task)})
    return back(request, TASKS_URL)


@require_POST
@member_page
def task_claim_view(request, task_id: str):
    try:
        awarded, state = task_claim(partner=request.partner, task_id=task_id)
    except DomainError as error:
        params = {}
        if error.code == "requirement_not_met":
            current = next(iter(task_states(request.partner, task_id=task_id)), None)
            params = {"progress": current.progress if current else 0, "requirement": current.requirement if current else 0}
        return refuse(request, error, TASKS_URL, **params)
    messages.success(request, _("Reward claimed: +%(xp)s XP for %(task)s.") % {"xp": awarded, "task": task_title(state.task)})
    return back(request, TASKS_URL)
