"""Telegram delivery of stored notifications against a fake Bot API speaking Telegram's JSON:
statuses, retries (429 / 5xx / timeouts), 403 blocking, 400 failures, preferences, at most once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditLog, EventType
from p2phub.testing.fake_bot_api import telegram_error
from p2phub.testing.fake_http import FakeResponse
from partners.delivery import deliveries_sweep, notifications_send
from partners.models import Delivery, Notification, Partner
from partners.notifications import Kind, notification_create
from partners.services import partner_update_preferences
from partners.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def _row(note) -> Notification:
    return Notification.objects.get(pk=note.pk)


def test_a_new_l1_referral_reaches_telegram_in_the_member_language_with_buttons(fake_bot_api, committed):
    leader = PartnerFactory(language=Partner.Language.RU)
    with committed():
        PartnerFactory(referrer=leader, first_name="Анна", last_name="")
    (message,) = fake_bot_api.messages_to(leader.telegram_id)
    assert message["parse_mode"] == "HTML"
    assert message["text"] == "<b>Новый реферал: Анна</b>\nАнна присоединился по вашей ссылке. Вы получили 35 XP."
    buttons = [row[0] for row in message["reply_markup"]["inline_keyboard"]]
    assert buttons[0]["text"] == "Открыть мою команду" and buttons[0]["url"].startswith("https://t.me/")
    assert buttons[1]["text"] == "Пригласить ещё друзей"
    assert buttons[1]["url"].startswith("https://t.me/share/url?url=") and leader.referral_code in buttons[1]["url"]
    note = Notification.objects.get(partner=leader, kind=Kind.REFERRAL_L1)
    assert note.delivery == Delivery.SENT and note.attempts == 1 and note.sent_at is not None
    assert note.telegram_message_id == 1 and note.last_error == ""


def test_the_mini_app_button_is_a_web_app_button_on_https(fake_bot_api, settings, committed):
    settings.TELEGRAM_MINI_APP_URL = "https://p2phub.example/app/"
    member = PartnerFactory()
    with committed():
        notification_create(partner=member, kind=Kind.STREAK_AT_RISK, params={"streak": 6})
    (message,) = fake_bot_api.messages_to(member.telegram_id)
    assert message["reply_markup"] == {
        "inline_keyboard": [[{"text": "Check in now", "web_app": {"url": "https://p2phub.example/app/"}}]]
    }


def test_names_are_escaped_for_telegram_html(fake_bot_api, committed):
    leader = PartnerFactory()
    with committed():
        PartnerFactory(referrer=leader, first_name="<b>Eve</b>", last_name="&Co")
    (message,) = fake_bot_api.messages_to(leader.telegram_id)
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp;Co" in message["text"] and "<b>Eve" not in message["text"]


def test_429_is_retried_after_retry_after_and_delivered_once(fake_bot_api, committed):
    member = PartnerFactory()
    fake_bot_api.script(telegram_error(429, "Too Many Requests: retry after 2", retry_after=2))
    before = timezone.now()
    with committed():
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    row = _row(note)
    assert row.delivery == Delivery.PENDING and row.attempts == 1 and "429" in row.last_error
    assert row.next_attempt_at >= before + timedelta(seconds=2)
    # Not due yet: nothing is sent, however often the task runs.
    notifications_send([note.pk], now=row.last_attempt_at + timedelta(seconds=1.9))
    assert len(fake_bot_api.requests_to(member.telegram_id)) == 1
    notifications_send([note.pk], now=row.next_attempt_at)
    notifications_send([note.pk], now=row.next_attempt_at + timedelta(seconds=5))
    requests = fake_bot_api.requests_to(member.telegram_id)
    assert len(requests) == 2 and len(fake_bot_api.messages_to(member.telegram_id)) == 1
    row = _row(note)
    assert row.delivery == Delivery.SENT and row.attempts == 2 and row.last_error == ""
    assert row.sent_at - row.last_attempt_at < timedelta(seconds=1)
    assert row.sent_at >= before + timedelta(seconds=2)


def test_500_three_times_then_200_is_delivered_once_with_exponential_backoff(fake_bot_api, settings, committed):
    settings.TELEGRAM_RETRY_BASE_SECONDS = 2.0
    member = PartnerFactory()
    fake_bot_api.script(*[telegram_error(500, "Internal Server Error")] * 3)
    with committed():
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    waits = []
    for _ in range(3):
        row = _row(note)
        assert row.delivery == Delivery.PENDING
        waits.append((row.next_attempt_at - row.last_attempt_at).total_seconds())
        notifications_send([note.pk], now=row.next_attempt_at)
    # 2 · 2^(n-1) plus up to 10 % jitter, counted from the failure (the first attempt's own
    # request time, on a busy machine, sits in between).
    for wait, base in zip(waits, [2, 4, 8], strict=True):
        assert base <= wait <= base * 1.1 + 1.0
    row = _row(note)
    assert row.delivery == Delivery.SENT and row.attempts == 4
    assert len(fake_bot_api.requests_to(member.telegram_id)) == 4
    assert len(fake_bot_api.messages_to(member.telegram_id)) == 1


def test_transient_failures_stop_after_the_attempt_limit(fake_bot_api, settings, committed):
    settings.TELEGRAM_SEND_MAX_ATTEMPTS = 3
    member = PartnerFactory()
    fake_bot_api.script(*[telegram_error(502, "Bad Gateway")] * 10)
    with committed():
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    for _ in range(5):
        row = _row(note)
        notifications_send([note.pk], now=(row.next_attempt_at or timezone.now()) + timedelta(seconds=1))
    row = _row(note)
    assert row.delivery == Delivery.FAILED and row.attempts == 3
    assert row.last_error.startswith("gave up after 3 attempts")
    assert len(fake_bot_api.requests_to(member.telegram_id)) == 3


def test_a_timeout_is_retried_like_a_server_error(fake_bot_api, settings, committed):
    settings.HTTP_CLIENT_TIMEOUT_SECONDS = 0.2
    member = PartnerFactory()
    fake_bot_api.script(FakeResponse(status=200, json={"ok": True, "result": {"message_id": 9}}, delay=1.0))
    with committed():
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    row = _row(note)
    assert row.delivery == Delivery.PENDING and "timed out" in row.last_error


def test_403_switches_the_member_off_until_they_start_again(fake_bot_api, committed):
    member = PartnerFactory()
    fake_bot_api.script(telegram_error(403, "Forbidden: bot was blocked by the user"))
    with committed():
        first = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    assert _row(first).delivery == Delivery.BLOCKED and "blocked" in _row(first).last_error
    member.refresh_from_db()
    assert member.telegram_blocked_at is not None
    assert AuditLog.objects.filter(event_type=EventType.TELEGRAM_BLOCKED, partner_id=member.pk).count() == 1
    with committed():
        later = notification_create(partner=member, kind=Kind.STREAK_AT_RISK, params={"streak": 2})
    notifications_send([first.pk, later.pk], now=timezone.now() + timedelta(hours=1))
    assert _row(later).delivery == Delivery.BLOCKED
    assert len(fake_bot_api.requests_to(member.telegram_id)) == 1  # nothing more was tried
    assert Notification.objects.filter(partner=member).count() == 2  # still in the in-app list


def test_400_fails_with_the_reason_and_is_not_retried(fake_bot_api, committed):
    member = PartnerFactory()
    fake_bot_api.script(telegram_error(400, "Bad Request: chat not found"))
    with committed():
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    row = _row(note)
    assert row.delivery == Delivery.FAILED and row.last_error == "400: Bad Request: chat not found"
    notifications_send([note.pk], now=timezone.now() + timedelta(days=1))
    assert len(fake_bot_api.requests_to(member.telegram_id)) == 1
    assert Partner.objects.get(pk=member.pk).telegram_blocked_at is None


def test_a_task_run_again_after_the_send_succeeded_sends_nothing(fake_bot_api, committed):
    from partners.tasks import notification_deliver, notifications_deliver

    member = PartnerFactory()
    with committed():
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    assert _row(note).delivery == Delivery.SENT
    assert notification_deliver(note.pk) == Delivery.SENT  # a redelivered / retried task
    notifications_deliver([note.pk, note.pk])
    assert len(fake_bot_api.requests()) == 1


def test_a_row_another_worker_claimed_is_not_sent(fake_bot_api, settings, committed):
    settings.TELEGRAM_SEND_ENABLED = False
    member = PartnerFactory()
    with committed():
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    settings.TELEGRAM_SEND_ENABLED = True
    Notification.objects.filter(pk=note.pk).update(delivery=Delivery.SENDING, last_attempt_at=timezone.now())
    assert notifications_send([note.pk]).states == {note.pk: Delivery.SENDING}
    assert fake_bot_api.requests() == []


def test_a_row_stuck_mid_send_is_closed_as_failed_and_never_sent_again(fake_bot_api, settings, committed):
    settings.TELEGRAM_SEND_ENABLED = False
    member = PartnerFactory()
    with committed():
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    settings.TELEGRAM_SEND_ENABLED = True
    claimed_at = timezone.now() - timedelta(minutes=settings.TELEGRAM_STALE_SENDING_MINUTES + 1)
    Notification.objects.filter(pk=note.pk).update(delivery=Delivery.SENDING, attempts=1, last_attempt_at=claimed_at)
    result = deliveries_sweep()
    assert result.interrupted == 1 and note.pk not in result.due_notifications
    row = _row(note)
    assert row.delivery == Delivery.FAILED and "not sent again" in row.last_error
    assert fake_bot_api.requests() == []


def test_the_sweeper_sends_rows_whose_task_was_lost(fake_bot_api, settings, committed):
    from partners.tasks import notifications_sweep

    settings.TELEGRAM_SEND_ENABLED = False  # as if the broker had been down at commit
    member = PartnerFactory()
    with committed():
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    Notification.objects.filter(pk=note.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    settings.TELEGRAM_SEND_ENABLED = True
    assert notifications_sweep()["requeued"] == 1
    assert _row(note).delivery == Delivery.SENT
    assert len(fake_bot_api.messages_to(member.telegram_id)) == 1


def test_notifications_too_old_to_matter_are_closed_by_the_sweeper(fake_bot_api, settings, committed):
    settings.TELEGRAM_SEND_ENABLED = False
    with committed():
        note = notification_create(partner=PartnerFactory(), kind=Kind.PRO_EXPIRED)
    Notification.objects.filter(pk=note.pk).update(created_at=timezone.now() - timedelta(days=2))
    settings.TELEGRAM_SEND_ENABLED = True
    assert deliveries_sweep().expired == 1
    assert _row(note).delivery == Delivery.SKIPPED and fake_bot_api.requests() == []


def test_members_who_turned_messages_off_are_skipped(fake_bot_api, committed):
    member = PartnerFactory()
    partner_update_preferences(partner=member, notifications_enabled=False)
    with committed():
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    assert _row(note).delivery == Delivery.SKIPPED and _row(note).last_error == "member turned notifications off"
    assert fake_bot_api.requests() == []


def test_members_without_telegram_and_banned_members_are_skipped(fake_bot_api, committed):
    web_member = PartnerFactory(telegram_id=None)
    banned = PartnerFactory()
    Partner.objects.filter(pk=banned.pk).update(status=Partner.Status.BANNED)
    with committed():
        notes = [notification_create(partner=m, kind=Kind.PRO_EXPIRED) for m in (web_member, banned)]
    assert [_row(n).delivery for n in notes] == [Delivery.SKIPPED, Delivery.SKIPPED]
    assert fake_bot_api.requests() == []


def test_deep_activity_waits_for_the_digest(fake_bot_api, committed):
    member = PartnerFactory()
    with committed():
        note = notification_create(partner=member, kind=Kind.REFERRAL_DEEP, params={"name": "X", "level": 4, "xp": 1})
    assert _row(note).delivery == Delivery.PENDING
    assert fake_bot_api.requests() == []


def test_admin_lists_delivery_state_attempts_and_errors_filterable(fake_bot_api, admin_client, committed):
    member = PartnerFactory()
    fake_bot_api.script(telegram_error(400, "Bad Request: chat not found"))
    with committed():
        failed = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
        sent = notification_create(partner=member, kind=Kind.STREAK_AT_RISK, params={"streak": 3})
    page = admin_client.get("/admin/partners/notification/?delivery__exact=failed")
    assert page.status_code == 200
    content = page.content.decode()
    assert "400: Bad Request: chat not found" in content and f"/{failed.pk}/change/" in content
    assert f"/{sent.pk}/change/" not in content
    assert admin_client.get(f"/admin/partners/notification/{sent.pk}/change/").status_code == 200
    for path in ("/admin/partners/staffmessage/", "/admin/partners/telegramupdate/", "/admin/partners/notification/?sent_at__isnull=True"):
        assert admin_client.get(path).status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_racing_on_the_same_rows_send_each_once(fake_bot_api, settings):
    from p2phub.testing.concurrency import raised, run_concurrently

    settings.TELEGRAM_SEND_ENABLED = False
    members = [PartnerFactory() for _ in range(5)]
    notes = [notification_create(partner=m, kind=Kind.PRO_EXPIRED) for m in members for _ in range(2)]
    settings.TELEGRAM_SEND_ENABLED = True
    ids = [n.pk for n in notes]
    # Eight "workers" get the same ids (a redelivered batch, a retry and a sweep at once).
    outcomes = run_concurrently(lambda i: notifications_send(ids if i % 2 else list(reversed(ids))), 8)
    assert raised(outcomes) == []
    assert set(Notification.objects.values_list("delivery", flat=True)) == {Delivery.SENT}
    assert len(fake_bot_api.requests()) == len(ids) == len(fake_bot_api.sent)
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}


def test_turning_messages_off_through_the_api_stops_telegram_messages(fake_bot_api, tma_client, committed):
    member = PartnerFactory()
    response = tma_client(member).patch("/api/v1/me/", {"notifications_enabled": False}, format="json")
    assert response.status_code == 200
    with committed():
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    assert _row(note).delivery == Delivery.SKIPPED and fake_bot_api.requests() == []
    assert tma_client(member).patch("/api/v1/me/", {"notifications_enabled": True}, format="json").status_code == 200
    with committed():
        again = notification_create(partner=member, kind=Kind.PRO_EXPIRED, dedupe_key="again")
    assert _row(again).delivery == Delivery.SENT


def test_delivery_outcomes_move_the_notification_counters(fake_bot_api, committed, client):
    from p2phub.tests.test_metrics import scrape, value

    before = scrape(client)
    delivered, refused = PartnerFactory(), PartnerFactory()
    with committed():
        notification_create(partner=delivered, kind=Kind.PRO_EXPIRED)
    fake_bot_api.script(telegram_error(400, "Bad Request: chat not found"))
    with committed():
        notification_create(partner=refused, kind=Kind.PRO_EXPIRED)
    after = scrape(client)

    assert value(after, "notification_sent_total") - value(before, "notification_sent_total") == 1
    failed = ("notification_failed_total", "rejected")
    assert value(after, failed[0], error_type=failed[1]) - value(before, failed[0], error_type=failed[1]) == 1
