from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from partners.models import Notification
from partners.tests.factories import PartnerFactory
from rewards.models import XPEntry
from rewards.services import checkin_record, streak_reminders_send

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 5, 18, 0, tzinfo=UTC)


def test_streak_reminder_goes_to_members_who_checked_in_yesterday_but_not_today():
    at_risk, safe, lapsed = PartnerFactory(), PartnerFactory(), PartnerFactory()
    checkin_record(partner=at_risk, now=NOW - timedelta(days=1))
    checkin_record(partner=safe, now=NOW - timedelta(days=1))
    checkin_record(partner=safe, now=NOW - timedelta(hours=2))
    checkin_record(partner=lapsed, now=NOW - timedelta(days=2))
    assert streak_reminders_send(now=NOW) == 1
    note = Notification.objects.get(kind="streak_at_risk")
    assert (note.partner_id, note.dedupe_key) == (at_risk.pk, f"streak_risk:{at_risk.pk}:2025-03-05")
    assert streak_reminders_send(now=NOW) == 0  # once per member per day
    assert Notification.objects.filter(kind="streak_at_risk").count() == 1


def test_streak_reminders_command_and_beat_entries():
    call_command("streak_reminders")
    beat = settings.CELERY_BEAT_SCHEDULE
    assert beat["streak-reminders"]["task"] == "rewards.tasks.streak_reminders"
    assert beat["streak-reminders"]["schedule"].hour == {settings.STREAK_REMINDER_HOUR_UTC}
    assert beat["cleanup-stale-tasks"]["task"] == "rewards.tasks.cleanup_stale_tasks"
    assert beat["rebuild-leaderboards"]["task"] == "rewards.tasks.rebuild_leaderboards"


def test_celery_tasks_run_the_jobs():
    from rewards.tasks import cleanup_stale_tasks, streak_reminders

    member = PartnerFactory()
    checkin_record(partner=member, now=datetime.now(UTC) - timedelta(days=1))
    assert streak_reminders.delay().get() == 1
    assert cleanup_stale_tasks.delay().get() == 0


def test_cleanup_command_rejects_a_bad_day_count():
    with pytest.raises(CommandError):
        call_command("cleanup_stale_tasks", "--days", "0")


def test_rebuild_command_refuses_in_database_mode(settings):
    settings.LEADERBOARD_BACKEND = "database"
    with pytest.raises(CommandError, match="database"):
        call_command("rebuild_leaderboards")


def test_admin_xp_ledger_is_read_only_and_tasks_are_editable(staff_user, client):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    member = PartnerFactory()
    checkin_record(partner=member)
    entry = XPEntry.objects.filter(partner=member).first()
    assert client.get("/admin/rewards/xpentry/").status_code == 200
    assert client.get("/admin/rewards/xpentry/add/").status_code == 403
    page = client.get(f"/admin/rewards/xpentry/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(f"/admin/rewards/xpentry/{entry.pk}/delete/").status_code == 403
    response = client.post(
        "/admin/rewards/task/banking_app/change/",
        {"type": "social", "title": "Open the new app", "description": "", "reward_xp": 30, "requirement": 1,
         "url": "https://example.com/app", "telegram_chat_id": "", "is_active": "on", "sort_order": 20},
    )
    assert response.status_code == 302
    from rewards.models import Task

    assert Task.objects.get(pk="banking_app").reward_xp == 30
    for path in ("checkin", "streak", "badge", "taskprogress", "xpbalance", "task"):
        assert client.get(f"/admin/rewards/{path}/").status_code == 200
