"""Periodic rewards jobs, each run by Celery beat and by a manage.py command."""

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from partners.models import Partner
from partners.notifications import Kind, NotificationDraft, notifications_create
from rewards.leaderboards.periods import utc_day
from rewards.models import Streak

logger = logging.getLogger(__name__)
_BATCH = 2000


def streak_reminders_send(*, now: datetime | None = None) -> int:
    """In-app "streak at risk" notifications for active members who checked in yesterday but
    not yet today (SPEC §5). One per member per day by dedupe key, so a re-run (or a Celery
    retry) sends nothing twice. Returns how many were created."""
    now = now or timezone.now()
    today = utc_day(now)
    at_risk = (
        Streak.objects.filter(last_checkin_date=today - timedelta(days=1), current__gt=0, partner__status=Partner.Status.ACTIVE)
        .order_by("partner_id")
        .values_list("partner_id", "current", "partner__language")
    )
    created = 0
    batch: list[NotificationDraft] = []
    for partner_id, streak, language in at_risk.iterator(chunk_size=_BATCH):
        batch.append(
            NotificationDraft(
                partner_id=partner_id,
                kind=Kind.STREAK_AT_RISK,
                params={"streak": streak},
                language=language,
                data={"streak": streak, "day": today.isoformat()},
                dedupe_key=f"streak_risk:{partner_id}:{today.isoformat()}",
                created_at=now,
            )
        )
        if len(batch) == _BATCH:
            created += _store(batch)
            batch = []
    created += _store(batch)
    logger.info("Streak reminders for %s: %s created", today, created)
    return created


def _store(batch: list[NotificationDraft]) -> int:
    return len(notifications_create(batch))
