"""Leaderboards through the API and the selectors. The suite runs in whichever mode the
environment selects (database on SQLite; Redis when REDIS_URL is set), so every test here is
checked against both backends in CI; `test_leaderboard_modes.py` compares them directly."""

from datetime import UTC, datetime, timedelta

import pytest

from partners.models import Partner
from partners.services import partner_set_status
from partners.tests.factories import PartnerFactory, make_pro
from rewards import leaderboards
from rewards.leaderboards.periods import masked_name
from rewards.models import XPEntry
from rewards.services import XPAward, checkin_record, xp_award

pytestmark = pytest.mark.django_db


@pytest.fixture
def award(committed):
    counter = iter(range(1_000_000))

    def give(partner, amount):
        with committed():
            xp_award(XPAward(partner_id=partner.pk, amount=amount, kind=XPEntry.Kind.CORRECTION, idempotency_key=f"lb:{next(counter)}"))

    return give


def roots(n):
    return [PartnerFactory(first_name=f"Member{i}", last_name="X") for i in range(n)]


def top_ids(board="xp", limit=20):
    return [(row["partner_id"], row["score"]) for row in leaderboards.leaderboard_top(board, limit=limit)]


def test_xp_board_orders_by_score_then_whoever_got_there_first(award):
    a, b, c = roots(3)
    award(c, 100)
    award(a, 100)  # same score, reached later than c
    award(b, 250)
    assert top_ids() == [(b.pk, 250), (c.pk, 100), (a.pk, 100)]
    award(a, 1)
    assert top_ids() == [(b.pk, 250), (a.pk, 101), (c.pk, 100)]
    assert leaderboards.leaderboard_rank("xp", partner=c) == {"rank": 3, "score": 100}


def test_api_leaderboard_shape_and_limit(tma_client, award):
    a, b = roots(2)
    make_pro(b)
    award(a, 300)
    award(b, 50)
    response = tma_client(a).get("/api/v1/leaderboard/?board=xp&limit=1")
    assert response.status_code == 200
    a.refresh_from_db()  # signing in synced the Telegram profile name
    assert response.json() == [
        {"rank": 1, "partner_id": a.pk, "name": a.display_name, "score": 300, "xp_level": 3, "is_pro": False}
    ]
    second = tma_client(a).get("/api/v1/leaderboard/").json()[1]
    assert (second["partner_id"], second["is_pro"]) == (b.pk, True)


@pytest.mark.parametrize("query", ["board=nope", "limit=0", "limit=101", "limit=abc", "limit=-5", "board=XP"])
def test_api_rejects_bad_board_or_limit(tma_client, query):
    response = tma_client(PartnerFactory()).get(f"/api/v1/leaderboard/?{query}")
    assert response.status_code == 400


def test_api_me_rank_and_unranked(tma_client, award):
    a, b = roots(2)
    award(a, 10)
    assert tma_client(a).get("/api/v1/leaderboard/me/?board=xp").json() == {"board": "xp", "rank": 1, "score": 10}
    assert tma_client(b).get("/api/v1/leaderboard/me/?board=week").json() == {"board": "week", "rank": None, "score": 0}
    assert tma_client(b).get("/api/v1/leaderboard/me/?board=bogus").status_code == 400


def test_masked_members_show_a_masked_name():
    assert masked_name("Alice Martin") == "A***n"
    assert masked_name("A") == "A***"


def test_masked_hidden_banned_and_fraud_held_members(tma_client, award, committed, staff_user):
    visible, masked, hidden, banned, held = roots(5)
    for amount, member in zip((50, 40, 30, 20, 10), (visible, masked, hidden, banned, held), strict=True):
        award(member, amount)
    with committed():
        assert tma_client(masked).patch("/api/v1/me/", {"leaderboard_visibility": "masked"}, format="json").status_code == 200
        assert tma_client(hidden).patch("/api/v1/me/", {"leaderboard_visibility": "hidden"}, format="json").status_code == 200
        partner_set_status(partner=banned, status=Partner.Status.BANNED, actor=staff_user)
        held.fraud_hold = True
        held.save(update_fields=["fraud_hold"])
    for member in (visible, masked):
        member.refresh_from_db()
    rows = leaderboards.leaderboard_top("xp")
    assert [(r["partner_id"], r["name"], r["rank"]) for r in rows] == [
        (visible.pk, visible.display_name, 1),
        (masked.pk, masked_name(masked.display_name), 2),
    ]
    assert leaderboards.leaderboard_rank("xp", partner=hidden) == {"rank": None, "score": 30}
    assert leaderboards.leaderboard_rank("xp", partner=held)["rank"] is None
    with committed():
        tma_client(hidden).patch("/api/v1/me/", {"leaderboard_visibility": "visible"}, format="json")
    assert leaderboards.leaderboard_rank("xp", partner=hidden) == {"rank": 3, "score": 30}


def test_week_and_month_boards_count_only_this_period(award):
    a, b = roots(2)
    last_month = datetime.now(UTC).replace(day=1) - timedelta(days=3)
    XPEntry.objects.create(partner=a, amount=1000, kind="correction", idempotency_key="old", created_at=last_month)
    if leaderboards.redis_enabled():
        leaderboards.rebuild()
    award(b, 20)
    award(a, 5)
    assert top_ids("week") == [(b.pk, 20), (a.pk, 5)]
    assert top_ids("month") == [(b.pk, 20), (a.pk, 5)]
    assert top_ids("xp") == [(a.pk, 1005), (b.pk, 20)]


def test_streak_board_lists_live_streaks(committed):
    a, b, c = roots(3)
    now = datetime.now(UTC)
    with committed():
        for n in (2, 1, 0):
            checkin_record(partner=a, now=now - timedelta(days=n))
        for n in (3, 2, 1):
            checkin_record(partner=b, now=now - timedelta(days=n))  # alive until tonight
        for n in (9, 8, 7, 6):
            checkin_record(partner=c, now=now - timedelta(days=n))  # broken
    assert top_ids("streak") == [(b.pk, 3), (a.pk, 3)]  # b reached 3 a day earlier
    assert leaderboards.leaderboard_rank("streak", partner=c) == {"rank": None, "score": 0}


def test_top_runs_a_fixed_number_of_queries(award, django_assert_num_queries):
    members = roots(5)
    for i, member in enumerate(members):
        award(member, 10 * (i + 1))
    expected = 2 if leaderboards.redis_enabled() else 3  # (board rows,) partners, XP levels
    with django_assert_num_queries(expected):
        assert len(leaderboards.leaderboard_top("xp", limit=20)) == 5
    with django_assert_num_queries(expected):
        assert len(leaderboards.leaderboard_top("xp", limit=2)) == 2
