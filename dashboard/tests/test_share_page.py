"""The Share page (issue #11): links, share buttons that record a share and go on to the
platform, the QR code, the filled templates and the member's own funnel; the same reads and
write as /api/v1/share/."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache

from p2phub.api.throttling import ScopedRateThrottle
from partners import links
from partners.models import Partner
from referrals.models import SHARE_PLATFORMS, ShareClick, ShareEvent
from referrals.selectors import share_kit
from referrals.share_services import share_click_record
from referrals.tests.qr_decode import decode_png

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_the_share_page_shows_links_buttons_qr_templates_and_funnel(member_client, member):
    response = member_client.get("/dashboard/share/")
    assert response.status_code == 200
    body = text(response)
    kit = share_kit(member)
    for url in kit["links"].values():
        assert f'value="{url}"' in body
    for platform in SHARE_PLATFORMS:
        assert f'action="/dashboard/share/{platform.value}/"' in body
    assert '<img src="/api/v1/share/qr.svg"' in body and 'href="/api/v1/share/qr.png" download' in body
    assert len(kit["templates"]) >= 20
    assert body.count('<textarea id="tpl-') == len(kit["templates"])
    assert "{" not in "".join(t["text"] for t in kit["templates"])  # nothing left unfilled
    assert 'data-testid="funnel-whatsapp"' in body and "are not counted" in body
    assert 'aria-current="page">Share<' in body  # in the navigation


def test_the_share_page_is_in_russian_with_russian_templates(member_client, member):
    Partner.objects.filter(pk=member.pk).update(language="ru")
    body = text(member_client.get("/dashboard/share/"))
    assert '<html lang="ru">' in body
    assert "Поделиться" in body and "Ваши ссылки" in body and "Готовые сообщения" in body
    assert "Скопировать" in body and "Всего" in body
    for english in ("Share on", "Your links", "Copy", "Download PNG", "Shares", "Signups", "Total", "QR code"):
        assert f">{english}<" not in body
    member.refresh_from_db()
    russian = share_kit(member)["templates"]
    assert russian and all(t["language"] == "ru" for t in russian)
    assert russian[0]["title"] in body


def test_funnel_numbers_are_grouped_per_language(member_client, member):
    ShareEvent.objects.bulk_create([ShareEvent(partner=member, platform="x") for _ in range(1234)])
    assert 'data-testid="funnel-x">' in text(member_client.get("/dashboard/share/"))
    assert 'data-label="Shares">1,234</td>' in text(member_client.get("/dashboard/share/?lang=en"))
    assert 'data-label="Отправки">1\u00a0234</td>' in text(member_client.get("/dashboard/share/?lang=ru"))


def test_the_funnel_counts_only_clean_clicks(member_client, member):
    code = member.referral_code
    share_click_record(code=f"{code}_wa", ip="198.51.100.7", user_agent="Mozilla/5.0 Chrome/126")
    share_click_record(code=f"{code}_wa", ip="198.51.100.7", user_agent="Mozilla/5.0 Chrome/126")  # repeat
    share_click_record(code=f"{code}_wa", ip="198.51.100.8", user_agent="WhatsApp/2.23")  # preview fetcher
    assert ShareClick.objects.count() == 3
    response = member_client.get("/dashboard/share/")
    row = next(r for r in response.context["funnel"] if r["platform"] == "whatsapp")
    assert (row["clicks"], row["clicks_total"]) == (1, 3)
    assert "3 clicks recorded, 1 counted." in text(response)


@pytest.mark.parametrize("platform", [p.value for p in SHARE_PLATFORMS])
def test_a_share_button_records_the_share_and_redirects_to_the_platform(member_client, member, platform):
    response = member_client.post(f"/dashboard/share/{platform}/")
    assert response.status_code == 303
    expected = next(p for p in share_kit(member)["platforms"] if p["platform"] == platform)
    assert response["Location"] == expected["url"]
    event = ShareEvent.objects.get()
    assert (event.partner_id, event.platform) == (member.pk, platform)
    # The share URL carries the platform's own tagged link.
    assert links.web_link(member.referral_code, platform) in " ".join(
        value for values in parse_qs(urlsplit(response["Location"]).query).values() for value in values
    )


def test_whatsapp_and_email_share_urls_hold_the_text_and_link(member_client, member):
    whatsapp = member_client.post("/dashboard/share/whatsapp/")["Location"]
    assert whatsapp.startswith("https://wa.me/?text=")
    email = member_client.post("/dashboard/share/email/")["Location"]
    assert email.startswith("mailto:?subject=Join%20me%20on%20P2PHub&body=")


@pytest.mark.parametrize("platform", ["myspace", "qr", "copy", "direct", "TELEGRAM", "x-"])
def test_an_unknown_platform_is_a_404_page_and_records_nothing(member_client, platform):
    response = member_client.post(f"/dashboard/share/{platform}/")
    assert response.status_code == 404
    assert not ShareEvent.objects.exists()


def test_a_share_button_is_a_post_with_csrf(client, member):
    from dashboard.services import member_web_user

    csrf_client = client.__class__(enforce_csrf_checks=True)
    csrf_client.force_login(member_web_user(partner=member))
    assert csrf_client.post("/dashboard/share/telegram/").status_code == 403
    assert not ShareEvent.objects.exists()


def test_get_on_a_share_button_is_a_405(member_client):
    assert member_client.get("/dashboard/share/telegram/").status_code == 405
    assert not ShareEvent.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/dashboard/share/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=%2Fdashboard%2Fshare%2F"
    response = client.post("/dashboard/share/telegram/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    assert not ShareEvent.objects.exists()


def test_share_buttons_share_the_apis_throttle_and_still_redirect(member_client, member, monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "share_events", "3/min")
    cache.clear()
    responses = [member_client.post("/dashboard/share/x/") for _ in range(4)]
    assert [r.status_code for r in responses] == [303, 303, 303, 303]
    assert responses[3]["Location"].startswith("https://x.com/intent/post?")
    assert ShareEvent.objects.count() == 3  # the fourth share is over the limit: not recorded
    assert member_client.post("/api/v1/share/events/", {"platform": "x"}).status_code == 429  # one budget


def test_a_signed_in_member_loads_the_qr_images_with_the_session(member_client, member):
    svg = member_client.get("/api/v1/share/qr.svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    png = member_client.get("/api/v1/share/qr.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert decode_png(png.content) == [share_kit(member)["qr_link"]]
