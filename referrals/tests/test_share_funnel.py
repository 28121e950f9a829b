"""The share funnel per platform (shares → clicks → signups → PRO), per member and platform-wide."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from partners.services import SignupContext, partner_join
from partners.tests.factories import PartnerFactory
from payments.services import payment_complete, payment_create
from referrals.selectors import FUNNEL_PLATFORMS, share_funnel
from referrals.share_services import share_event_record

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
BOTS = ["Mozilla/5.0 (compatible; Googlebot/2.1)", "curl/8.5.0", "facebookexternalhit/1.1", "python-requests/2.32"]


@pytest.fixture(autouse=True)
def _wallets(settings):
    settings.USDT_WALLET_ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"


def row(funnel, platform):
    return next(item for item in funnel if item["platform"] == platform)


def buy_pro(partner):
    payment = payment_create(partner=partner, method="USDT")
    return payment_complete(payment_id=payment.pk, tx_hash=f"{payment.pk:064x}")


def test_click_web_signup_and_pro_purchase_land_in_the_whatsapp_row_of_both_funnels(settings, tma_client):
    referrer = PartnerFactory()
    other = PartnerFactory()  # someone else's traffic: in the platform-wide funnel only
    share_event_record(partner=referrer, platform="whatsapp")
    share_event_record(partner=other, platform="whatsapp")

    visitor = Client()
    response = visitor.get(
        f"/r/{referrer.referral_code}?p=whatsapp", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT=BROWSER
    )
    assert response.status_code == 302
    cookie = response.cookies[settings.REFERRAL_COOKIE_NAME].value
    assert cookie == f"{referrer.referral_code}_wa"

    # The web sign-in passes the cookie's value to the one signup path, as the dashboard does.
    result = partner_join(
        referral_code=visitor.cookies[settings.REFERRAL_COOKIE_NAME].value,
        first_name="Grace",
        signup=SignupContext(ip="203.0.113.9", user_agent=BROWSER, channel="web"),
    )
    assert result.created and result.referrer == referrer
    partner_join(referral_code=f"{other.referral_code}_wa", signup=SignupContext(channel="web"))
    buy_pro(result.partner)

    mine = share_funnel(partner=referrer)
    assert row(mine, "whatsapp") == {
        "platform": "whatsapp",
        "label": "WhatsApp",
        "shares": 1,
        "clicks": 1,
        "clicks_total": 1,
        "signups": 1,
        "pro_purchases": 1,
        "pro_members": 1,
    }
    assert all(item["signups"] == 0 for item in mine if item["platform"] != "whatsapp")
    everyone = share_funnel()
    assert {key: row(everyone, "whatsapp")[key] for key in ("shares", "clicks", "signups", "pro_purchases")} == {
        "shares": 2,
        "clicks": 1,
        "signups": 2,
        "pro_purchases": 1,
    }
    assert [item["platform"] for item in everyone] == [platform.value for platform in FUNNEL_PLATFORMS]

    # The member's own funnel over the API.
    client = tma_client(referrer)
    api_row = row(client.get("/api/v1/share/funnel/").json()["platforms"], "whatsapp")
    assert (api_row["clicks"], api_row["signups"], api_row["pro_purchases"]) == (1, 1, 1)


def test_thousand_clicks_from_fifty_ips_with_ten_percent_bots_count_only_the_clean_ones():
    referrer = PartnerFactory()
    client = Client()
    for i in range(1000):
        agent = BOTS[i % len(BOTS)] if i % 10 == 0 else BROWSER
        response = client.get(
            f"/r/{referrer.referral_code}?p=telegram", REMOTE_ADDR=f"198.51.100.{i % 50}", HTTP_USER_AGENT=agent
        )
        assert response.status_code == 302
    # Clean = the first non-bot click of each IP within the hour. Click i comes from IP i % 50 and
    # is a bot when i % 10 == 0, so IPs 0, 10, 20, 30, 40 only ever sent bots.
    expected = len({i % 50 for i in range(1000) if i % 10 != 0})
    assert expected == 45
    telegram = row(share_funnel(partner=referrer), "telegram")
    assert (telegram["clicks"], telegram["clicks_total"]) == (expected, 1000)
    assert row(share_funnel(), "telegram")["clicks"] == expected


def test_funnel_window_and_other_platforms():
    referrer = PartnerFactory()
    share_event_record(partner=referrer, platform="qr")
    member = partner_join(referral_code=f"{referrer.referral_code}_qr").partner
    partner_join(referral_code=referrer.referral_code)  # plain code: the direct row
    funnel = share_funnel(partner=referrer)
    assert (row(funnel, "qr")["shares"], row(funnel, "qr")["signups"], row(funnel, "direct")["signups"]) == (1, 1, 1)
    later = timezone.now() + timedelta(minutes=1)
    assert all(item["shares"] == item["signups"] == 0 for item in share_funnel(partner=referrer, since=later))
    assert row(share_funnel(partner=referrer, until=later), "qr")["signups"] == 1
    assert member.referrer_id == referrer.pk


def test_refunded_or_pending_payments_are_not_purchases():
    referrer = PartnerFactory()
    member = partner_join(referral_code=f"{referrer.referral_code}_sms").partner
    payment_create(partner=member, method="USDT")  # pending
    assert row(share_funnel(partner=referrer), "sms")["pro_purchases"] == 0
    buy_pro(member)
    buy_pro(member)  # a renewal is a second purchase by the same member
    sms = row(share_funnel(partner=referrer), "sms")
    assert (sms["pro_purchases"], sms["pro_members"]) == (2, 1)


def test_funnel_costs_four_queries_whatever_the_volume(django_assert_num_queries):
    referrer = PartnerFactory()
    with django_assert_num_queries(4):
        share_funnel(partner=referrer)
    for platform in ("x", "reddit", "email"):
        share_event_record(partner=referrer, platform=platform)
        buy_pro(partner_join(referral_code=f"{referrer.referral_code}_{platform}").partner)
    with django_assert_num_queries(4):
        share_funnel(partner=referrer)
    with django_assert_num_queries(4):
        share_funnel()


def test_funnel_endpoint_needs_a_member(api_client):
    assert api_client.get("/api/v1/share/funnel/").status_code == 401
