import pytest

from partners.tests.factories import PartnerFactory, make_chain

pytestmark = pytest.mark.django_db


def test_network_counts_per_level(tma_client):
    top = PartnerFactory()
    left = PartnerFactory(referrer=top)
    PartnerFactory(referrer=top)
    chain = make_chain(10, top=left)  # levels 2..11 under top
    response = tma_client(top).get("/api/v1/me/network/")
    assert response.status_code == 200
    body = response.json()
    assert [level["count"] for level in body["levels"]] == [2, 1, 1, 1, 1, 1, 1, 1, 1]
    assert body["direct_referrals"] == 2
    assert body["network_size"] == 10  # within 9 levels only
    assert len(chain) == 10


def test_network_query_count_does_not_grow_with_depth(tma_client, django_assert_num_queries):
    shallow = make_chain(3)[0]
    deep_top = make_chain(40)[0]
    shallow_client, deep_client = tma_client(shallow), tma_client(deep_top)
    shallow_client.get("/api/v1/me/network/")  # first request may sync the profile
    deep_client.get("/api/v1/me/network/")
    with django_assert_num_queries(2):  # the member by telegram id + one grouped downline query
        shallow_client.get("/api/v1/me/network/")
    with django_assert_num_queries(2):
        deep_client.get("/api/v1/me/network/")


def test_level_list_shows_members_without_private_fields(tma_client):
    top = PartnerFactory()
    child = PartnerFactory(referrer=top, first_name="Kid", last_name="One")
    response = tma_client(top).get("/api/v1/me/network/1/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    member = body["results"][0]
    assert member["name"] == "Kid One" and member["username"] == child.username
    assert set(member) == {"name", "username", "joined_at", "is_pro", "xp_level"}
    assert child.referral_code not in response.content.decode()


def test_level_list_query_count_is_fixed(tma_client, django_assert_num_queries):
    top = PartnerFactory()
    for _ in range(3):
        PartnerFactory(referrer=top)
    client = tma_client(top)
    client.get("/api/v1/me/network/1/")
    with django_assert_num_queries(4):  # member, count, page, xp levels of the page
        client.get("/api/v1/me/network/1/")
    for _ in range(5):
        PartnerFactory(referrer=top)
    with django_assert_num_queries(4):
        client.get("/api/v1/me/network/1/")


@pytest.mark.parametrize("level", [0, 10, 99])
def test_levels_outside_one_to_nine_are_404(tma_client, level):
    assert tma_client(PartnerFactory()).get(f"/api/v1/me/network/{level}/").status_code == 404


def test_level_list_is_paginated(tma_client):
    top = PartnerFactory()
    for _ in range(25):
        PartnerFactory(referrer=top)
    body = tma_client(top).get("/api/v1/me/network/1/?page=2").json()
    assert body["count"] == 25 and len(body["results"]) == 5


def test_patch_me_updates_preferences_and_validates(tma_client):
    client = tma_client(PartnerFactory())
    response = client.patch("/api/v1/me/", {"language": "ru", "leaderboard_visibility": "masked"}, format="json")
    assert response.status_code == 200
    assert response.json()["language"] == "ru"
    assert client.patch("/api/v1/me/", {"language": "de"}, format="json").status_code == 400
    assert client.patch("/api/v1/me/", {}, format="json").status_code == 400
