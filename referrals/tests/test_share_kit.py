"""GET /api/v1/share/: three links, 8 platforms with working share URLs, filled templates in the
member's language, QR codes (SVG and PNG) that decode back to the link, with ETag."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache

from partners.models import Partner
from partners.tests.factories import PartnerFactory
from payments.services import payment_complete, payment_create
from referrals.selectors import share_kit
from referrals.tests.qr_decode import decode_png, decode_svg

pytestmark = pytest.mark.django_db

PLATFORMS = ["telegram", "whatsapp", "x", "facebook", "linkedin", "reddit", "email", "sms"]


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://p2phub.example"
    settings.TELEGRAM_BOT_USERNAME = "HubBot"
    settings.TON_WALLET_ADDRESS = "0:83DFD552E63729B472FCBCC8C45EBCC6691702558B68EC7527E1BA403A0F31A8"
    settings.USDT_WALLET_ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"


def member_client(tma_client, telegram_id, **kwargs):
    client = tma_client(telegram_id, first_name="Ada", last_name="Lovelace", **kwargs)
    assert client.get("/api/v1/me/").status_code == 200
    return client, Partner.objects.get(telegram_id=telegram_id)


def buy_pro(partner):
    payment = payment_create(partner=partner, method="USDT")
    return payment_complete(payment_id=payment.pk, tx_hash=f"{payment.pk:064x}")


def test_share_kit_links_and_platform_share_urls(tma_client):
    client, partner = member_client(tma_client, 7_700_001)
    kit = client.get("/api/v1/share/").json()
    code = partner.referral_code
    assert kit["links"] == {
        "bot": f"https://t.me/HubBot?start={code}",
        "mini_app": f"https://t.me/HubBot/app?startapp={code}",
        "web": f"https://p2phub.example/r/{code}",
    }
    assert [row["platform"] for row in kit["platforms"]] == PLATFORMS
    for row in kit["platforms"]:
        link, text, url = row["link"], row["text"], row["url"]
        assert link == f"https://p2phub.example/r/{code}?p={row['platform']}"
        assert text and "{" not in text and "[" not in text and link not in text
        assert not re.search(r"[\s\"<>]", url), f"{row['platform']} share URL is not fully encoded: {url}"
        parts = urlsplit(url)
        query = parse_qs(parts.query, strict_parsing=False)
        match row["platform"]:
            case "telegram":
                assert (parts.netloc, parts.path) == ("t.me", "/share/url")
                assert query == {"url": [link], "text": [text]}
            case "whatsapp":
                assert (parts.netloc, query) == ("wa.me", {"text": [f"{text}\n{link}"]})
            case "x":
                assert (parts.netloc, parts.path, query) == ("x.com", "/intent/post", {"text": [text], "url": [link]})
            case "facebook":
                assert (parts.netloc, query) == ("www.facebook.com", {"u": [link]})
            case "linkedin":
                assert (parts.netloc, query) == ("www.linkedin.com", {"url": [link]})
            case "reddit":
                assert (parts.netloc, query) == ("www.reddit.com", {"url": [link], "title": [text]})
            case "email":
                assert parts.scheme == "mailto"
                assert query == {"subject": ["Join me on P2PHub"], "body": [f"{text}\n{link}"]}
            case "sms":
                assert parts.scheme == "sms" and url.startswith("sms:?&body=")
                assert parse_qs(parts.query.lstrip("&")) == {"body": [f"{text}\n{link}"]}
    # Encoding is RFC 3986 (%20 for spaces, never "+", which mail and SMS apps show literally).
    assert "%20" in next(row["url"] for row in kit["platforms"] if row["platform"] == "email")
    assert "+" not in next(row["url"] for row in kit["platforms"] if row["platform"] == "sms")


@pytest.mark.parametrize("language", ["en", "ru"])
def test_templates_in_the_members_language_with_nothing_left_unfilled(tma_client, language):
    client, partner = member_client(tma_client, 7_700_002, language_code=language)
    assert partner.language == language
    templates = client.get("/api/v1/share/").json()["templates"]
    assert len(templates) >= 20
    assert {template["language"] for template in templates} == {language}
    for template in templates:
        assert not re.search(r"[{}\[\]]", template["text"]), template["text"]
        assert f"https://p2phub.example/r/{partner.referral_code}" in template["text"]
    if language == "ru":
        assert any("Присоединяйся" in template["text"] for template in templates)


def test_zero_figures_are_left_out_and_real_ones_filled_in(tma_client):
    cache.clear()
    client, partner = member_client(tma_client, 7_700_003)
    fresh = client.get("/api/v1/share/").json()["templates"]
    texts = "\n".join(template["text"] for template in fresh)
    # No earnings and no referrals yet: those parts are gone, never shown as 0.
    for phrase in (
        "joined through me",
        "have earned",
        "Earned so far",
        "via my link",
        "commission so far",
        "I have invited",
    ):
        assert phrase not in texts
    assert not re.search(r": 0\b", texts)
    community = Partner.objects.active().count()
    assert f"Members in the community: {community}." in texts

    invitee = PartnerFactory(referrer=partner)
    buy_pro(invitee)  # 30% of 39.00 to the referrer
    cache.clear()
    texts = "\n".join(template["text"] for template in client.get("/api/v1/share/").json()["templates"])
    assert "Commission I have earned so far: 11.70 USDT." in texts
    assert "Partners who joined through me so far: 1." in texts
    assert f"Members in the community: {Partner.objects.active().count()}." in texts


def test_russian_figures_use_russian_number_format(tma_client):
    client, partner = member_client(tma_client, 7_700_004, language_code="ru")
    buy_pro(PartnerFactory(referrer=partner))
    texts = "\n".join(template["text"] for template in client.get("/api/v1/share/").json()["templates"])
    assert "Моя комиссия на сегодня: 11,70 USDT." in texts


def test_template_for_a_platform_carries_that_platforms_link(tma_client):
    client, partner = member_client(tma_client, 7_700_005)
    templates = client.get("/api/v1/share/").json()["templates"]
    whatsapp = [template for template in templates if template["platform"] == "whatsapp"]
    assert whatsapp and all(f"/r/{partner.referral_code}?p=whatsapp" in t["text"] for t in whatsapp)


def test_qr_svg_and_png_decode_back_to_the_link(tma_client):
    client, partner = member_client(tma_client, 7_700_006)
    kit = client.get("/api/v1/share/").json()
    assert kit["qr_link"] == f"https://p2phub.example/r/{partner.referral_code}?p=qr"
    svg = client.get(urlsplit(kit["qr_svg_url"]).path)
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert decode_svg(svg.content) == [kit["qr_link"]]
    png = client.get(urlsplit(kit["qr_png_url"]).path)
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert decode_png(png.content) == [kit["qr_link"]]


@pytest.mark.parametrize("kind", ["svg", "png"])
def test_qr_is_cacheable_with_an_etag(tma_client, kind):
    client, _partner = member_client(tma_client, 7_700_007)
    first = client.get(f"/api/v1/share/qr.{kind}")
    etag = first["ETag"]
    assert etag.startswith('"') and "private" in first["Cache-Control"]
    again = client.get(f"/api/v1/share/qr.{kind}", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag and not again.content
    assert client.get(f"/api/v1/share/qr.{kind}", HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert client.get(f"/api/v1/share/qr.{kind}", HTTP_IF_NONE_MATCH='"stale"').status_code == 200
    other, _ = member_client(tma_client, 7_700_008)
    assert other.get(f"/api/v1/share/qr.{kind}")["ETag"] != etag  # another member, another link


def test_qr_of_another_kind_is_a_404_and_anonymous_is_401(tma_client, api_client):
    client, _ = member_client(tma_client, 7_700_009)
    assert client.get("/api/v1/share/qr.gif").status_code == 404
    assert api_client.get("/api/v1/share/qr.svg").status_code == 401
    assert api_client.get("/api/v1/share/").status_code == 401


def test_share_kit_query_count_does_not_grow_with_the_network(django_assert_num_queries):
    leader = PartnerFactory()
    share_kit(leader)  # community size cached
    with django_assert_num_queries(3):  # templates, USDT earnings, network counts
        share_kit(leader)
    for _ in range(5):
        PartnerFactory(referrer=PartnerFactory(referrer=leader))
    with django_assert_num_queries(3):
        kit = share_kit(leader)
    assert "Partners who joined through me so far: 5." in "\n".join(t["text"] for t in kit["templates"])
