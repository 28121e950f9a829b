from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum

from audit.models import AuditLog, EventType
from p2phub.testing.concurrency import raised, returned, run_concurrently
from partners.models import Notification
from partners.tests.factories import PartnerFactory, make_pro
from rewards.models import Badge, CheckIn, XPEntry
from rewards.services import checkin_record

pytestmark = pytest.mark.django_db
DAY1 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # Monday


def days(n):
    return DAY1 + timedelta(days=n)


def checkin_xp_total(partner):
    return XPEntry.objects.filter(partner=partner, kind="checkin").aggregate(t=Sum("amount"))["t"] or 0


def test_first_checkin_awards_10_and_pro_50():
    regular, pro = PartnerFactory(), make_pro(PartnerFactory())
    assert checkin_record(partner=regular, now=DAY1).awarded_xp == 10
    result = checkin_record(partner=pro, now=DAY1)
    assert (result.awarded_xp, result.streak, result.bonus_xp) == (50, 1, 0)


def test_second_checkin_same_day_awards_nothing():
    partner = PartnerFactory()
    checkin_record(partner=partner, now=DAY1)
    again = checkin_record(partner=partner, now=DAY1 + timedelta(hours=14))
    assert (again.awarded_xp, again.already_checked_in, again.streak) == (0, True, 1)
    assert CheckIn.objects.filter(partner=partner).count() == 1
    assert checkin_xp_total(partner) == 10


def test_day_seven_pays_160_and_30_days_total_900():
    partner = PartnerFactory()
    results = [checkin_record(partner=partner, now=days(n)) for n in range(30)]
    assert results[6].awarded_xp == 160 and results[6].bonus_xp == 150
    assert results[-1].streak == 30
    assert checkin_xp_total(partner) == 900


def test_pro_day_seven_pays_800_and_30_days_total_4500():
    partner = make_pro(PartnerFactory(), days=400)
    results = [checkin_record(partner=partner, now=days(n)) for n in range(30)]
    assert results[6].awarded_xp == 800
    assert checkin_xp_total(partner) == 4500


def test_missed_day_resets_streak_to_one():
    partner = PartnerFactory()
    for n in range(3):
        checkin_record(partner=partner, now=days(n))
    result = checkin_record(partner=partner, now=days(4))
    assert (result.streak, result.awarded_xp, result.freeze_used) == (1, 10, False)


def test_pro_freeze_bridges_exactly_one_missed_day_per_iso_week():
    partner = make_pro(PartnerFactory(), days=400)
    checkin_record(partner=partner, now=days(0))  # Mon
    bridged = checkin_record(partner=partner, now=days(2))  # missed Tue
    assert (bridged.streak, bridged.freeze_used) == (2, True)
    assert CheckIn.objects.get(partner=partner, day=days(2).date()).freeze_week == "2025-W10"
    reset = checkin_record(partner=partner, now=days(4))  # missed Thu, same ISO week
    assert (reset.streak, reset.freeze_used) == (1, False)
    checkin_record(partner=partner, now=days(5))  # Sat
    next_week = checkin_record(partner=partner, now=days(8))  # Tue: missed Sun and Mon, two days: reset
    assert next_week.streak == 1
    checkin_record(partner=partner, now=days(9))  # Wed W11, streak 2
    bridged_again = checkin_record(partner=partner, now=days(11))  # missed Thu of W11
    assert (bridged_again.streak, bridged_again.freeze_used) == (3, True)


def test_freeze_is_not_available_to_regular_members():
    partner = PartnerFactory()
    checkin_record(partner=partner, now=days(0))
    assert checkin_record(partner=partner, now=days(2)).streak == 1


def test_seven_day_badge_is_earned_once_with_audit_and_notification():
    partner = PartnerFactory()
    results = [checkin_record(partner=partner, now=days(n)) for n in range(7)]
    assert results[-1].badges_earned == ["streak_7"]
    checkin_record(partner=partner, now=days(9))
    for n in range(10, 16):
        assert checkin_record(partner=partner, now=days(n)).badges_earned == []
    assert list(Badge.objects.filter(partner=partner).values_list("code", flat=True)) == ["streak_7"]
    assert AuditLog.objects.filter(partner_id=partner.pk, event_type=EventType.BADGE_EARNED).count() == 1
    assert Notification.objects.filter(partner=partner, kind="badge_earned").count() == 1


def test_checkin_is_audited_with_its_xp():
    partner = PartnerFactory()
    checkin_record(partner=partner, now=DAY1)
    row = AuditLog.objects.get(partner_id=partner.pk, event_type=EventType.CHECKIN)
    assert (row.amount, row.currency, row.metadata["streak"]) == (10, "XP", 1)


def test_api_checkin_twice_answers_200_both_times(tma_client):
    partner = PartnerFactory()
    client = tma_client(partner)
    first = client.post("/api/v1/me/checkin/")
    second = client.post("/api/v1/me/checkin/")
    assert first.status_code == second.status_code == 200
    assert {k: first.json()[k] for k in ("awarded_xp", "streak", "bonus_xp", "already_checked_in")} == {
        "awarded_xp": 10, "streak": 1, "bonus_xp": 0, "already_checked_in": False,
    }
    assert (second.json()["awarded_xp"], second.json()["already_checked_in"]) == (0, True)


def test_me_shows_streak_fields_and_badges(tma_client):
    partner = PartnerFactory()
    now = datetime.now(UTC)
    for n in range(6, -1, -1):
        checkin_record(partner=partner, now=now - timedelta(days=n))
    body = tma_client(partner).get("/api/v1/me/").json()
    assert body["checkin_streak"] == 7
    assert body["last_checkin_date"] == now.date().isoformat()
    assert [b["code"] for b in body["badges"]] == ["streak_7"]


def test_me_streak_is_zero_once_broken(tma_client):
    partner = PartnerFactory()
    checkin_record(partner=partner, now=datetime.now(UTC) - timedelta(days=3))
    assert tma_client(partner).get("/api/v1/me/").json()["checkin_streak"] == 0


def test_checkin_needs_authentication(api_client):
    assert api_client.post("/api/v1/me/checkin/").status_code == 401


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_checkins_pay_once():
    partner = PartnerFactory()
    outcomes = run_concurrently(lambda _: checkin_record(partner=partner), 50)
    assert raised(outcomes) == []
    results = returned(outcomes)
    assert sum(1 for r in results if not r.already_checked_in) == 1
    assert sum(r.awarded_xp for r in results) == 10
    assert CheckIn.objects.filter(partner=partner).count() == 1
    assert checkin_xp_total(partner) == 10
