"""Web sign-in at the API.md paths: Login Widget callback, the bot's one-time link, the Mini App
initData exchange, sign-out; first sign-ins join through partner_join with channel "web"."""

import time
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from audit.models import AuditLog, EventType
from dashboard.services import member_web_user, referral_code_from_cookie
from partners.login_tokens import web_login_token_issue
from partners.models import Partner, PendingAttribution
from partners.services import partner_set_status
from partners.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def _signed_in(client) -> bool:
    return SESSION_KEY in client.session


# --- Login Widget -----------------------------------------------------------------------------


def test_the_login_page_shows_the_widget_and_the_bot_hint(client, settings):
    settings.TELEGRAM_BOT_USERNAME = "P2PTestBot"
    settings.SITE_URL = "https://p2p.example"
    body = client.get("/login/").content.decode()
    assert 'data-telegram-login="P2PTestBot"' in body
    assert 'data-auth-url="https://p2p.example/login/telegram/"' in body
    assert "/login</code>" in body


def test_a_first_widget_sign_in_creates_the_member_through_the_web_signup(client, widget_data):
    response = client.get("/login/telegram/", widget_data(user_id=9001, first_name="Zoe", username="zoe"))

    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    partner = Partner.objects.get(telegram_id=9001)
    assert (partner.first_name, partner.username) == ("Zoe", "zoe")
    joined = AuditLog.objects.get(event_type=EventType.PARTNER_JOINED, partner_id=partner.pk)
    assert joined.metadata["channel"] == "web"
    signed = AuditLog.objects.get(event_type=EventType.WEB_SIGNED_IN, partner_id=partner.pk)
    assert signed.metadata == {"method": "login_widget", "joined": True}
    assert _signed_in(client)
    user = partner.user
    assert user is not None and not user.is_staff and not user.has_usable_password()
    # The same session works for the JSON API (SessionAuthentication).
    assert client.get("/api/v1/me/").json()["telegram_id"] == 9001


def test_the_referral_cookie_attributes_a_web_signup(client, widget_data, settings):
    sponsor = PartnerFactory()
    client.cookies[settings.REFERRAL_COOKIE_NAME] = f"{sponsor.referral_code.lower()}_wa"

    client.get("/login/telegram/", widget_data(user_id=9002))

    assert Partner.objects.get(telegram_id=9002).referrer_id == sponsor.pk


def test_a_pending_bot_referral_wins_over_the_cookie(client, widget_data, settings):
    from_bot, from_cookie = PartnerFactory(), PartnerFactory()
    PendingAttribution.objects.create(telegram_id=9003, referral_code=from_bot.referral_code)
    client.cookies[settings.REFERRAL_COOKIE_NAME] = from_cookie.referral_code

    client.get("/login/telegram/", widget_data(user_id=9003))

    assert Partner.objects.get(telegram_id=9003).referrer_id == from_bot.pk


def test_an_unknown_cookie_code_joins_as_a_root_and_says_so(client, widget_data, settings):
    client.cookies[settings.REFERRAL_COOKIE_NAME] = "P2P-00000000"
    response = client.get("/login/telegram/", widget_data(user_id=9004), follow=True)
    assert Partner.objects.get(telegram_id=9004).referrer_id is None
    assert "referral code was not found" in response.content.decode()


def test_a_returning_member_signs_in_without_a_second_join(client, widget_data):
    member = PartnerFactory(telegram_id=9005, first_name="Old")
    client.get("/login/telegram/", widget_data(user_id=9005, first_name="New"))
    member.refresh_from_db()
    assert member.first_name == "New"  # profile kept in step with Telegram
    assert Partner.objects.filter(telegram_id=9005).count() == 1
    assert _signed_in(client)
    assert AuditLog.objects.filter(event_type=EventType.PARTNER_JOINED, partner_id=member.pk).count() == 1


def test_the_login_widget_vector_of_the_spec_verifies(client, settings):
    settings.TELEGRAM_BOT_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
    settings.INIT_DATA_MAX_AGE = None  # the vector is from 2019
    data = {
        "id": "42", "first_name": "John", "last_name": "Smith", "username": "username",
        "photo_url": "https://t.me/i/userpic/320/picname.jpg", "auth_date": "1565810688",
        "hash": "c303db2b5a06fe41d23a9b14f7c545cfc11dcc7473c07c9c5034ae60062461ce",
    }
    assert client.get("/login/telegram/", data).status_code == 302
    assert Partner.objects.get(telegram_id=42).last_name == "Smith"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda d: d.update(hash="0" * 64), id="bad-hash"),
        pytest.param(lambda d: d.update(first_name="Mallory"), id="changed-field"),
        pytest.param(lambda d: d.pop("hash"), id="missing-hash"),
        pytest.param(lambda d: d.pop("auth_date"), id="missing-auth_date"),
        pytest.param(lambda d: d.pop("id"), id="missing-id"),
        pytest.param(lambda d: d.pop("first_name"), id="missing-first_name"),
        pytest.param(lambda d: d.update(hash="zz"), id="malformed-hash"),
    ],
)
def test_bad_widget_data_is_a_400_page_without_a_session(client, widget_data, tamper):
    data = widget_data(user_id=9010)
    tamper(data)
    response = client.get("/login/telegram/", data)
    assert response.status_code == 400
    assert "Sign-in failed" in response.content.decode()
    assert not _signed_in(client)
    assert not Partner.objects.filter(telegram_id=9010).exists()


def test_stale_widget_data_is_a_400_page(client, widget_data, settings):
    settings.INIT_DATA_MAX_AGE = 3600
    response = client.get("/login/telegram/", widget_data(user_id=9011, auth_date=int(time.time()) - 3601))
    assert response.status_code == 400 and not _signed_in(client)


def test_widget_data_from_the_future_is_refused(client, widget_data):
    response = client.get("/login/telegram/", widget_data(user_id=9012, auth_date=int(time.time()) + 600))
    assert response.status_code == 400


def test_widget_data_signed_with_another_bot_token_is_refused(client, widget_data):
    response = client.get("/login/telegram/", widget_data(user_id=9013, bot_token="42:OTHER"))
    assert response.status_code == 400 and not _signed_in(client)


def test_a_repeated_widget_field_is_a_400(client, widget_data):
    data = widget_data(user_id=9014)
    response = client.get("/login/telegram/?" + "&".join(f"{k}={v}" for k, v in data.items()) + "&id=1")
    assert response.status_code == 400


def test_a_banned_member_gets_no_session(client, widget_data, staff_user):
    member = PartnerFactory(telegram_id=9015)
    partner_set_status(partner=member, status=Partner.Status.BANNED, actor=staff_user)
    response = client.get("/login/telegram/", widget_data(user_id=9015))
    assert response.status_code == 403 and not _signed_in(client)


def test_sign_in_returns_to_the_dashboard_page_asked_for(client, widget_data):
    assert client.get("/dashboard/tasks/")["Location"] == "/login/?next=%2Fdashboard%2Ftasks%2F"
    client.get("/login/?next=/dashboard/tasks/")
    assert client.get("/login/telegram/", widget_data(user_id=9016))["Location"] == "/dashboard/tasks/"


def test_an_outside_next_is_ignored(client, widget_data):
    client.get("/login/?next=https://evil.example/")
    assert client.get("/login/telegram/", widget_data(user_id=9017))["Location"] == "/dashboard/"


# --- One-time link ------------------------------------------------------------------------------


def test_the_bots_one_time_link_signs_in_once(client):
    member = PartnerFactory()
    token = web_login_token_issue(partner=member)

    response = client.get(f"/login/telegram/{token}/")
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert _signed_in(client)
    assert AuditLog.objects.filter(event_type=EventType.WEB_SIGNED_IN, partner_id=member.pk).get().metadata["method"] == "login_link"

    other = Client()
    again = other.get(f"/login/telegram/{token}/")
    assert again.status_code == 400 and "already used" in again.content.decode()
    assert SESSION_KEY not in other.session


def test_an_expired_one_time_link_is_a_400_page(client):
    member = PartnerFactory()
    token = web_login_token_issue(partner=member, now=timezone.now() - timedelta(minutes=11))
    response = client.get(f"/login/telegram/{token}/")
    assert response.status_code == 400 and not _signed_in(client)


def test_an_unknown_one_time_link_is_a_400_page(client):
    assert client.get("/login/telegram/not-a-real-token/").status_code == 400


# --- Mini App -------------------------------------------------------------------------------------


def test_the_mini_app_entry_loads_telegrams_script_and_can_be_framed_by_telegram_web(client):
    response = client.get("/app/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "https://telegram.org/js/telegram-web-app.js" in body
    assert "X-Frame-Options" not in response
    assert "frame-ancestors 'self' https://web.telegram.org" in response["Content-Security-Policy"]


def test_signed_init_data_is_traded_for_a_session(init_data):
    client = Client(enforce_csrf_checks=True)
    client.get("/app/")  # sets the CSRF cookie, as the page does
    token = client.cookies["csrftoken"].value
    sponsor = PartnerFactory()

    response = client.post(
        "/login/telegram/mini-app/", {"init_data": init_data(9020, start_param=sponsor.referral_code)},
        HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 204
    member = Partner.objects.get(telegram_id=9020)
    assert member.referrer_id == sponsor.pk
    assert client.get("/dashboard/").status_code == 200
    assert AuditLog.objects.get(event_type=EventType.PARTNER_JOINED, partner_id=member.pk).metadata["channel"] == "mini_app"


def test_invalid_init_data_is_a_401_without_a_session(client, init_data):
    raw = init_data(9021).replace("hash=", "hash=0")
    response = client.post("/login/telegram/mini-app/", {"init_data": raw})
    assert response.status_code == 401 and response.json()["code"] == "invalid_init_data"
    assert not _signed_in(client)
    assert client.post("/login/telegram/mini-app/", {}).status_code == 401


def test_the_mini_app_exchange_needs_the_csrf_token(init_data):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/login/telegram/mini-app/", {"init_data": init_data(9022)}).status_code == 403
    assert not Partner.objects.filter(telegram_id=9022).exists()


def test_reopening_the_mini_app_keeps_the_session_without_a_new_sign_in(client, init_data):
    client.post("/login/telegram/mini-app/", {"init_data": init_data(9023)})
    client.post("/login/telegram/mini-app/", {"init_data": init_data(9023)})
    member = Partner.objects.get(telegram_id=9023)
    assert AuditLog.objects.filter(event_type=EventType.WEB_SIGNED_IN, partner_id=member.pk).count() == 1


def test_dashboard_pages_inside_telegram_load_its_script(client, init_data):
    client.post("/login/telegram/mini-app/", {"init_data": init_data(9024)})
    response = client.get("/dashboard/")
    assert "telegram-web-app.js" in response.content.decode()
    assert "frame-ancestors" in response["Content-Security-Policy"]


# --- Sign-out, sessions ------------------------------------------------------------------------


def test_sign_out_is_a_post_with_csrf(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member_web_user(partner=member))
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 403  # no CSRF token
    page = client.get("/dashboard/")
    token = page.cookies.get("csrftoken") or client.cookies["csrftoken"]
    response = client.post("/logout/", HTTP_X_CSRFTOKEN=token.value)
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert SESSION_KEY not in client.session
    assert client.get("/dashboard/").status_code == 302


def test_one_web_user_per_member(member):
    first = member_web_user(partner=member)
    again = member_web_user(partner=Partner.objects.get(pk=member.pk))
    assert first.pk == again.pk and first.username == f"member-{member.pk}"


def test_a_staff_account_with_the_same_name_is_never_reused(member, django_user_model):
    staff = django_user_model.objects.create_user(username=f"member-{member.pk}", password="x-123456789", is_staff=True)
    user = member_web_user(partner=member)
    assert user.pk != staff.pk and not user.is_staff


def test_an_account_without_a_member_profile_gets_a_403_page(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/dashboard/")
    assert response.status_code == 403 and "no member profile" in response.content.decode()


def test_a_suspended_member_gets_a_403_page(member_client, member, staff_user):
    partner_set_status(partner=member, status=Partner.Status.DEACTIVATED, actor=staff_user)
    assert member_client.get("/dashboard/").status_code == 403


def test_staff_sign_in_still_works(client, staff_user):
    response = client.post("/accounts/login/", {"username": "staff", "password": "staff-pass-123", "next": "/admin/"})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("value", "code"),
    [("P2P-ABCDEF12", "P2P-ABCDEF12"), ("P2P-ABCDEF12_wa", "P2P-ABCDEF12"), ("", ""), (None, ""), (" x_y_z ", "x")],
)
def test_the_referral_cookie_value_is_split_from_its_platform(value, code):
    assert referral_code_from_cookie(value) == code


def test_production_cookies_are_secure_and_samesite_none(monkeypatch):
    import importlib

    import p2phub.settings as settings_module

    monkeypatch.setenv("DJANGO_ENV", "production")
    monkeypatch.setenv("DJANGO_SECRET_KEY", "x" * 50)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("TON_DEMO_RATE_USD", "")
    try:
        production = importlib.reload(settings_module)
        assert production.SESSION_COOKIE_SECURE and production.CSRF_COOKIE_SECURE
        assert production.SESSION_COOKIE_SAMESITE == "None" and production.CSRF_COOKIE_SAMESITE == "None"
        assert production.SESSION_COOKIE_HTTPONLY
    finally:
        monkeypatch.undo()
        importlib.reload(settings_module)
