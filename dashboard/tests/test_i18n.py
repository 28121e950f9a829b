"""English and Russian: the member's language by default, ?lang= for the session, the settings
page and the header switch change the member's own; numbers formatted per language."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from dashboard.templatetags.dashboard_tags import money, num
from dashboard.urls import dashboard_urls, signin_urls
from partners.models import Partner
from payments.services import usdt_correction_create

pytestmark = pytest.mark.django_db


def _russian(member):
    Partner.objects.filter(pk=member.pk).update(language="ru")


def test_pages_answer_in_the_members_language(member_client, member):
    _russian(member)
    response = member_client.get("/dashboard/")
    body = response.content.decode()
    assert response["Content-Language"] == "ru" and '<html lang="ru">' in body
    assert "Ежедневная отметка" in body and "Новичок" in body and "Выйти" in body


@pytest.mark.parametrize(
    "url",
    ["/dashboard/", "/dashboard/network/", "/dashboard/network/tree/", "/dashboard/earnings/", "/dashboard/tasks/",
     "/dashboard/leaderboard/", "/dashboard/pro/", "/dashboard/payouts/", "/dashboard/notifications/", "/dashboard/share/",
     "/dashboard/settings/"],
)
def test_every_page_is_translated(member_client, member, url):
    _russian(member)
    body = member_client.get(url).content.decode()
    assert "Главная" in body and "Настройки" in body  # the navigation
    # No English sentence of the page's own is left (a few words are the same in both, e.g. PRO, XP).
    for english in ("Sign out", "Check in", "Your network", "Request a payout", "Nothing", "Settings saved", "Mark all as read", "Save"):
        assert f">{english}<" not in body


def test_lang_switches_the_page_for_the_session_without_changing_the_member(member_client, member):
    assert "Главная" in member_client.get("/dashboard/?lang=ru").content.decode()
    assert "Главная" in member_client.get("/dashboard/tasks/").content.decode()  # kept for the session
    member.refresh_from_db()
    assert member.language == "en"
    assert "Home" in member_client.get("/dashboard/?lang=en").content.decode()


def test_an_unknown_lang_is_ignored(member_client):
    response = member_client.get("/dashboard/?lang=xx")
    assert response.status_code == 200 and response["Content-Language"] == "en"


def test_the_header_switch_changes_the_members_language(member_client, member):
    response = member_client.post("/dashboard/settings/language/", {"language": "ru", "next": "/dashboard/tasks/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/dashboard/tasks/"
    assert [str(m) for m in response.context["messages"]] == ["Язык изменён."]
    member.refresh_from_db()
    assert member.language == "ru"
    assert member_client.post("/dashboard/settings/language/", {"language": "de"}).status_code == 302
    member.refresh_from_db()
    assert member.language == "ru"


def test_the_settings_page_switches_the_language_and_a_session_lang_yields(member_client, member):
    member_client.get("/dashboard/?lang=ru")
    member_client.post("/dashboard/settings/", {"language": "en", "notifications_enabled": "on", "leaderboard_visibility": "visible"})
    assert "Home" in member_client.get("/dashboard/").content.decode()


def test_service_errors_are_translated(member_client, member):
    _russian(member)
    response = member_client.post("/dashboard/tasks/banking_app/claim/", follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Сначала начните задание, затем получите награду."]
    member_client.post("/dashboard/tasks/invite_3_friends/start/", follow=True)
    response = member_client.post("/dashboard/tasks/invite_3_friends/claim/", follow=True)
    assert [str(m) for m in response.context["messages"]] == ["Условие не выполнено. Прогресс: 0/3"]


def test_sign_in_errors_are_translated(client):
    response = client.get("/login/telegram/?lang=ru&id=1&hash=" + "0" * 64)
    assert response.status_code == 400 and "Не удалось войти" in response.content.decode()
    assert "Вход в P2PHub" in client.get("/login/").content.decode()  # the session keeps ?lang=
    assert client.get("/login/telegram/expired-token/").status_code == 400


def test_numbers_follow_the_language(member_client, member, staff_user):
    usdt_correction_create(partner=member, amount=Decimal("1234.5"), reason="x", actor=staff_user)
    assert 'data-testid="usdt-available">1,234.50<' in member_client.get("/dashboard/").content.decode()
    _russian(member)
    assert 'data-testid="usdt-available">1\xa0234,50<' in member_client.get("/dashboard/").content.decode()


def test_number_filters():
    with translation.override("en"):
        assert num(1234567) == "1,234,567" and money(Decimal("10")) == "10.00" and money(Decimal("0.123456")) == "0.123456"
    with translation.override("ru"):
        assert num(1234567) == "1\xa0234\xa0567" and money(Decimal("11.7")) == "11,70"


def test_every_russian_message_is_translated():
    """The committed catalogue covers every string of the dashboard (no empty msgstr)."""
    from pathlib import Path

    po = (Path(__file__).resolve().parents[2] / "locale/ru/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    blocks = po.split("\n\n")[1:]
    untranslated = [b for b in blocks if b.strip() and ('msgstr ""' in b.splitlines()[-1] and "msgstr[" not in b)]
    assert untranslated == []
    assert (Path(__file__).resolve().parents[2] / "locale/ru/LC_MESSAGES/django.mo").exists()


def test_every_route_has_a_name():
    assert all(pattern.name for pattern in [*signin_urls, *dashboard_urls])
    assert reverse("web-login") == "/login/" and reverse("dashboard-home") == "/dashboard/"


def test_a_missing_page_is_a_translated_404_page(member_client, member):
    _russian(member)
    response = member_client.get("/dashboard/network/?level=10")
    assert response.status_code == 404 and "Страница не найдена" in response.content.decode()


def test_a_widget_sign_up_takes_the_browsers_language(client, widget_data):
    client.get("/login/telegram/", widget_data(user_id=9030), HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9")
    assert Partner.objects.get(telegram_id=9030).language == "ru"
