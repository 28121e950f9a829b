"""`GET /r/<code>`: the click, the attribution cookie, the redirect and the landing page."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from partners.tests.factories import PartnerFactory
from referrals.models import ShareClick

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile Safari/604.1"


@pytest.fixture
def referrer():
    return PartnerFactory(first_name="Ada", last_name="Lovelace")


def visit(path, *, ip="203.0.113.7", user_agent=BROWSER, client=None):
    return (client or Client()).get(path, REMOTE_ADDR=ip, HTTP_USER_AGENT=user_agent)


def test_click_sets_the_cookie_and_redirects_to_the_landing_page(referrer, settings):
    response = visit(f"/r/{referrer.referral_code}?p=whatsapp")
    assert response.status_code == 302
    assert response["Location"] == f"/join/?ref={referrer.referral_code}_wa"
    cookie = response.cookies[settings.REFERRAL_COOKIE_NAME]
    assert cookie.value == f"{referrer.referral_code}_wa"
    assert cookie["max-age"] == 30 * 24 * 3600 and cookie["httponly"] and cookie["samesite"] == "Lax"
    click = ShareClick.objects.get()
    assert (click.referrer, click.platform, click.counted, click.is_bot) == (referrer, "whatsapp", True, False)
    assert click.user_agent == BROWSER
    assert len(click.ip_hash) == 64 and "203.0.113.7" not in click.ip_hash


def test_tag_in_the_path_and_lower_case_code_work(referrer, settings):
    response = visit(f"/r/{referrer.referral_code.lower()}_li/")
    assert response.status_code == 302
    assert response.cookies[settings.REFERRAL_COOKIE_NAME].value == f"{referrer.referral_code}_li"
    assert ShareClick.objects.get().platform == "linkedin"


def test_plain_link_is_a_direct_click_and_unknown_platform_param_is_ignored(referrer):
    visit(f"/r/{referrer.referral_code}")
    visit(f"/r/{referrer.referral_code}?p=myspace", ip="203.0.113.8")
    assert list(ShareClick.objects.values_list("platform", flat=True)) == ["direct", "direct"]


@pytest.mark.parametrize(
    "path",
    [
        "/r/P2P-00000000",  # well formed, nobody's
        "/r/P2P-7F3A9C21X",
        "/r/" + "A" * 5000,
        "/r/%FF%FE",
        "/r/%F0%9F%98%80?p=%FF",
        "/r/",
        "/r/P2P-7F3A9C21%0A_wa",
    ],
)
def test_unknown_or_malformed_code_redirects_without_attribution(path, settings, referrer):
    response = visit(path)
    assert response.status_code == 302
    assert response["Location"] == "/join/"
    assert settings.REFERRAL_COOKIE_NAME not in response.cookies
    assert not ShareClick.objects.exists()


@pytest.mark.parametrize("path", ["/r/P2P-7F3A9C21%00", "/r/P2P-7F3A9C21?p=wa%00"])
def test_nul_bytes_are_refused_by_the_bad_input_guard_without_attribution(path, referrer, settings):
    # The shared BadInputMiddleware answers a NUL in the path 404 and in the query 400, site-wide.
    response = visit(path.replace("P2P-7F3A9C21", referrer.referral_code))
    assert 400 <= response.status_code < 500
    assert settings.REFERRAL_COOKIE_NAME not in response.cookies and not ShareClick.objects.exists()


def test_only_safe_methods(referrer):
    assert Client().post(f"/r/{referrer.referral_code}").status_code == 405
    head = Client().head(f"/r/{referrer.referral_code}", HTTP_USER_AGENT=BROWSER)
    assert head.status_code == 302 and head["Location"] == "/join/"
    assert not ShareClick.objects.exists() and not head.cookies  # a probe, not a click


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "TelegramBot (like TwitterBot)",
        "facebookexternalhit/1.1",
        "WhatsApp/2.23.20.0 A",
        "curl/8.5.0",
        "python-requests/2.32",
    ],
)
def test_bot_and_link_preview_clicks_are_kept_but_not_counted(referrer, agent):
    visit(f"/r/{referrer.referral_code}", user_agent=agent)
    click = ShareClick.objects.get()
    assert click.is_bot and not click.counted


def test_repeat_click_from_one_ip_within_an_hour_is_kept_but_not_counted(referrer):
    for _ in range(3):
        visit(f"/r/{referrer.referral_code}", ip="198.51.100.1")
    visit(f"/r/{referrer.referral_code}", ip="198.51.100.2")
    assert list(ShareClick.objects.order_by("id").values_list("counted", flat=True)) == [True, False, False, True]


def test_a_click_from_the_same_ip_an_hour_later_counts_again(referrer):
    visit(f"/r/{referrer.referral_code}", ip="198.51.100.1")
    ShareClick.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    visit(f"/r/{referrer.referral_code}", ip="198.51.100.1")
    assert ShareClick.objects.filter(counted=True).count() == 2


def test_a_bot_click_does_not_stop_a_person_on_that_ip_from_counting(referrer):
    visit(f"/r/{referrer.referral_code}", ip="198.51.100.1", user_agent="curl/8.5.0")
    visit(f"/r/{referrer.referral_code}", ip="198.51.100.1")
    assert list(ShareClick.objects.order_by("id").values_list("counted", flat=True)) == [False, True]


def test_newer_link_replaces_the_cookie(referrer, settings):
    other = PartnerFactory()
    client = Client()
    visit(f"/r/{referrer.referral_code}?p=x", client=client)
    visit(f"/r/{other.referral_code}?p=sms", client=client)
    assert client.cookies[settings.REFERRAL_COOKIE_NAME].value == f"{other.referral_code}_sms"


def test_click_costs_three_queries(referrer, django_assert_num_queries):
    visit(f"/r/{referrer.referral_code}")  # warm up
    with django_assert_num_queries(3):  # the code's member, the repeat-IP probe, the insert
        visit(f"/r/{referrer.referral_code}?p=reddit", ip="192.0.2.44")


def test_landing_page_invites_in_through_bot_mini_app_and_web(referrer, settings):
    settings.TELEGRAM_BOT_USERNAME = "HubBot"
    client = Client()
    response = client.get(visit(f"/r/{referrer.referral_code}?p=whatsapp", client=client)["Location"])
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ada Lovelace invites you" in html
    assert f"https://t.me/HubBot?start={referrer.referral_code}_wa" in html
    assert f"https://t.me/HubBot/app?startapp={referrer.referral_code}_wa" in html
    assert 'href="/login/"' in html


def test_landing_page_reads_the_cookie_when_the_query_has_no_code(referrer, settings):
    client = Client()
    client.cookies[settings.REFERRAL_COOKIE_NAME] = f"{referrer.referral_code}_em"
    html = client.get("/join/").content.decode()
    assert f"start={referrer.referral_code}_em" in html


def test_landing_page_without_a_code_is_a_plain_invitation(referrer):
    html = Client().get("/join/?ref=%FF%FEgarbage").content.decode()
    assert "invites you" not in html and "start=" not in html and 'href="/login/"' in html


def test_landing_page_in_russian(referrer):
    response = Client().get(f"/join/?ref={referrer.referral_code}", HTTP_ACCEPT_LANGUAGE="ru")
    assert "приглашает вас в P2PHub" in response.content.decode()
