"""POST /api/v1/share/events/: 201, unknown platform 400 with a readable message, throttled."""

import pytest
from django.core.cache import cache

from p2phub.api.throttling import ScopedRateThrottle
from referrals.models import ShareEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(tma_client):
    client = tma_client(6_600_001, username="sharer")
    assert client.get("/api/v1/me/").status_code == 200
    return client


@pytest.mark.parametrize(
    "platform", ["telegram", "whatsapp", "x", "facebook", "linkedin", "reddit", "email", "sms", "qr", "copy"]
)
def test_share_event_is_recorded(member, platform):
    response = member.post("/api/v1/share/events/", {"platform": platform}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["platform"] == platform
    event = ShareEvent.objects.get()
    assert (event.partner.telegram_id, event.platform) == (6_600_001, platform)


@pytest.mark.parametrize("platform", ["myspace", "direct", "", "WhatsApp ", None, 7, ["x"], {"a": 1}])
def test_unknown_platform_is_a_400_naming_the_choices(member, platform):
    response = member.post("/api/v1/share/events/", {"platform": platform}, format="json")
    assert response.status_code == 400
    assert not ShareEvent.objects.exists()
    errors = response.json()["platform"]
    assert errors and isinstance(errors[0], str)


def test_unknown_platform_message_is_readable(member):
    message = member.post("/api/v1/share/events/", {"platform": "myspace"}, format="json").json()["platform"][0]
    assert message.startswith('Unknown platform "myspace": use one of telegram, whatsapp, x,')


def test_missing_body_is_a_400(member):
    assert member.post("/api/v1/share/events/", {}, format="json").status_code == 400


def test_anonymous_is_401(api_client):
    assert api_client.post("/api/v1/share/events/", {"platform": "x"}, format="json").status_code == 401


def test_share_events_are_throttled_per_member(member, monkeypatch, tma_client):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "share_events", "3/min")
    cache.clear()
    statuses = [member.post("/api/v1/share/events/", {"platform": "x"}, format="json").status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert ShareEvent.objects.count() == 3
    other = tma_client(6_600_002)
    assert other.post("/api/v1/share/events/", {"platform": "x"}, format="json").status_code == 201
