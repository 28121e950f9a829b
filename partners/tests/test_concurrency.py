"""PostgreSQL concurrency: many joins under one referrer, and one Telegram user's first
requests racing each other."""

import pytest
from rest_framework.test import APIClient

from p2phub.testing.concurrency import raised, run_concurrently
from partners.models import Partner
from partners.services import partner_join
from partners.tests.factories import PartnerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _join_five(thread_no: int, first_id: int, referrer) -> list[str]:
    # 20 threads x 5 joins: 100 joins racing without exceeding PostgreSQL's connection limit.
    ids = range(first_id + thread_no * 5, first_id + thread_no * 5 + 5)
    return [partner_join(referrer=referrer, telegram_id=telegram_id).partner.path for telegram_id in ids]


def test_100_concurrent_joins_under_one_referrer_all_succeed():
    referrer = PartnerFactory()

    outcomes = run_concurrently(lambda t: _join_five(t, 8_000_000, referrer), 20)
    assert raised(outcomes) == []
    assert len({path for paths in outcomes for path in paths}) == 100
    referrer.refresh_from_db()
    assert referrer.numchild == 100
    assert Partner.objects.filter(referrer=referrer, depth=referrer.depth + 1).count() == 100
    assert Partner.objects.find_problems() == ([], [], [], [], [])


def test_100_concurrent_roots_all_succeed():
    outcomes = run_concurrently(lambda t: _join_five(t, 8_100_000, None), 20)
    assert raised(outcomes) == []
    assert len({path for paths in outcomes for path in paths}) == 100


def test_20_concurrent_first_requests_of_one_user_create_one_partner(init_data):
    referrer = PartnerFactory()
    raw = init_data(8_200_000, start_param=referrer.referral_code)

    outcomes = run_concurrently(lambda _: APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"tma {raw}").status_code, 20)
    assert outcomes == [200] * 20
    assert Partner.objects.filter(telegram_id=8_200_000).count() == 1
    assert Partner.objects.get(telegram_id=8_200_000).referrer_id == referrer.pk
