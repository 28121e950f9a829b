"""The `tma` authentication class through the API: every bad input is a 401, never a 500."""

import time

import pytest
from rest_framework.test import APIClient

from partners.models import Partner, PendingAttribution
from partners.services import pending_attribution_record
from partners.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def call(raw: str, path: str = "/api/v1/me/"):
    client = APIClient()
    return client.get(path, HTTP_AUTHORIZATION=f"tma {raw}")


@pytest.mark.parametrize("path", ["/api/v1/me/", "/api/v1/me/network/", "/api/v1/me/network/1/"])
def test_missing_credentials_get_401(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "tma"
    assert "detail" in response.json()


def test_valid_init_data_authenticates_and_creates_the_member(init_data):
    response = call(init_data(501, first_name="Ann", username="ann"))
    assert response.status_code == 200
    assert response.json()["telegram_id"] == 501
    assert Partner.objects.get(telegram_id=501).username == "ann"


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda raw: raw.replace("first_name%22%3A%22Test", "first_name%22%3A%22Evil"), id="tampered"),
        pytest.param(lambda raw: raw.rsplit("&hash=", 1)[0], id="hash-less"),
        pytest.param(lambda raw: raw + "&auth_date=1", id="duplicate-key"),
        pytest.param(lambda raw: raw[:-64] + "g" * 64, id="non-hex-hash"),
        pytest.param(lambda raw: raw + "&pad=" + "x" * 20 * 1024, id="20KiB"),
        pytest.param(lambda raw: "%%%", id="garbage"),
    ],
)
def test_bad_init_data_gets_401(init_data, mutate):
    response = call(mutate(init_data(502)))
    assert response.status_code == 401, response.content
    assert response.json()["detail"].startswith("Invalid Telegram initData")
    assert not Partner.objects.filter(telegram_id=502).exists()


def test_stale_init_data_gets_401(init_data, settings):
    settings.INIT_DATA_MAX_AGE = 3600
    assert call(init_data(503, auth_date=int(time.time()) - 3601)).status_code == 401


def test_future_init_data_gets_401(init_data):
    assert call(init_data(504, auth_date=int(time.time()) + 3600)).status_code == 401


def test_init_data_signed_with_another_bot_token_gets_401():
    from p2phub.testing.telegram import signed_init_data

    assert call(signed_init_data(bot_token="42:INVALID", user_id=505)).status_code == 401


def test_first_request_attaches_to_the_start_param_referrer(init_data):
    referrer = PartnerFactory()
    response = call(init_data(506, start_param=referrer.referral_code.lower()))
    assert response.status_code == 200
    body = response.json()
    assert body["referrer"]["referral_code"] == referrer.referral_code
    assert body["referral_notice"] is None
    assert Partner.objects.get(telegram_id=506).referrer_id == referrer.pk


def test_unknown_code_makes_a_root_and_says_so(init_data):
    response = call(init_data(507, start_param="P2P-00000000"))
    assert response.status_code == 200
    assert response.json()["referrer"] is None
    assert "not found" in response.json()["referral_notice"]
    assert Partner.objects.get(telegram_id=507).is_root()


def test_pending_bot_attribution_is_used_when_start_param_is_missing(init_data):
    referrer = PartnerFactory()
    pending_attribution_record(telegram_id=508, referral_code=referrer.referral_code)
    assert PendingAttribution.objects.filter(telegram_id=508).exists()
    assert call(init_data(508)).json()["referrer"]["referral_code"] == referrer.referral_code


def test_referrer_never_changes_for_an_existing_member(init_data):
    first, second = PartnerFactory(), PartnerFactory()
    call(init_data(509, start_param=first.referral_code))
    response = call(init_data(509, start_param=second.referral_code))
    assert response.json()["referrer"]["referral_code"] == first.referral_code


def test_profile_names_follow_telegram(init_data):
    call(init_data(510, first_name="Old"))
    call(init_data(510, first_name="New"))
    assert Partner.objects.get(telegram_id=510).first_name == "New"


def test_banned_member_gets_403(init_data):
    partner = PartnerFactory()
    Partner.objects.filter(pk=partner.pk).update(status=Partner.Status.BANNED)
    response = call(init_data(partner.telegram_id))
    assert response.status_code == 403
    assert response.json()["detail"] == "This account is suspended."


def test_staff_user_without_member_profile_gets_403_on_member_endpoints(staff_client):
    response = staff_client.get("/api/v1/me/")
    assert response.status_code == 403
    assert "no member profile" in response.json()["detail"]


def test_missing_bot_token_is_401_not_500(init_data, settings):
    raw = init_data(511)
    settings.TELEGRAM_BOT_TOKEN = ""
    assert call(raw).status_code == 401
