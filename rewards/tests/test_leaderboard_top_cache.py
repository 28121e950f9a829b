"""Leaderboard tops in Redis mode are cached under a token every board write replaces: a warm
top list costs no query, and a write, a rename or a PRO purchase shows on the next request."""

import pytest

from partners.services import partner_sync_telegram_profile
from partners.telegram_auth import TelegramUser
from partners.tests.factories import PartnerFactory
from rewards.leaderboards import leaderboard_top
from rewards.models import XPEntry
from rewards.services.xp import XPAward, xp_award

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


def _award(partner, amount, key):
    xp_award(XPAward(partner_id=partner.pk, amount=amount, kind=XPEntry.Kind.TASK, idempotency_key=key))


def test_a_warm_top_costs_no_query_and_every_change_shows_at_once(committed, django_assert_num_queries):
    first, second = PartnerFactory(first_name="Ann", last_name=""), PartnerFactory(first_name="Bob", last_name="")
    with committed():
        _award(first, 50, "t:1")
        _award(second, 40, "t:2")
    assert [row["name"] for row in leaderboard_top("xp")] == ["Ann", "Bob"]
    with django_assert_num_queries(0):
        assert [row["score"] for row in leaderboard_top("xp")] == [50, 40]
    with committed():
        _award(second, 20, "t:3")
    assert [(row["name"], row["score"]) for row in leaderboard_top("xp")] == [("Bob", 60), ("Ann", 50)]
    with committed():
        partner_sync_telegram_profile(partner=second, telegram_user=TelegramUser(id=second.telegram_id, first_name="Robert"))
    assert leaderboard_top("xp")[0]["name"] == "Robert"
