"""Celery tasks of the staff area."""

from celery import shared_task

from p2phub.staff.selectors import staff_stats_snapshots_refresh


@shared_task(name="p2phub.staff.tasks.staff_stats_snapshots_refresh")
def staff_stats_snapshots_refresh_task() -> list[int]:
    """Beat: the default stats answers, computed once for every staff reader (see the selector)."""
    return staff_stats_snapshots_refresh()
