"""PostgreSQL concurrency: many joins under one referrer, and one Telegram user's first
requests racing each other."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from partners.models import Partner
from partners.services import partner_join
from partners.tests.factories import PartnerFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _in_thread(fn):
    def run(*args):
        try:
            return fn(*args)
        finally:
            connection.close()

    return run


def test_100_concurrent_joins_under_one_referrer_all_succeed():
    referrer = PartnerFactory()

    @_in_thread
    def join(i):
        return partner_join(referrer=referrer, telegram_id=8_000_000 + i).partner.path

    with ThreadPoolExecutor(max_workers=20) as pool:
        paths = list(pool.map(join, range(100)))
    assert len(set(paths)) == 100
    referrer.refresh_from_db()
    assert referrer.numchild == 100
    assert Partner.objects.filter(referrer=referrer, depth=referrer.depth + 1).count() == 100
    assert Partner.objects.find_problems() == ([], [], [], [], [])


def test_100_concurrent_roots_all_succeed():
    @_in_thread
    def join(i):
        return partner_join(telegram_id=8_100_000 + i).partner.path

    with ThreadPoolExecutor(max_workers=20) as pool:
        paths = list(pool.map(join, range(100)))
    assert len(set(paths)) == 100


def test_20_concurrent_first_requests_of_one_user_create_one_partner(init_data):
    referrer = PartnerFactory()
    raw = init_data(8_200_000, start_param=referrer.referral_code)

    @_in_thread
    def first_request(_):
        client = APIClient()
        return client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"tma {raw}").status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(first_request, range(20)))
    assert statuses == [200] * 20
    assert Partner.objects.filter(telegram_id=8_200_000).count() == 1
    assert Partner.objects.get(telegram_id=8_200_000).referrer_id == referrer.pk
