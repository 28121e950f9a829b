"""The bot: webhook (secret, bad input, update_id dedupe), /start with pending attribution and the
welcome with the member's links, /login, /stats, /help, block/unblock, and the operator
commands — all against a fake Bot API speaking Telegram's JSON."""

import json
from datetime import timedelta
from itertools import count

import pytest
from django.utils import timezone

from audit.models import AuditLog, EventType
from p2phub.testing.fake_http import FakeResponse
from partners.login_tokens import WebLoginTokenInvalid, web_login_token_redeem
from partners.models import Delivery, Notification, Partner, PendingAttribution, TelegramUpdate
from partners.notifications import Kind, notification_create
from partners.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db

WEBHOOK = "/telegram/webhook/"
SECRET = "test-webhook-secret"  # set by the fake_bot_api fixture
_update_ids = count(500_000)


def message_update(telegram_id: int, text: str, *, language_code: str = "en", chat_type: str = "private", update_id=None):
    return {
        "update_id": next(_update_ids) if update_id is None else update_id,
        "message": {
            "message_id": 11,
            "date": 1_764_650_000,
            "chat": {"id": telegram_id, "type": chat_type, "first_name": "Ivan"},
            "from": {"id": telegram_id, "is_bot": False, "first_name": "Ivan", "language_code": language_code},
            "text": text,
        },
    }


@pytest.fixture
def post_update(client, committed):
    def post(update, *, secret=SECRET, raw: bytes | None = None):
        headers = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret} if secret is not None else {}
        body = raw if raw is not None else json.dumps(update)
        with committed():
            return client.post(WEBHOOK, data=body, content_type="application/json", **headers)

    return post


def reply_texts(bot, chat_id) -> list[str]:
    return [m["text"] for m in bot.messages_to(chat_id)]


# --- the webhook ----------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
def test_a_missing_or_wrong_secret_is_refused(fake_bot_api, post_update, secret):
    response = post_update(message_update(1, "/help"), secret=secret)
    assert response.status_code == 403
    assert not TelegramUpdate.objects.exists() and fake_bot_api.requests() == []


def test_without_a_configured_secret_every_call_is_refused(fake_bot_api, post_update, settings):
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    assert post_update(message_update(1, "/help"), secret="").status_code == 403


def test_rejected_calls_are_audited_at_most_once_a_minute(fake_bot_api, post_update):
    for _ in range(5):
        assert post_update(message_update(1, "/help"), secret="nope").status_code == 403
    assert AuditLog.objects.filter(event_type=EventType.SECURITY_WEBHOOK_REJECTED).count() == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"[]", b'"text"', b"42", b"null", b"{not json", b"", b"\xff\xfe", b'{"update_id": "1"}', b'{"update_id": true}',
        b'{"message": {}}', b'{"update_id": -1}', b'{"update_id": 1, "message": {"text": "\\u0000"}}',
        b'{"update_id": 1, "message": {"text": "\\ud800"}}', b'{"update_id": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"update_id": 1, "x": ' + b"[" * 40 + b"]" * 40 + b"}",
    ],
)
def test_a_body_that_is_not_an_update_object_is_a_400(fake_bot_api, post_update, raw):
    assert post_update(None, raw=raw).status_code == 400
    assert not TelegramUpdate.objects.exists()


def test_an_oversized_body_is_refused_before_it_is_read(fake_bot_api, post_update, settings):
    settings.TELEGRAM_WEBHOOK_MAX_BYTES = 1000
    update = message_update(1, "x" * 2000)
    assert post_update(update).status_code == 413


def test_only_post_is_allowed(client):
    assert client.get(WEBHOOK).status_code == 405


def test_a_valid_update_is_answered_200_and_a_redelivery_is_processed_once(fake_bot_api, post_update):
    update = message_update(4242, "/help")
    first = post_update(update)
    again = post_update(update)
    assert first.status_code == again.status_code == 200 and first.json() == {"ok": True}
    assert TelegramUpdate.objects.filter(update_id=update["update_id"]).count() == 1
    assert TelegramUpdate.objects.get().status == TelegramUpdate.Status.DONE
    assert len(fake_bot_api.requests_to(4242)) == 1


def test_updates_other_than_private_messages_get_no_reply(fake_bot_api, post_update):
    assert post_update(message_update(-100123, "/start", chat_type="supergroup")).status_code == 200
    assert post_update({"update_id": 77, "edited_message": {"text": "hi"}}).status_code == 200
    assert fake_bot_api.requests() == []
    assert set(TelegramUpdate.objects.values_list("status", flat=True)) == {TelegramUpdate.Status.DONE}


def test_a_reply_that_hits_a_server_error_is_kept_for_another_attempt(fake_bot_api, post_update):
    fake_bot_api.script(FakeResponse(status=502, json={"ok": False, "error_code": 502, "description": "Bad Gateway"}))
    post_update(message_update(4243, "/help"))
    row = TelegramUpdate.objects.get()
    assert row.status == TelegramUpdate.Status.RECEIVED and row.attempts == 1 and "server error" in row.last_error
    from partners.tasks import telegram_update_process

    assert telegram_update_process(row.pk) == TelegramUpdate.Status.DONE
    assert telegram_update_process(row.pk) == TelegramUpdate.Status.DONE  # once done, never again
    assert len(fake_bot_api.messages_to(4243)) == 1


# --- /start and the pending referral ------------------------------------------------------------


def test_start_with_a_code_keeps_the_referral_and_the_first_mini_app_request_uses_it(
    fake_bot_api, post_update, tma_client, committed
):
    inviter = PartnerFactory(first_name="Olga", last_name="")
    newcomer = 880_001
    assert post_update(message_update(newcomer, f"/start {inviter.referral_code.lower()}", language_code="ru")).status_code == 200
    assert PendingAttribution.objects.get(telegram_id=newcomer).referral_code == inviter.referral_code
    (invitation,) = fake_bot_api.messages_to(newcomer)
    assert invitation["text"].startswith("<b>Добро пожаловать в P2PHub!</b>\nOlga приглашает вас")
    assert invitation["reply_markup"]["inline_keyboard"][0][0]["text"] == "Присоединиться к P2PHub"

    with committed():  # the first Mini App request, without start_param
        response = tma_client(newcomer, language_code="ru", first_name="Ivan").get("/api/v1/me/")
    assert response.status_code == 200
    member = Partner.objects.get(telegram_id=newcomer)
    assert member.referrer_id == inviter.pk and member.language == "ru"
    assert not PendingAttribution.objects.filter(telegram_id=newcomer).exists()

    welcome = fake_bot_api.messages_to(newcomer)[1]
    code = member.referral_code
    assert welcome["text"].startswith("<b>Добро пожаловать в P2PHub, Ivan!</b>\nВаши реферальные ссылки")
    for link in (f"https://t.me/P2PHubBot?start={code}", f"https://t.me/P2PHubBot/app?startapp={code}", f"/r/{code}"):
        assert link in welcome["text"]
    assert Notification.objects.get(partner=member, kind=Kind.WELCOME).delivery == Delivery.SENT
    # ... and the inviter heard about their new L1 referral.
    assert "Ivan" in fake_bot_api.messages_to(inviter.telegram_id)[0]["text"]


def test_start_without_a_known_code_welcomes_in_english_and_keeps_nothing(fake_bot_api, post_update):
    post_update(message_update(880_002, "/start P2P-00000000"))
    post_update(message_update(880_003, "/start"))
    assert not PendingAttribution.objects.exists()
    for chat in (880_002, 880_003):
        (reply,) = fake_bot_api.messages_to(chat)
        assert reply["text"].startswith("<b>Welcome to P2PHub!</b>\nA partner network")


def test_start_from_a_member_sends_their_own_links_and_resumes_blocked_messages(fake_bot_api, post_update, committed):
    member = PartnerFactory(first_name="Maria", language=Partner.Language.EN)
    Partner.objects.filter(pk=member.pk).update(telegram_blocked_at=timezone.now())
    post_update(message_update(member.telegram_id, "/start@P2PHubBot"))
    (reply,) = fake_bot_api.messages_to(member.telegram_id)
    assert reply["text"].startswith("<b>Welcome back, Maria!</b>")
    assert f"https://t.me/P2PHubBot?start={member.referral_code}" in reply["text"]
    assert f"/r/{member.referral_code}" in reply["text"]
    labels = [row[0]["text"] for row in reply["reply_markup"]["inline_keyboard"]]
    assert labels == ["Open P2PHub", "Share my link"]
    member.refresh_from_db()
    assert member.telegram_blocked_at is None
    with committed():
        note = notification_create(partner=member, kind=Kind.PRO_EXPIRED)
    assert Notification.objects.get(pk=note.pk).delivery == Delivery.SENT


def test_blocking_and_unblocking_the_bot_switches_messages_off_and_on(fake_bot_api, post_update):
    member = PartnerFactory()

    def chat_member(status):
        return {
            "update_id": next(_update_ids),
            "my_chat_member": {
                "chat": {"id": member.telegram_id, "type": "private"},
                "from": {"id": member.telegram_id, "is_bot": False, "first_name": "M"},
                "date": 1_764_650_000,
                "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True, "first_name": "Bot"}},
                "new_chat_member": {"status": status, "user": {"id": 1, "is_bot": True, "first_name": "Bot"}},
            },
        }

    post_update(chat_member("kicked"))
    assert Partner.objects.get(pk=member.pk).telegram_blocked_at is not None
    post_update(chat_member("member"))
    assert Partner.objects.get(pk=member.pk).telegram_blocked_at is None
    assert fake_bot_api.requests() == []


# --- /login, /stats, /help ----------------------------------------------------------------------


def test_login_sends_a_one_time_link_that_works_once(fake_bot_api, post_update, settings):
    settings.SITE_URL = "https://p2phub.example"
    member = PartnerFactory()
    post_update(message_update(member.telegram_id, "/login"))
    (reply,) = fake_bot_api.messages_to(member.telegram_id)
    prefix = "https://p2phub.example/login/telegram/"
    link = next(line for line in reply["text"].split("\n") if line.startswith(prefix))
    assert reply["reply_markup"]["inline_keyboard"][0][0] == {"text": "Open the dashboard", "url": link}
    assert reply["link_preview_options"] == {"is_disabled": True}  # a preview fetch would use the link up
    token = link.removeprefix(prefix).rstrip("/")
    assert web_login_token_redeem(raw_token=token).pk == member.pk
    with pytest.raises(WebLoginTokenInvalid):
        web_login_token_redeem(raw_token=token)  # second use


def test_a_login_link_expires(fake_bot_api, post_update):
    member = PartnerFactory()
    post_update(message_update(member.telegram_id, "/login"))
    (reply,) = fake_bot_api.messages_to(member.telegram_id)
    token = reply["text"].split("/login/telegram/")[1].split("/")[0]
    assert "reply_markup" not in reply  # an http SITE_URL: Telegram refuses such url buttons
    with pytest.raises(WebLoginTokenInvalid):
        web_login_token_redeem(raw_token=token, now=timezone.now() + timedelta(minutes=11))


def test_login_from_someone_not_yet_a_member_points_to_the_app(fake_bot_api, post_update):
    post_update(message_update(880_010, "/login"))
    (reply,) = fake_bot_api.messages_to(880_010)
    assert reply["text"].startswith("You are not a member yet.")


def test_stats_reports_xp_level_rank_network_and_balances(fake_bot_api, post_update, settings):
    member = PartnerFactory(language=Partner.Language.EN)
    settings.TELEGRAM_SEND_ENABLED = False
    for _ in range(2):
        PartnerFactory(referrer=member)
    settings.TELEGRAM_SEND_ENABLED = True
    post_update(message_update(member.telegram_id, "/stats"))
    (reply,) = fake_bot_api.messages_to(member.telegram_id)
    assert reply["text"].split("\n") == [
        "<b>Your P2PHub stats</b>",
        "XP: 70 · level 1 (Beginner)",
        "Check-in streak: 0",
        "Network: 2 members, 2 direct",
        "USDT: 0.00 available · 0.00 balance · 0.00 earned in total",
        "PRO: not active",
    ]


@pytest.mark.parametrize(("text", "first_line"), [("/help", "<b>P2PHub bot</b>"), ("hello", "I do not know that one.")])
def test_help_and_anything_else(fake_bot_api, post_update, text, first_line):
    post_update(message_update(880_020, text))
    (reply,) = fake_bot_api.messages_to(880_020)
    assert reply["text"].split("\n")[0].startswith(first_line)


def test_help_in_russian(fake_bot_api, post_update):
    post_update(message_update(880_021, "/help", language_code="ru-RU"))
    assert reply_texts(fake_bot_api, 880_021)[0].startswith("<b>Бот P2PHub</b>\n/start — ваши ссылки")


# --- operator commands --------------------------------------------------------------------------


def test_telegram_webhook_set_registers_secret_and_allowed_updates(fake_bot_api, settings):
    from p2phub.testing.commands import run_command

    settings.TELEGRAM_WEBHOOK_URL = "https://p2phub.example/telegram/webhook/"
    code, output = run_command("telegram_webhook", "set")
    assert code == 0
    (request,) = fake_bot_api.requests("setWebhook")
    assert request.json == {
        "url": "https://p2phub.example/telegram/webhook/",
        "secret_token": SECRET,
        "allowed_updates": ["message", "my_chat_member"],
        "drop_pending_updates": False,
    }
    assert "Webhook set" in output
    assert run_command("telegram_webhook", "delete")[0] == 0
    assert len(fake_bot_api.requests("deleteWebhook")) == 1
    assert '"pending_update_count": 0' in run_command("telegram_webhook", "info")[1]


def test_telegram_webhook_set_refuses_plain_http(fake_bot_api, settings):
    from p2phub.testing.commands import run_command

    settings.TELEGRAM_WEBHOOK_URL = "http://127.0.0.1:8000/telegram/webhook/"
    code, output = run_command("telegram_webhook", "set")
    assert code == 1 and "HTTPS" in output
    assert fake_bot_api.requests("setWebhook") == []


def test_telegram_poll_feeds_updates_through_the_same_intake(fake_bot_api, committed):
    from p2phub.testing.commands import run_command

    update = message_update(880_030, "/help")
    fake_bot_api.server.respond_json("POST", fake_bot_api.path("getUpdates"), {"ok": True, "result": [update, update]})
    with committed():
        assert run_command("telegram_poll", "--once")[0] == 0
    (poll,) = fake_bot_api.requests("getUpdates")
    assert poll.json["timeout"] == 0 and poll.json["allowed_updates"] == ["message", "my_chat_member"]
    assert TelegramUpdate.objects.get().update_id == update["update_id"]
    assert len(fake_bot_api.messages_to(880_030)) == 1
