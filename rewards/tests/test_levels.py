import pytest

from audit.models import AuditLog, EventType
from partners.models import Notification
from partners.tests.factories import PartnerFactory
from rewards.levels import RANKS, level_for_xp, level_summary, rank_for_level
from rewards.models import XPEntry
from rewards.services import XPAward, xp_award


@pytest.mark.parametrize(
    ("xp", "level"),
    [(0, 1), (99, 1), (100, 2), (299, 2), (300, 3), (599, 3), (600, 4), (1000, 5), (4499, 9), (4500, 10), (495_000, 100)],
)
def test_level_for_xp_follows_50_l_lminus1(xp, level):
    assert level_for_xp(xp) == level


@pytest.mark.parametrize(
    ("level", "rank"),
    [(1, "Beginner"), (2, "Beginner"), (3, "Novice"), (5, "Novice"), (6, "Apprentice"), (9, "Contributor"),
     (39, "Director"), (40, "President"), (44, "Global Partner"), (99, "PRO Max"), (100, "Immortal"),
     (109, "Immortal"), (110, "Eternal"), (500, "Eternal")],
)
def test_rank_for_level_uses_the_minimum_level_table(level, rank):
    assert rank_for_level(level) == rank


def test_rank_table_has_all_thirty_ranks_in_order():
    assert len(RANKS) == 30
    assert [minimum for minimum, _ in RANKS] == sorted(minimum for minimum, _ in RANKS)


def test_level_summary_reports_next_threshold():
    assert level_summary(150) == {
        "xp": 150, "xp_level": 2, "rank": "Beginner", "xp_for_next_level": 300, "xp_to_next_level": 150,
    }


@pytest.mark.django_db
def test_level_up_writes_audit_row_and_notification_once():
    partner = PartnerFactory()
    xp_award(XPAward(partner_id=partner.pk, amount=90, kind=XPEntry.Kind.CORRECTION, idempotency_key="t:1"))
    assert not Notification.objects.filter(partner=partner, kind="level_up").exists()
    xp_award(XPAward(partner_id=partner.pk, amount=220, kind=XPEntry.Kind.CORRECTION, idempotency_key="t:2"))
    note = Notification.objects.get(partner=partner, kind="level_up")
    assert note.data == {"level": 3, "previous_level": 1, "rank": "Novice"}
    row = AuditLog.objects.get(partner_id=partner.pk, event_type=EventType.LEVEL_UP)
    assert row.metadata == {"from_level": 1, "to_level": 3, "rank": "Novice"}


@pytest.mark.django_db
def test_me_shows_level_and_rank_from_xp(tma_client):
    partner = PartnerFactory()
    xp_award(XPAward(partner_id=partner.pk, amount=4500, kind=XPEntry.Kind.CORRECTION, idempotency_key="t:me"))
    body = tma_client(partner).get("/api/v1/me/").json()
    assert (body["xp"], body["xp_level"], body["rank"], body["xp_for_next_level"]) == (4500, 10, "Contributor", 5500)
