"""The dashboard in Chromium (Playwright, Debian's /usr/bin/chromium): sign in through the Login
Widget callback with signed data, check in, start and claim a task, open a TON payment and see
its QR, request a payout and see it listed, switch to Russian, sign out; and the Mini App path
/app/ with signed initData. Every page is photographed at 360 px and 1366 px into screenshots/
(git-ignored; `make screenshots`)."""

import json
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from playwright.sync_api import expect

from dashboard.tests.builders import bulk_downline
from dashboard.tests.conftest import signed_widget_data
from p2phub.testing.telegram import signed_init_data
from partners.links import web_link as web_link_for
from partners.models import Partner
from partners.notifications import Kind, notification_create
from partners.tests.factories import PartnerFactory
from payments.services import payment_complete, payment_create, usdt_correction_create
from referrals.models import ShareEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("seeded_catalogues")]
# CI machines are shared: wait longer than Playwright's 5 s before calling a page broken.
expect.set_options(timeout=20_000)

SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
WIDTHS = {"360": {"width": 360, "height": 780}, "1366": {"width": 1366, "height": 900}}
PAGES = [
    ("home", "/dashboard/"),
    ("network", "/dashboard/network/"),
    ("tree", "/dashboard/network/tree/"),
    ("earnings-xp", "/dashboard/earnings/"),
    ("earnings-usdt", "/dashboard/earnings/?currency=USDT"),
    ("tasks", "/dashboard/tasks/"),
    ("leaderboard", "/dashboard/leaderboard/"),
    ("pro", "/dashboard/pro/"),
    ("payouts", "/dashboard/payouts/"),
    ("notifications", "/dashboard/notifications/"),
    ("share", "/dashboard/share/"),
    ("settings", "/dashboard/settings/"),
]
# Telegram's own scripts are the only external ones; this machine is offline, so tests serve
# stand-ins: the widget script renders nothing, the WebApp script provides a signed initData,
# Telegram-like theme variables and a recording back button.
WEBAPP_STUB = """
window.__tg = {backShown: false, readyCalled: false, opened: []};
window.Telegram = {WebApp: {
  initData: %(init_data)s, colorScheme: "light", themeParams: {},
  ready: function () { window.__tg.readyCalled = true; }, expand: function () {},
  openLink: function (url) { window.__tg.opened.push(url); },
  openTelegramLink: function (url) { window.__tg.opened.push("telegram:" + url); },
  BackButton: {show: function () { window.__tg.backShown = true; }, hide: function () { window.__tg.backShown = false; },
               onClick: function () {}}
}};
document.documentElement.style.setProperty("--tg-theme-bg-color", "#fffdf5");
document.documentElement.style.setProperty("--tg-theme-button-color", "#2ea6ff");
"""


@pytest.fixture
def offline_telegram(page):
    page.set_default_timeout(30_000)
    def install(init_data: str = ""):
        page.route(
            re.compile(r"^https://telegram\.org/js/telegram-web-app\.js.*"),
            lambda route: route.fulfill(content_type="text/javascript", body=WEBAPP_STUB % {"init_data": json.dumps(init_data)}),
        )
        page.route(re.compile(r"^https://telegram\.org/js/telegram-widget\.js.*"), lambda route: route.fulfill(content_type="text/javascript", body=""))

    install()
    return install


def _shoot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    for label, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(WIDTHS["1366"])


def _network_for(member: Partner, staff_user) -> None:
    """Something on every page: a downline, a PRO purchase in it (commission), a credit, a notification."""
    buyer = PartnerFactory(referrer=member, first_name="Ann", last_name="Lee", username="annlee")
    PartnerFactory(referrer=buyer, first_name="Cid", last_name="Moss")
    bulk_downline(member, [6, 12, 24])
    payment_complete(payment_id=payment_create(partner=buyer, method="USDT").pk)
    usdt_correction_create(partner=member, amount=Decimal("50"), reason="demo credit", actor=staff_user)
    notification_create(partner=member, kind=Kind.PRO_EXPIRED)


def test_a_member_signs_in_and_uses_every_page(live_server, page, offline_telegram, settings, staff_user):
    settings.TON_DEMO_RATE_USD = "5.00"
    settings.TON_WALLET_ADDRESS = "0:83DFD552E63729B472FCBCC8C45EBCC6691702558B68EC7527E1BA403A0F31A8"
    settings.USDT_WALLET_ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"
    base = live_server.url
    page.set_viewport_size(WIDTHS["1366"])

    page.goto(base + "/login/")
    expect(page.get_by_role("heading", name="Sign in to P2PHub")).to_be_visible()
    _shoot(page, "login")

    # The Login Widget's redirect, with data signed for the test bot.
    page.goto(base + "/login/telegram/?" + urlencode(signed_widget_data(user_id=777001, first_name="Mia", last_name="Stone", username="mia")))
    expect(page).to_have_url(base + "/dashboard/")
    member = Partner.objects.get(telegram_id=777001)
    _network_for(member, staff_user)
    page.reload()
    _shoot(page, "home-before-checkin")

    # Check in: the streak and XP change on the page.
    xp_before = int(page.get_by_test_id("xp").inner_text().replace(",", ""))
    page.get_by_role("button", name="Check in").click()
    expect(page.get_by_role("status").first).to_contain_text("Checked in: +10 XP")
    expect(page.get_by_test_id("streak")).to_have_text("1")
    assert int(page.get_by_test_id("xp").inner_text().replace(",", "")) == xp_before + 10

    # Start and claim a task.
    page.get_by_role("link", name="Tasks", exact=True).click()
    task = page.get_by_test_id("task-telegram_bot")
    task.get_by_role("button", name="Start").click()
    expect(page.get_by_text("Task started: Start the P2PHub bot.")).to_be_visible()
    page.get_by_test_id("task-telegram_bot").get_by_role("button", name="Claim reward").click()
    expect(page.get_by_text("Reward claimed: +25 XP for Start the P2PHub bot.")).to_be_visible()
    expect(page.get_by_test_id("task-telegram_bot")).to_contain_text("+25 XP earned")

    # A TON payment and its QR code.
    page.get_by_role("link", name="PRO", exact=True).click()
    page.get_by_role("button", name="Pay with TON").click()
    expect(page).to_have_url(re.compile(r"/dashboard/pro/payments/\d+/$"))
    expect(page.get_by_test_id("qr").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("payment-status")).to_have_text("Waiting for payment")
    expect(page.locator("#countdown")).to_have_text(re.compile(r"^(10:00|9:\d\d)$"))
    assert page.get_by_role("link", name="Open in a TON wallet").get_attribute("href").startswith("ton://transfer/")
    _shoot(page, "payment-ton")

    # A payout request, then listed.
    page.get_by_role("link", name="Payouts", exact=True).click()
    page.get_by_label("Amount (USDT)").fill("12.5")
    page.get_by_label("Network").select_option("TRC20")
    page.get_by_label("Wallet address").fill("T" + "A" * 33)
    page.get_by_role("button", name="Request payout").click()
    expect(page.get_by_text(re.compile(r"Payout #\d+ requested"))).to_be_visible()
    expect(page.get_by_test_id("payout-row").first).to_contain_text("12.50 USDT")

    # A bad request says why.
    page.get_by_label("Amount (USDT)").fill("5")
    page.get_by_label("Network").select_option("TRC20")
    page.get_by_label("Wallet address").fill("T" + "A" * 33)
    page.get_by_role("button", name="Request payout").click()
    expect(page.get_by_text("The minimum payout is 10 USDT.")).to_be_visible()

    # The tree explorer expands a member in place.
    page.goto(base + "/dashboard/network/tree/")
    page.get_by_role("link", name=re.compile("Show 1 referral of Ann Lee")).click()
    expect(page.get_by_text("Cid Moss")).to_be_visible()

    # Share: copy the web link (Clipboard API), then share on Telegram: the share is recorded
    # and the platform opens in a new tab with the message and the tagged link filled in.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    # This machine is offline (and routes do not see redirects): the t.me request itself is the proof.
    requested = []
    page.context.on("request", lambda request: requested.append(request.url))
    page.get_by_role("link", name="Share", exact=True).click()
    expect(page.get_by_role("heading", name="Share", exact=True)).to_be_visible()
    web_link = page.get_by_label("Web link", exact=True)
    expect(web_link).to_have_value(re.compile(r"/r/" + re.escape(member.referral_code) + "$"))
    expect(page.get_by_role("button", name="Copy Web link")).to_be_visible()  # shown by the script
    copy = page.locator('button[data-copy="link-web"]')
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == web_link.input_value()
    expect(page.locator("#copy-status")).to_have_text("Copied")
    with page.expect_popup() as popup_info:
        page.get_by_test_id("share-telegram").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    shared = [url for url in requested if url.startswith("https://t.me/share/url?url=")]
    assert len(shared) == 1 and quote(web_link_for(member.referral_code, "telegram"), safe="") in shared[0], requested
    popup.close()
    assert list(ShareEvent.objects.filter(partner=member).values_list("platform", flat=True)) == ["telegram"]
    page.reload()
    expect(page.get_by_test_id("funnel-telegram").locator("td").first).to_have_text("1")
    expect(page.get_by_test_id("qr").locator("img")).to_have_js_property("complete", True)
    assert page.get_by_test_id("qr").locator("img").evaluate("img => img.naturalWidth") > 0  # the session loads it
    copy_message = page.locator("ul.templates button[data-copy]").first
    copy_message.focus()
    page.keyboard.press("Enter")  # keyboard-operable
    expect(copy_message).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == page.locator("ul.templates textarea").first.input_value()

    # Every page at both widths, in English and then in Russian.
    for name, path in PAGES:
        page.goto(base + path)
        _shoot(page, name)
    page.goto(base + "/dashboard/")
    page.get_by_role("button", name="Русский").click()
    expect(page.get_by_role("link", name="Главная")).to_be_visible()
    expect(page.get_by_text("Язык изменён.")).to_be_visible()
    for name, path in PAGES:
        page.goto(base + path)
        _shoot(page, f"ru-{name}")
    member.refresh_from_db()
    assert member.language == "ru"

    # Sign out (a POST form).
    page.get_by_role("button", name="Выйти").click()
    expect(page).to_have_url(base + "/login/")
    expect(page.get_by_text("Вы вышли.")).to_be_visible()
    page.goto(base + "/dashboard/")
    expect(page).to_have_url(re.compile(r"/login/\?next="))


def test_keyboard_users_can_check_in(live_server, page, offline_telegram):
    page.goto(live_server.url + "/login/telegram/?" + urlencode(signed_widget_data(user_id=777003)))
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_role("button", name="Check in").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("streak")).to_have_text("1")


def test_the_mini_app_signs_in_with_signed_init_data(live_server, page, offline_telegram):
    offline_telegram(signed_init_data(bot_token="42:TEST", user_id=777002, first_name="Tg", language_code="ru"))
    page.set_viewport_size(WIDTHS["360"])
    page.goto(live_server.url + "/app/")
    expect(page).to_have_url(live_server.url + "/dashboard/")
    expect(page.get_by_role("link", name="Главная")).to_be_visible()  # the Telegram user's language
    assert Partner.objects.get(telegram_id=777002).language == "ru"
    page.wait_for_load_state("load")
    assert page.evaluate("window.__tg.readyCalled") is True
    assert page.evaluate("window.__tg.backShown") is False  # home: no back button
    background = page.evaluate("getComputedStyle(document.querySelector('.card')).backgroundColor")
    assert background == "rgb(255, 253, 245)"  # Telegram's theme colour
    _shoot(page, "miniapp-home")
    page.get_by_role("link", name="Задания").click()
    expect(page).to_have_url(live_server.url + "/dashboard/tasks/")
    page.wait_for_function("window.__tg && window.__tg.backShown === true")  # every page but Home

    # Share buttons inside Telegram open through the WebApp API; the share is still recorded.
    page.goto(live_server.url + "/dashboard/share/")
    page.get_by_test_id("share-telegram").click()
    page.get_by_test_id("share-whatsapp").click()
    page.wait_for_function("window.__tg.opened.length === 2")
    opened = page.evaluate("window.__tg.opened")
    assert opened[0].startswith("telegram:https://t.me/share/url?") and opened[1].startswith("https://wa.me/?text=")
    assert page.url == live_server.url + "/dashboard/share/"  # the page stays
    member = Partner.objects.get(telegram_id=777002)
    for _ in range(100):
        if ShareEvent.objects.filter(partner=member).count() == 2:
            break
        page.wait_for_timeout(100)
    assert sorted(ShareEvent.objects.filter(partner=member).values_list("platform", flat=True)) == ["telegram", "whatsapp"]
    _shoot(page, "miniapp-share")


def test_the_mini_app_outside_telegram_says_what_to_do(live_server, page, offline_telegram):
    page.goto(live_server.url + "/app/")
    expect(page.get_by_role("status")).to_contain_text("open it from the P2PHub bot")
    expect(page.get_by_role("link", name="Sign in on the web")).to_be_visible()
