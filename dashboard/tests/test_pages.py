"""Dashboard pages and their actions: each built on the same services and selectors as the
JSON API; bad input is a 4xx, and a member never sees another member's data."""

from decimal import Decimal

import pytest

from dashboard.tests.builders import bulk_downline
from partners.models import Notification
from partners.notifications import Kind, notification_create
from partners.services import partner_update_preferences
from partners.tests.factories import PartnerFactory, make_pro
from payments.models import Payment, Payout
from payments.services import payment_complete, payment_create, payout_request, usdt_correction_create
from payments.tests.conftest import ton_tx
from referrals.models import ReferralReview
from rewards.models import CheckIn, TaskProgress
from rewards.services import checkin_record

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Home -----------------------------------------------------------------------------------------


def test_home_shows_xp_level_streak_balances_pro_and_notifications(member_client, member, staff_user):
    usdt_correction_create(partner=member, amount=Decimal("12.5"), reason="test", actor=staff_user)
    notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    body = text(member_client.get("/dashboard/"))
    assert "Hello, Mia Stone" in body
    assert 'data-testid="xp">0<' in body and "Level 1 · Beginner" in body
    assert 'data-testid="streak">0<' in body and "Check in" in body
    assert 'data-testid="usdt-available">12.50<' in body
    assert "PRO has ended" in body  # the latest notification
    assert "Get PRO" in body


def test_check_in_from_home_changes_streak_and_xp(member_client, member):
    response = member_client.post("/dashboard/checkin/", follow=True)
    assert messages_of(response) == ["Checked in: +10 XP. Your streak is 1 day."]
    body = text(response)
    assert 'data-testid="xp">10<' in body and 'data-testid="streak">1<' in body
    assert "Checked in today" in body
    again = member_client.post("/dashboard/checkin/", follow=True)
    assert messages_of(again) == ["You already checked in today. Come back tomorrow!"]
    assert CheckIn.objects.filter(partner=member).count() == 1


def test_home_shows_the_last_14_days_and_pro_expiry(member_client, member):
    make_pro(member)
    checkin_record(partner=member)
    body = text(member_client.get("/dashboard/"))
    assert body.count('<li class="on"') == 1 and body.count("<li class=") >= 14
    assert "PRO is active until" in body


def test_check_in_is_post_only(member_client):
    assert member_client.get("/dashboard/checkin/").status_code == 405


# --- Network ----------------------------------------------------------------------------------------


def test_network_chart_members_and_search(member_client, member):
    ann = PartnerFactory(referrer=member, first_name="Ann", username="ann_w")
    PartnerFactory(referrer=member, first_name="Bob")
    PartnerFactory(referrer=ann, first_name="Cid")
    body = text(member_client.get("/dashboard/network/"))
    assert 'data-testid="level-1">2<' in body and 'data-testid="level-2">1<' in body
    assert "Ann" in body and "Bob" in body and "Cid" not in body
    searched = text(member_client.get("/dashboard/network/?level=1&q=@ann"))
    assert "Ann" in searched and "Bob" not in searched
    assert "Cid" in text(member_client.get("/dashboard/network/?level=2"))


def test_network_members_are_paginated(member_client, member):
    bulk_downline(member, [45])
    first = text(member_client.get("/dashboard/network/?level=1"))
    assert "Page 1 of 3" in first
    assert "Page 3 of 3" in text(member_client.get("/dashboard/network/?level=1&page=3"))
    assert "Page 3 of 3" in text(member_client.get("/dashboard/network/?level=1&page=99"))
    assert "Page 1 of 3" in text(member_client.get("/dashboard/network/?level=1&page=abc"))


@pytest.mark.parametrize("level", ["0", "10", "x", "-1", "99999999999999999999"])
def test_a_bad_level_is_a_404(member_client, level):
    assert member_client.get(f"/dashboard/network/?level={level}").status_code == 404


def test_network_never_shows_codes_or_balances_of_downline_members(member_client, member, staff_user):
    child = PartnerFactory(referrer=member, first_name="Ann")
    usdt_correction_create(partner=child, amount=Decimal("777.77"), reason="x", actor=staff_user)
    for url in ("/dashboard/network/", "/dashboard/network/tree/", f"/dashboard/network/tree/{child.pk}/"):
        body = text(member_client.get(url))
        assert child.referral_code not in body and "777" not in body


def test_the_tree_expands_to_nine_levels_and_no_further(member_client, member):
    levels = bulk_downline(member, [1] * 10)
    body = text(member_client.get("/dashboard/network/tree/"))
    assert levels[0][0].display_name in body and f"/dashboard/network/tree/{levels[0][0].pk}/children/" in body
    fragment = text(member_client.get(f"/dashboard/network/tree/{levels[0][0].pk}/children/"))
    assert levels[1][0].display_name in fragment and "L2" in fragment
    eighth = text(member_client.get(f"/dashboard/network/tree/{levels[7][0].pk}/"))
    assert levels[8][0].display_name in eighth  # level 9 is shown
    assert "beyond level 9" in eighth and "/children/" not in eighth.split("tree-level")[1]
    assert member_client.get(f"/dashboard/network/tree/{levels[8][0].pk}/").status_code == 404  # below L9: not theirs to explore


def test_someone_elses_tree_is_a_404(member_client, member):
    stranger = PartnerFactory()
    PartnerFactory(referrer=stranger)
    upline_child = PartnerFactory(referrer=stranger)
    assert member_client.get(f"/dashboard/network/tree/{stranger.pk}/").status_code == 404
    assert member_client.get(f"/dashboard/network/tree/{upline_child.pk}/children/").status_code == 404


# --- Earnings -----------------------------------------------------------------------------------------


def test_earnings_explain_xp_rows(member_client, member):
    PartnerFactory(referrer=member, first_name="Ann", last_name="Lee")
    checkin_record(partner=member)
    body = text(member_client.get("/dashboard/earnings/"))
    assert "Ann Lee joined your network at level 1." in body and "+35" in body
    assert "Daily check-in, streak 1." in body


def test_earnings_explain_commissions_with_rate_payment_and_hold(member_client, member):
    buyer = PartnerFactory(referrer=member, first_name="Ann", last_name="Lee")
    payment = payment_complete(payment_id=payment_create(partner=buyer, method="USDT").pk)
    body = text(member_client.get("/dashboard/earnings/?currency=USDT"))
    assert f"Level 1 commission: 30% of 39.00 USD paid by Ann Lee for PRO (payment #{payment.pk})." in body
    assert "On hold until" in body and "+11.70" in body


def test_held_referral_awards_are_shown_as_under_review(member_client, member):
    newcomer = PartnerFactory(referrer=member, first_name="Sus")
    ReferralReview.objects.create(
        new_member=newcomer, referrer=member, score=50, awards=[{"partner_id": member.pk, "level": 1, "amount": 35}],
        total_xp=35,
    )
    body = text(member_client.get("/dashboard/earnings/"))
    assert "Held for review" in body and "35 XP for Sus" in body


def test_the_csv_download_has_every_row_and_is_spreadsheet_safe(member_client, member):
    PartnerFactory(referrer=member, first_name="=HYPERLINK(1)", last_name="")
    checkin_record(partner=member)
    response = member_client.get("/dashboard/earnings/?currency=XP&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="p2phub-xp-ledger.csv"' in response["Content-Disposition"]
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("id,created_at,currency,amount,kind")
    assert len(lines) == 3
    assert "'=HYPERLINK(1)" in lines[2] or "'=HYPERLINK(1)" in lines[1]


def test_an_unknown_currency_is_a_404(member_client):
    assert member_client.get("/dashboard/earnings/?currency=EUR").status_code == 404


def test_earnings_are_the_members_own(member_client, member, staff_user):
    stranger = PartnerFactory()
    usdt_correction_create(partner=stranger, amount=Decimal("321.09"), reason="x", actor=staff_user)
    assert "321" not in text(member_client.get("/dashboard/earnings/?currency=USDT"))
    assert "321" not in b"".join(member_client.get("/dashboard/earnings/?currency=USDT&format=csv").streaming_content).decode()


# --- Tasks ----------------------------------------------------------------------------------------------


def test_start_and_claim_a_task(member_client, member):
    body = text(member_client.get("/dashboard/tasks/"))
    assert "Start the P2PHub bot" in body and "Reward: 25 XP" in body

    started = member_client.post("/dashboard/tasks/telegram_bot/start/", follow=True)
    assert messages_of(started) == ["Task started: Start the P2PHub bot."]
    claimed = member_client.post("/dashboard/tasks/telegram_bot/claim/", follow=True)
    assert messages_of(claimed) == ["Reward claimed: +25 XP for Start the P2PHub bot."]
    assert "+25 XP earned" in text(claimed)
    twice = member_client.post("/dashboard/tasks/telegram_bot/claim/", follow=True)
    assert messages_of(twice) == ["This task's reward was already claimed."]


def test_claiming_early_shows_the_progress(member_client, member):
    member_client.post("/dashboard/tasks/invite_3_friends/start/", follow=True)
    PartnerFactory(referrer=member)
    response = member_client.post("/dashboard/tasks/invite_3_friends/claim/", follow=True)
    assert messages_of(response) == ["Requirement not met. Progress: 1/3"]
    assert TaskProgress.objects.get(partner=member, task_id="invite_3_friends").completed_at is None


def test_claiming_before_starting_and_unknown_tasks_say_why(member_client):
    response = member_client.post("/dashboard/tasks/banking_app/claim/", follow=True)
    assert messages_of(response) == ["Start the task before claiming it."]
    response = member_client.post("/dashboard/tasks/no_such_task/start/", follow=True)
    assert messages_of(response) == ["This task does not exist (any more)."]


def test_pro_members_see_five_times_the_reward(member_client, member):
    make_pro(member)
    assert "Reward: 125 XP" in text(member_client.get("/dashboard/tasks/"))


# --- Leaderboards -------------------------------------------------------------------------------------


def test_leaderboards_show_the_top_and_my_rank(member_client, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the Redis boards sync after commit
        rival = PartnerFactory(first_name="Top")
        checkin_record(partner=rival)
        checkin_record(partner=member)
        PartnerFactory(referrer=rival)
    body = text(member_client.get("/dashboard/leaderboard/?board=xp"))
    assert 'data-testid="my-rank">#2<' in body and "Top" in body
    for board in ("week", "month", "streak"):
        assert member_client.get(f"/dashboard/leaderboard/?board={board}").status_code == 200
    assert member_client.get("/dashboard/leaderboard/?board=nope").status_code == 404


def test_an_opted_out_member_is_told_why_they_are_not_ranked(member_client, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        partner_update_preferences(partner=member, leaderboard_visibility="hidden")
        checkin_record(partner=member)
    assert "You chose to stay off the leaderboards" in text(member_client.get("/dashboard/leaderboard/"))


# --- PRO and payments -----------------------------------------------------------------------------------


def test_a_ton_payment_shows_amount_qr_link_and_countdown(member_client, member, ton_env):
    response = member_client.post("/dashboard/pro/payments/", {"method": "TON"}, follow=True)
    payment = Payment.objects.get(partner=member)
    body = text(response)
    assert response.redirect_chain[-1][0] == f"/dashboard/pro/payments/{payment.pk}/"
    assert "<svg" in body and 'data-testid="qr"' in body
    assert payment.ton_link.replace("&", "&amp;") in body
    assert 'id="countdown" data-seconds="' in body and payment.memo in body
    assert member_client.get(f"/dashboard/pro/payments/{payment.pk}/status/").json()["status"] == "pending"


def test_check_now_completes_a_paid_ton_payment(member_client, member, ton_env):
    member_client.post("/dashboard/pro/payments/", {"method": "TON"}, follow=True)
    payment = Payment.objects.get(partner=member)
    nothing = member_client.post(f"/dashboard/pro/payments/{payment.pk}/check/", follow=True)
    assert messages_of(nothing) == ["No matching transfer yet. It can take a minute after you send it."]
    ton_env.add(ton_tx("paid=", comment=payment.memo, value=payment.amount_nanotons))
    paid = member_client.post(f"/dashboard/pro/payments/{payment.pk}/check/", follow=True)
    assert messages_of(paid) == ["Payment received: PRO is active."]
    assert member_client.get(f"/dashboard/pro/payments/{payment.pk}/status/").json() == {
        "status": "completed", "label": "Paid", "final": True,
    }


def test_no_ton_rate_means_no_payment_and_a_clear_message(member_client, member, wallets, settings):
    settings.TON_RATE_URL = "http://127.0.0.1:9/unreachable"
    response = member_client.post("/dashboard/pro/payments/", {"method": "TON"}, follow=True)
    assert messages_of(response) == ["The TON/USD rate is unavailable right now; please try again shortly."]
    assert not Payment.objects.filter(partner=member).exists()


def test_a_usdt_payment_takes_a_tx_hash_for_review(member_client, member, wallets):
    member_client.post("/dashboard/pro/payments/", {"method": "USDT"})
    payment = Payment.objects.get(partner=member)
    body = text(member_client.get(f"/dashboard/pro/payments/{payment.pk}/"))
    assert payment.address in body and "39.00 USDT" in body
    bad = member_client.post(f"/dashboard/pro/payments/{payment.pk}/check/", {"tx_hash": "nope"}, follow=True)
    assert messages_of(bad) == ["The transaction hash must be 64 hexadecimal characters."]
    good = member_client.post(f"/dashboard/pro/payments/{payment.pk}/check/", {"tx_hash": "a" * 64}, follow=True)
    assert messages_of(good) == ["Thank you! Your transaction is waiting for a staff review."]
    payment.refresh_from_db()
    assert payment.status == "under_review"


def test_an_unknown_method_is_refused(member_client, member):
    response = member_client.post("/dashboard/pro/payments/", {"method": "BTC"}, follow=True)
    assert messages_of(response) == ["Choose TON or USDT."]


def test_someone_elses_payment_is_a_404(member_client, wallets):
    theirs = payment_create(partner=PartnerFactory(), method="USDT")
    for url in (f"/dashboard/pro/payments/{theirs.pk}/", f"/dashboard/pro/payments/{theirs.pk}/status/"):
        assert member_client.get(url).status_code == 404
    assert member_client.post(f"/dashboard/pro/payments/{theirs.pk}/check/", {"tx_hash": "b" * 64}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "pending"


def test_payment_creation_is_throttled_like_the_api(member_client, member, wallets, settings):
    from rest_framework.throttling import SimpleRateThrottle

    original_rates = SimpleRateThrottle.THROTTLE_RATES
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "payments": "2/min"}}
    from rest_framework.settings import api_settings

    SimpleRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES  # read at import time
    try:
        for _ in range(2):
            member_client.post("/dashboard/pro/payments/", {"method": "USDT"}, follow=True)
        third = member_client.post("/dashboard/pro/payments/", {"method": "USDT"}, follow=True)
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original_rates
    assert messages_of(third) == ["Too many attempts. Please wait a minute and try again."]
    assert Payment.objects.filter(partner=member).count() == 2


# --- Payouts ------------------------------------------------------------------------------------------


def test_request_a_payout_and_see_it_listed(member_client, member, staff_user):
    usdt_correction_create(partner=member, amount=Decimal("50"), reason="test", actor=staff_user)
    response = member_client.post(
        "/dashboard/payouts/", {"amount": "25.5", "network": "TRC20", "address": "T" + "A" * 33}, follow=True
    )
    payout = Payout.objects.get(partner=member)
    assert messages_of(response) == [f"Payout #{payout.pk} requested. Staff send it after a check."]
    body = text(response)
    assert 'data-testid="payout-row"' in body and "25.50 USDT" in body and "Requested" in body
    assert 'data-testid="payout-available">24.50 USDT' in body


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"amount": "5", "network": "TRC20", "address": "T" + "A" * 33}, "The minimum payout is 10 USDT."),
        ({"amount": "500", "network": "TRC20", "address": "T" + "A" * 33}, "Your available balance is not enough for this payout."),
        ({"amount": "abc", "network": "TRC20", "address": "T" + "A" * 33}, "Enter a number, e.g. 25.50."),
        ({"amount": "20", "network": "TRC20", "address": "not-an-address"}, "This is not a valid TRC20 address."),
        ({"amount": "20", "network": "DOGE", "address": "T" + "A" * 33}, "Select a valid choice."),
        ({"amount": "20.1234567", "network": "TRC20", "address": "T" + "A" * 33}, "Use at most 6 decimal places."),
    ],
)
def test_bad_payout_requests_are_400_with_the_reason(member_client, member, staff_user, form, error):
    usdt_correction_create(partner=member, amount=Decimal("50"), reason="test", actor=staff_user)
    response = member_client.post("/dashboard/payouts/", form)
    assert response.status_code == 400
    assert error in text(response)
    assert not Payout.objects.filter(partner=member).exists()


def test_payouts_list_only_the_members_own(member_client, member, staff_user):
    stranger = PartnerFactory()
    usdt_correction_create(partner=stranger, amount=Decimal("50"), reason="x", actor=staff_user)
    payout_request(partner=stranger, amount=Decimal("15"), address="T" + "B" * 33, network="TRC20")
    assert "T" + "B" * 33 not in text(member_client.get("/dashboard/payouts/"))


# --- Notifications and settings ----------------------------------------------------------------------


def test_notifications_list_and_mark_read(member_client, member):
    notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    notification_create(partner=PartnerFactory(), kind=Kind.PAYOUT_REJECTED, params={"amount": "1"})
    body = text(member_client.get("/dashboard/notifications/"))
    assert "PRO has ended" in body and "Payout rejected" not in body and "New" in body
    response = member_client.post("/dashboard/notifications/read/", follow=True)
    assert messages_of(response) == ["1 notification marked read."]
    assert not Notification.objects.filter(partner=member, read_at__isnull=True).exists()
    again = member_client.post("/dashboard/notifications/read/", follow=True)
    assert messages_of(again) == ["There were no unread notifications."]


def test_settings_save_through_the_preferences_service(member_client, member):
    response = member_client.post(
        "/dashboard/settings/", {"language": "en", "leaderboard_visibility": "masked"}, follow=True
    )
    assert messages_of(response) == ["Settings saved."]
    member.refresh_from_db()
    assert (member.notifications_enabled, member.leaderboard_visibility) == (False, "masked")
    from audit.models import AuditLog, EventType

    assert AuditLog.objects.filter(event_type=EventType.PARTNER_UPDATED, partner_id=member.pk).exists()


def test_bad_settings_are_a_400(member_client, member):
    response = member_client.post("/dashboard/settings/", {"language": "de", "leaderboard_visibility": "loud"})
    assert response.status_code == 400
    member.refresh_from_db()
    assert member.language == "en" and member.leaderboard_visibility == "visible"
