"""Links and the one parser of a referral value (code plus optional platform tag)."""

import re

import pytest

from partners import links
from partners.models import PendingAttribution
from partners.services import SignupContext, partner_join, pending_attribution_record
from partners.tests.factories import PartnerFactory
from referrals.models import Platform, ReferralAttribution

TELEGRAM_START_PARAM = re.compile(r"[A-Za-z0-9_-]{1,64}")


@pytest.mark.parametrize(
    ("value", "code", "platform"),
    [
        ("P2P-7F3A9C21", "P2P-7F3A9C21", "direct"),
        ("p2p-7f3a9c21", "P2P-7F3A9C21", "direct"),
        ("  P2P-7F3A9C21_wa ", "P2P-7F3A9C21", "whatsapp"),
        ("P2P-7F3A9C21_WA", "P2P-7F3A9C21", "whatsapp"),
        ("P2P-7F3A9C21_whatsapp", "P2P-7F3A9C21", "whatsapp"),
        ("P2P-7F3A9C21_x", "P2P-7F3A9C21", "x"),
        ("P2P-7F3A9C21_sms", "P2P-7F3A9C21", "sms"),
        ("P2P-7F3A9C21_zz", "P2P-7F3A9C21", "direct"),  # unknown tag: the code stays, no platform
        ("P2P-7F3A9C21_", "P2P-7F3A9C21", "direct"),
        ("P2P-7F3A9C21X", "", "direct"),  # longer than a code: not a code (no truncation)
        ("P2P-7F3A9C2", "", "direct"),
        ("P2P-7F3A9C21" + "_wa" * 30, "", "direct"),  # over 64 characters
        ("\x00\udcff", "", "direct"),
        ("", "", "direct"),
        (None, "", "direct"),
        (12345, "", "direct"),
    ],
)
def test_parse_referral_ref(value, code, platform):
    ref = links.parse_referral_ref(value)
    assert (ref.code, ref.platform) == (code, platform)


@pytest.mark.parametrize("platform", [p for p in Platform.values if p != "direct"])
def test_every_platform_tag_round_trips_and_fits_telegram_start_param(platform):
    ref = links.ReferralRef(code="P2P-7F3A9C21", platform=platform)
    assert TELEGRAM_START_PARAM.fullmatch(ref.compact)
    assert links.parse_referral_ref(ref.compact) == ref


def test_links_carry_the_compact_form(settings):
    settings.SITE_URL = "https://p2phub.example"
    settings.TELEGRAM_BOT_USERNAME = "HubBot"
    assert links.bot_link("P2P-7F3A9C21") == "https://t.me/HubBot?start=P2P-7F3A9C21"
    assert links.bot_link("P2P-7F3A9C21", "whatsapp") == "https://t.me/HubBot?start=P2P-7F3A9C21_wa"
    assert links.mini_app_link("P2P-7F3A9C21", "x").endswith("?startapp=P2P-7F3A9C21_x")
    assert links.web_link("P2P-7F3A9C21") == "https://p2phub.example/r/P2P-7F3A9C21"
    assert links.web_link("P2P-7F3A9C21", "whatsapp") == "https://p2phub.example/r/P2P-7F3A9C21?p=whatsapp"


@pytest.mark.django_db
def test_join_with_a_tagged_code_joins_under_it_and_records_the_platform():
    referrer = PartnerFactory()
    result = partner_join(
        referral_code=f"{referrer.referral_code.lower()}_wa", telegram_id=5_550_001, signup=SignupContext(channel="bot")
    )
    assert result.referrer == referrer and not result.unknown_referral_code
    attribution = ReferralAttribution.objects.get(new_member=result.partner)
    assert (attribution.referrer, attribution.platform, attribution.channel) == (referrer, "whatsapp", "bot")


@pytest.mark.django_db
def test_signup_context_platform_wins_over_the_code():
    referrer = PartnerFactory()
    result = partner_join(referral_code=referrer.referral_code, signup=SignupContext(channel="web", platform="email"))
    assert ReferralAttribution.objects.get(new_member=result.partner).platform == "email"


@pytest.mark.django_db
def test_plain_code_join_is_attributed_as_direct_and_root_joins_have_no_attribution():
    referrer = PartnerFactory()
    member = partner_join(referral_code=referrer.referral_code).partner
    assert ReferralAttribution.objects.get(new_member=member).platform == "direct"
    root = partner_join(referral_code="P2P-00000000_wa").partner
    assert root.referrer_id is None and not ReferralAttribution.objects.filter(new_member=root).exists()


@pytest.mark.django_db
def test_mini_app_start_param_with_a_tag_joins_under_the_code(tma_client):
    referrer = PartnerFactory()
    client = tma_client(5_550_002, start_param=f"{referrer.referral_code}_tg")
    assert client.get("/api/v1/me/").json()["referrer"]["referral_code"] == referrer.referral_code
    assert ReferralAttribution.objects.get(new_member__telegram_id=5_550_002).platform == "telegram"


@pytest.mark.django_db
def test_bot_pending_attribution_accepts_a_tagged_code():
    referrer = PartnerFactory()
    pending_attribution_record(telegram_id=5_550_003, referral_code=f"{referrer.referral_code}_fb")
    assert PendingAttribution.objects.get(telegram_id=5_550_003).referral_code == referrer.referral_code
    assert partner_join(telegram_id=5_550_003).referrer == referrer
