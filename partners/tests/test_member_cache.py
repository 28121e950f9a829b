"""The member cache (partners.member_cache on p2phub.token_cache): a warm `/me` and dashboard
home read nothing but the member, and every write that changes what they show is visible on the
next request, never a stale figure. The suite's cache is a per-process memory cache, which is
enough here: the tests run in one process (production turns the cache on with Redis only)."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone

from p2phub import token_cache
from partners.services import SignupContext, partner_join
from partners.tests.factories import PartnerFactory, make_chain
from payments.models import USDTEntry
from payments.services.ledger import usdt_entries_append
from rewards.services import checkin_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def member_cache_on(settings):
    settings.MEMBER_CACHE_SECONDS = 3600


def _me(tma_client, member) -> dict:
    response = tma_client(member).get("/api/v1/me/")
    assert response.status_code == 200, response.content
    return response.json()


def test_a_warm_me_reads_only_the_member_and_a_check_in_shows_at_once(tma_client, committed, django_assert_num_queries):
    member = PartnerFactory()
    first = _me(tma_client, member)
    assert (first["xp"], first["checkin_streak"], first["checked_in_today"]) == (0, 0, False)
    client = tma_client(member)
    with django_assert_num_queries(1):  # the authentication's member lookup (referrer joined)
        assert client.get("/api/v1/me/").json() == first
    with committed():
        result = checkin_record(partner=member)
    after = _me(tma_client, member)
    assert (after["xp"], after["checkin_streak"], after["checked_in_today"]) == (result.awarded_xp, 1, True)


def test_a_signup_below_updates_every_ancestors_counts_and_xp(tma_client, committed):
    chain = make_chain(3)
    before = [_me(tma_client, member) for member in chain]
    with committed():
        partner_join(referral_code=chain[-1].referral_code, telegram_id=4_300_000_001, first_name="New",
                     signup=SignupContext(ip="203.0.113.9", user_agent="Mozilla/5.0"))
    for member, earlier in zip(chain, before, strict=True):
        now = _me(tma_client, member)
        assert now["network_size"] == earlier["network_size"] + 1
        assert now["xp"] > earlier["xp"]
    network = tma_client(chain[0]).get("/api/v1/me/network/").json()
    assert network["network_size"] == before[0]["network_size"] + 1


def test_a_usdt_row_shows_at_once_and_held_money_becomes_available_at_its_date(tma_client, committed):
    member = PartnerFactory()
    assert _me(tma_client, member)["usdt_balance"] == "0.000000"
    release = timezone.now() + timedelta(days=7)
    with committed(), transaction.atomic():
        usdt_entries_append([USDTEntry(
            partner=member, amount=Decimal("3.900000"), kind=USDTEntry.Kind.COMMISSION, level=1,
            available_at=release, idempotency_key="test:held",
        )])
    held = _me(tma_client, member)
    assert (held["usdt_balance"], held["usdt_available"]) == ("3.900000", "0.000000")
    with time_machine.travel(release + timedelta(seconds=1)):
        released = _me(tma_client, member)
    assert released["usdt_available"] == "3.900000"  # no write happened: the body expired


def test_the_streak_lapses_at_midnight_without_any_write(tma_client, committed):
    member = PartnerFactory()
    with committed():
        checkin_record(partner=member)
    assert _me(tma_client, member)["checkin_streak"] == 1
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert _me(tma_client, member)["checkin_streak"] == 0


def test_a_body_built_while_a_write_commits_is_never_served(tma_client, committed):
    """The reader takes the token before reading; the write replaces it after committing."""
    member = PartnerFactory()
    _me(tma_client, member)
    real_set = token_cache.cache.set

    def write_lands_before_the_body_is_stored(key, value, timeout=None, **kwargs):
        if key.startswith("member-cache:profile:") and not landed:
            landed.append(True)
            with committed():
                checkin_record(partner=member)  # commits, then replaces the member's token
        return real_set(key, value, timeout, **kwargs)

    landed = []

    token_cache.cache.delete(f"member-cache:profile:{member.pk}")
    with mock.patch.object(token_cache.cache, "set", side_effect=write_lands_before_the_body_is_stored):
        stale = _me(tma_client, member)  # built before the check-in was visible
    assert stale["checkin_streak"] == 0
    assert _me(tma_client, member)["checkin_streak"] == 1


def test_a_cache_that_raises_is_a_miss_not_an_error(tma_client):
    member = PartnerFactory()
    with mock.patch.object(token_cache.cache, "get_many", side_effect=ConnectionError("redis down")):
        assert _me(tma_client, member)["xp"] == 0


def test_a_new_members_profile_needs_no_reads_and_equals_the_built_one(tma_client, init_data, api_client):
    referrer = PartnerFactory()
    api_client.credentials(HTTP_AUTHORIZATION=f"tma {init_data(4_300_000_002, start_param=referrer.referral_code)}")
    joined = api_client.get("/api/v1/me/").json()
    token_cache.cache.clear()
    assert tma_client(4_300_000_002).get("/api/v1/me/").json() == {**joined, "referral_notice": None}


def test_the_dashboard_home_warm_reads_session_user_and_member(
    client, committed, django_assert_num_queries, django_user_model, settings
):
    user = django_user_model.objects.create_user(username="home-member")
    member = PartnerFactory(user=user)
    client.force_login(user)
    assert client.get("/dashboard/").status_code == 200
    # With Redis the session is read from the cache (cached_db): user and member only.
    with django_assert_num_queries(2 if settings.REDIS_URL else 3):
        page = client.get("/dashboard/")
    assert page.status_code == 200
    with committed():
        checkin_record(partner=member)
    assert 'data-testid="streak">1<' in client.get("/dashboard/").content.decode()
