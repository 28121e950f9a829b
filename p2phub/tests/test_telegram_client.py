"""Telegram Bot API client against a local fake server speaking the Bot API wire format."""

from __future__ import annotations

import pytest

from p2phub.clients import telegram
from p2phub.clients.errors import (
    ExternalServiceError,
    PermanentExternalError,
    TransientExternalError,
)
from p2phub.testing.fake_http import FakeHTTPServer, FakeResponse

TOKEN = "123456:TEST-token"
SEND_PATH = f"/bot{TOKEN}/sendMessage"
MEMBER_PATH = f"/bot{TOKEN}/getChatMember"
USER = {"id": 42, "is_bot": False, "first_name": "Alice", "username": "alice"}


@pytest.fixture
def bot_api(settings, fake_http_server: FakeHTTPServer) -> FakeHTTPServer:
    settings.TELEGRAM_API_BASE_URL = fake_http_server.url
    settings.TELEGRAM_BOT_TOKEN = TOKEN
    settings.HTTP_CLIENT_TIMEOUT_SECONDS = 2.0
    return fake_http_server


def sent_message(text: str = "Hello") -> dict:
    return {
        "ok": True,
        "result": {
            "message_id": 77,
            "from": {
                "id": 123456,
                "is_bot": True,
                "first_name": "P2PHub",
                "username": "p2phub_bot",
            },
            "chat": {"id": 42, "first_name": "Alice", "username": "alice", "type": "private"},
            "date": 1718000000,
            "text": text,
        },
    }


def telegram_error(code: int, description: str, **parameters: int) -> FakeResponse:
    payload: dict = {"ok": False, "error_code": code, "description": description}
    if parameters:
        payload["parameters"] = parameters
    return FakeResponse(status=code, json=payload)


def chat_member(status: str, **extra: object) -> dict:
    return {"ok": True, "result": {"user": USER, "status": status, **extra}}


# -- sendMessage ---------------------------------------------------------------------


def test_send_message_posts_json_and_returns_message(bot_api):
    bot_api.respond_json("POST", SEND_PATH, sent_message("<b>Hi</b>"))
    markup = {"inline_keyboard": [[{"text": "Open", "url": "https://t.me/p2phub_bot/app"}]]}

    message = telegram.send_message(42, "<b>Hi</b>", reply_markup=markup)

    assert message["message_id"] == 77
    [request] = bot_api.requests
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {
        "chat_id": 42,
        "text": "<b>Hi</b>",
        "parse_mode": "HTML",
        "reply_markup": markup,
        "link_preview_options": {"is_disabled": True},  # previews would open one-time links
    }


def test_send_message_without_parse_mode_and_with_previews_sends_neither_option(bot_api):
    bot_api.respond_json("POST", SEND_PATH, sent_message())

    telegram.send_message(42, "Hello", parse_mode=None, link_preview=True)

    assert bot_api.requests[0].json == {"chat_id": 42, "text": "Hello"}


def test_429_is_transient_with_retry_after_from_parameters(bot_api):
    bot_api.respond_sequence(
        "POST", SEND_PATH, [telegram_error(429, "Too Many Requests: retry after 7", retry_after=7)]
    )

    with pytest.raises(TransientExternalError) as excinfo:
        telegram.send_message(42, "Hello")

    assert excinfo.value.retry_after == 7.0
    assert excinfo.value.status_code == 429


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient(bot_api, status):
    # Proxies in front of Telegram answer 502/503 with HTML, not Bot API JSON.
    bot_api.respond_sequence(
        "POST", SEND_PATH, [FakeResponse(status=status, body=b"<html>Bad Gateway</html>")]
    )

    with pytest.raises(TransientExternalError) as excinfo:
        telegram.send_message(42, "Hello")

    assert excinfo.value.retry_after is None


def test_timeout_is_transient(bot_api, settings):
    settings.HTTP_CLIENT_TIMEOUT_SECONDS = 0.2
    bot_api.respond_sequence("POST", SEND_PATH, [FakeResponse(json=sent_message(), delay=2.0)])

    with pytest.raises(TransientExternalError, match="timed out"):
        telegram.send_message(42, "Hello")


def test_connection_refused_is_transient(settings):
    with FakeHTTPServer() as server:
        closed_url = server.url
    settings.TELEGRAM_API_BASE_URL = closed_url
    settings.TELEGRAM_BOT_TOKEN = TOKEN

    with pytest.raises(TransientExternalError) as excinfo:
        telegram.send_message(42, "Hello")

    assert TOKEN not in str(excinfo.value)


def test_403_blocked_by_user_raises_bot_blocked(bot_api):
    bot_api.respond_sequence(
        "POST", SEND_PATH, [telegram_error(403, "Forbidden: bot was blocked by the user")]
    )

    with pytest.raises(telegram.BotBlockedError) as excinfo:
        telegram.send_message(42, "Hello")

    assert isinstance(excinfo.value, PermanentExternalError)
    assert excinfo.value.description == "Forbidden: bot was blocked by the user"


def test_other_4xx_is_permanent_but_not_blocked(bot_api):
    bot_api.respond_sequence(
        "POST", SEND_PATH, [telegram_error(400, "Bad Request: can't parse entities")]
    )

    with pytest.raises(PermanentExternalError) as excinfo:
        telegram.send_message(42, "<b>broken")

    assert not isinstance(excinfo.value, telegram.BotBlockedError)
    assert excinfo.value.status_code == 400


@pytest.mark.parametrize(
    "response",
    [
        FakeResponse(status=200, body=b"not json", headers={"Content-Type": "application/json"}),
        FakeResponse(status=200, json=["ok"]),
        FakeResponse(status=200, json={"ok": True}),
        FakeResponse(status=404, body=b"Not Found"),
    ],
    ids=["not-json", "not-object", "ok-without-result", "html-404"],
)
def test_malformed_answer_is_permanent(bot_api, response):
    bot_api.respond_sequence("POST", SEND_PATH, [response])

    with pytest.raises(PermanentExternalError):
        telegram.send_message(42, "Hello")


def test_missing_token_fails_without_http(bot_api, settings):
    settings.TELEGRAM_BOT_TOKEN = ""

    with pytest.raises(PermanentExternalError, match="Telegram bot token is not configured"):
        telegram.send_message(42, "Hello")

    assert bot_api.requests == []


def test_error_classes_form_one_hierarchy():
    assert issubclass(TransientExternalError, ExternalServiceError)
    assert issubclass(PermanentExternalError, ExternalServiceError)
    assert issubclass(telegram.BotBlockedError, PermanentExternalError)


# -- getChatMember -------------------------------------------------------------------


def test_get_chat_member_returns_the_chat_member(bot_api):
    bot_api.respond_json("POST", MEMBER_PATH, chat_member("member"))

    member = telegram.get_chat_member("@p2phub_community", 42)

    assert member == {"user": USER, "status": "member"}
    assert bot_api.requests[0].json == {"chat_id": "@p2phub_community", "user_id": 42}


@pytest.mark.parametrize(
    ("status", "extra", "expected"),
    [
        ("creator", {"is_anonymous": False}, True),
        ("administrator", {"can_be_edited": False, "is_anonymous": False}, True),
        ("member", {}, True),
        ("restricted", {"is_member": True, "can_send_messages": False}, True),
        ("restricted", {"is_member": False, "can_send_messages": False}, False),
        ("left", {}, False),
        ("kicked", {"until_date": 0}, False),
    ],
)
def test_is_chat_member_by_status(bot_api, status, extra, expected):
    bot_api.respond_json("POST", MEMBER_PATH, chat_member(status, **extra))

    assert telegram.is_chat_member(-1001234567890, 42) is expected


@pytest.mark.parametrize(
    "description",
    [
        "Bad Request: user not found",
        "Bad Request: chat not found",
        "Bad Request: PARTICIPANT_ID_INVALID",
    ],
)
def test_is_chat_member_false_when_telegram_does_not_know_the_user(bot_api, description):
    bot_api.respond_sequence("POST", MEMBER_PATH, [telegram_error(400, description)])

    assert telegram.is_chat_member(-1001234567890, 42) is False


def test_is_chat_member_propagates_other_bad_requests(bot_api):
    # The bot cannot see the member list: a configuration fault, not "not a member".
    bot_api.respond_sequence(
        "POST", MEMBER_PATH, [telegram_error(400, "Bad Request: member list is inaccessible")]
    )

    with pytest.raises(PermanentExternalError):
        telegram.is_chat_member(-1001234567890, 42)


def test_is_chat_member_propagates_transient_errors(bot_api):
    rate_limited = telegram_error(429, "Too Many Requests: retry after 3", retry_after=3)
    bot_api.respond_sequence("POST", MEMBER_PATH, [rate_limited])

    with pytest.raises(TransientExternalError) as excinfo:
        telegram.is_chat_member(-1001234567890, 42)

    assert excinfo.value.retry_after == 3.0
