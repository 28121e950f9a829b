"""GET /api/v1/me/notifications/ and POST /api/v1/me/notifications/read/ (API.md)."""

import pytest

from partners.models import Notification
from partners.notifications import Kind, notification_create
from partners.tests.factories import PartnerFactory

LIST = "/api/v1/me/notifications/"
READ = "/api/v1/me/notifications/read/"


@pytest.mark.django_db
def test_list_is_the_member_own_newest_first(tma_client):
    member, other = PartnerFactory(), PartnerFactory()
    first = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    second = notification_create(partner=member, kind=Kind.STREAK_AT_RISK, params={"streak": 3}, data={"streak": 3})
    notification_create(partner=other, kind=Kind.PRO_EXPIRED)
    response = tma_client(member).get(LIST)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [second.pk, first.pk]
    assert rows[0] == {
        "id": second.pk,
        "kind": "streak_at_risk",
        "title": "Your streak is at risk",
        "body": "Check in today to keep your 3-day streak.",
        "data": {"streak": 3},
        "is_read": False,
        "read_at": None,
        "created_at": rows[0]["created_at"],
    }


@pytest.mark.django_db
def test_list_is_paginated(tma_client):
    member = PartnerFactory()
    for _ in range(25):
        notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    client = tma_client(member)
    page = client.get(LIST).json()
    assert len(page["results"]) == 20 and page["next"]
    rest = client.get(page["next"]).json()
    assert len(rest["results"]) == 5 and rest["next"] is None
    ids = [row["id"] for row in page["results"] + rest["results"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 25


@pytest.mark.django_db
def test_read_marks_all_and_returns_the_count(tma_client):
    member, other = PartnerFactory(), PartnerFactory()
    for _ in range(2):
        notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    notification_create(partner=other, kind=Kind.PRO_EXPIRED)
    client = tma_client(member)
    response = client.post(READ)
    assert response.status_code == 200 and response.json() == {"marked_read": 2}
    assert client.post(READ).json() == {"marked_read": 0}
    rows = client.get(LIST).json()["results"]
    assert all(row["is_read"] and row["read_at"] for row in rows)
    assert Notification.objects.get(partner=other).read_at is None


@pytest.mark.django_db
def test_russian_member_reads_russian_texts(tma_client):
    member = PartnerFactory(language="ru")
    notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    assert tma_client(member).get(LIST).json()["results"][0]["title"] == "PRO закончился"


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), [("get", LIST), ("post", READ)])
def test_anonymous_gets_401(api_client, method, path):
    assert getattr(api_client, method)(path).status_code == 401


@pytest.mark.django_db
def test_list_only_accepts_get_and_read_only_post(tma_client):
    client = tma_client(PartnerFactory())
    assert client.post(LIST).status_code == 405
    assert client.get(READ).status_code == 405
