"""GET /api/v1/me/ledger/?currency=XP|USDT (API.md)."""

from decimal import Decimal

import pytest

from partners.tests.factories import PartnerFactory, make_chain
from rewards.api.ledger_views import _amount
from rewards.models import XPEntry

pytestmark = pytest.mark.django_db
URL = "/api/v1/me/ledger/"


def test_xp_rows_newest_first_with_integer_amounts(tma_client):
    top, referrer = make_chain(2)
    newcomer = PartnerFactory(referrer=referrer, first_name="Ann", last_name="Lee")
    body = tma_client(top).get(URL, {"currency": "XP"}).json()
    rows = body["results"]
    assert [r["amount"] for r in rows] == [10, 35]
    assert rows[0] == {
        "id": XPEntry.objects.get(partner=top, related_partner=newcomer).pk,
        "currency": "XP",
        "amount": 10,
        "kind": "referral",
        "level": 2,
        "related_partner": newcomer.pk,
        "related_partner_name": "Ann Lee",
        "created_at": rows[0]["created_at"],
    }


def test_currency_defaults_to_xp_and_is_case_insensitive(tma_client):
    referrer = PartnerFactory()
    PartnerFactory(referrer=referrer)
    client = tma_client(referrer)
    assert client.get(URL).json()["results"][0]["amount"] == 35
    assert client.get(URL, {"currency": "xp"}).json()["results"][0]["currency"] == "XP"


def test_unknown_currency_is_a_400(tma_client):
    response = tma_client(PartnerFactory()).get(URL, {"currency": "DOGE"})
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_currency"
    assert "XP" in response.json()["detail"]


def test_only_the_callers_rows_and_cursor_pages(tma_client):
    referrer = PartnerFactory()
    other = PartnerFactory()
    for _ in range(3):
        PartnerFactory(referrer=referrer)
    PartnerFactory(referrer=other)
    client = tma_client(referrer)
    first = client.get(URL, {"page_size": 2}).json()
    assert len(first["results"]) == 2
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert ids == sorted(ids, reverse=True)
    assert set(ids) == set(XPEntry.objects.filter(partner=referrer).values_list("id", flat=True))


def test_the_page_costs_a_fixed_number_of_queries(tma_client, django_assert_max_num_queries):
    referrer = PartnerFactory()
    for _ in range(12):
        PartnerFactory(referrer=referrer)
    client = tma_client(referrer)
    client.get(URL)  # first request records the sighting
    with django_assert_max_num_queries(4):
        assert len(client.get(URL, {"page_size": 12}).json()["results"]) == 12


def test_money_amounts_are_decimal_strings():
    assert _amount(Decimal("11.700000")) == "11.700000"
    assert _amount(35) == 35


def test_requires_a_member(api_client):
    assert api_client.get(URL).status_code == 401
