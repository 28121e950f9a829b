"""Telegram Bot API client (sendMessage, getChatMember, webhooks, getUpdates).

Wire format: ``POST {TELEGRAM_API_BASE_URL}/bot{TELEGRAM_BOT_TOKEN}/{method}`` with a JSON
body. Every answer is JSON: ``{"ok": true, "result": ...}`` on success, otherwise
``{"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user",
"parameters": {"retry_after": 5}}`` (``parameters`` only where relevant).

Failures map onto :mod:`p2phub.clients.errors`: 429, 5xx, timeouts and connection errors are
transient; 403 is :class:`BotBlockedError`; any other 4xx or malformed answer is permanent.
Settings are read at call time so tests (and admins) can change them without a restart.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import httpx
from django.conf import settings

from p2phub.clients.errors import PermanentExternalError, TransientExternalError

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://api.telegram.org"
MEMBER_STATUSES = frozenset({"creator", "administrator", "member"})
# getChatMember descriptions meaning "this user is not in that chat" rather than a fault of
# ours. PARTICIPANT_ID_INVALID is what Telegram says for users it has never seen.
NOT_A_MEMBER_DESCRIPTIONS = ("user not found", "chat not found", "participant_id_invalid")


class TelegramAPIError(PermanentExternalError):
    """A non-retryable ``ok: false`` answer; keeps Telegram's description and parameters."""

    def __init__(
        self,
        description: str,
        *,
        status_code: int | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(description, status_code=status_code)
        self.description = description
        self.parameters = parameters or {}


class BotBlockedError(TelegramAPIError):
    """403: the user blocked the bot, deactivated their account, or the bot was kicked."""


def send_message(
    chat_id: int,
    text: str,
    *,
    reply_markup: dict | None = None,
    parse_mode: str | None = "HTML",
    link_preview: bool = False,
) -> dict:
    """Send a text message and return the sent Message object. Link previews are off unless
    asked for: Telegram's preview fetch would otherwise open the one-time `/login` link (and
    use it up) before the member does, and previews of our own links are noise."""
    payload: dict[str, Any] = {"chat_id": chat_id, "text": text}
    if not link_preview:
        payload["link_preview_options"] = {"is_disabled": True}
    if parse_mode is not None:
        payload["parse_mode"] = parse_mode
    if reply_markup is not None:
        payload["reply_markup"] = reply_markup
    result = _call("sendMessage", payload)
    if not isinstance(result, dict):
        raise PermanentExternalError("Telegram sendMessage returned a non-object result")
    return result


def set_webhook(url: str, *, secret_token: str, allowed_updates: list[str], drop_pending_updates: bool = False) -> bool:
    """Point Telegram at our webhook; it will send `secret_token` in every call's
    X-Telegram-Bot-Api-Secret-Token header."""
    payload = {
        "url": url,
        "secret_token": secret_token,
        "allowed_updates": allowed_updates,
        "drop_pending_updates": drop_pending_updates,
    }
    return _call("setWebhook", payload) is True


def delete_webhook(*, drop_pending_updates: bool = False) -> bool:
    return _call("deleteWebhook", {"drop_pending_updates": drop_pending_updates}) is True


def get_webhook_info() -> dict:
    result = _call("getWebhookInfo", {})
    if not isinstance(result, dict):
        raise PermanentExternalError("Telegram getWebhookInfo returned a non-object result")
    return result


def get_updates(*, offset: int | None, timeout: int, allowed_updates: list[str]) -> list[dict]:
    """Long-poll for updates (only while no webhook is set); waits up to `timeout` seconds."""
    payload: dict[str, Any] = {"timeout": timeout, "allowed_updates": allowed_updates}
    if offset is not None:
        payload["offset"] = offset
    result = _call("getUpdates", payload, timeout=timeout + _timeout())
    if not isinstance(result, list):
        raise PermanentExternalError("Telegram getUpdates returned a non-list result")
    return [update for update in result if isinstance(update, dict)]


def get_chat_member(chat_id: str | int, user_id: int) -> dict:
    """Return the ChatMember object for ``user_id`` in ``chat_id`` (id or ``@channelname``)."""
    result = _call("getChatMember", {"chat_id": chat_id, "user_id": user_id})
    if not isinstance(result, dict) or not isinstance(result.get("status"), str):
        raise PermanentExternalError("Telegram getChatMember returned no ChatMember status")
    return result


def is_chat_member(chat_id: str | int, user_id: int) -> bool:
    """True when the user currently belongs to the chat (restricted members included).

    Transient errors and configuration faults (e.g. 403 because the bot is not in the chat)
    propagate: "we could not check" must not read as "not a member".
    """
    try:
        member = get_chat_member(chat_id, user_id)
    except TelegramAPIError as exc:
        if exc.status_code == 400 and _means_not_a_member(exc.description):
            if "chat not found" in exc.description.lower():
                # Usually a wrong chat id in the task catalogue or the bot not added there.
                logger.warning("Telegram chat %s not found while checking membership", chat_id)
            return False
        raise
    status = member["status"]
    if status == "restricted":
        return member.get("is_member") is True
    return status in MEMBER_STATUSES


def _means_not_a_member(description: str) -> bool:
    lowered = description.lower()
    return any(marker in lowered for marker in NOT_A_MEMBER_DESCRIPTIONS)


def _call(method: str, payload: dict[str, Any], *, timeout: float | None = None) -> Any:
    """POST one Bot API method and return its ``result`` or raise a mapped error."""
    url = f"{_base_url()}/bot{_token()}/{method}"
    try:
        response = httpx.post(url, json=payload, timeout=timeout or _timeout())
    except httpx.TimeoutException as exc:
        # Note for sendMessage: Telegram may still have delivered it; a retry can duplicate.
        raise TransientExternalError(f"Telegram {method} timed out") from exc
    except httpx.UnsupportedProtocol as exc:
        raise PermanentExternalError("TELEGRAM_API_BASE_URL is not an http(s) URL") from exc
    except httpx.TransportError as exc:
        # The message names the exception type only: the URL would contain the bot token.
        raise TransientExternalError(
            f"Telegram {method} connection failed: {type(exc).__name__}"
        ) from exc
    return _parse_response(method, response)


def _parse_response(method: str, response: httpx.Response) -> Any:
    data = _json_or_none(response)
    status = response.status_code
    error_code = data.get("error_code") if isinstance(data, dict) else None
    if not isinstance(error_code, int) or isinstance(error_code, bool):
        error_code = status
    if status == 429 or error_code == 429:
        raise TransientExternalError(
            f"Telegram {method} rate limited",
            status_code=429,
            retry_after=_retry_after(data, response),
        )
    if max(status, error_code) >= 500:
        raise TransientExternalError(f"Telegram {method} server error", status_code=status)
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
        raise PermanentExternalError(
            f"Telegram {method} returned malformed JSON", status_code=status
        )
    if data["ok"]:
        if status >= 300 or "result" not in data:
            raise PermanentExternalError(
                f"Telegram {method} returned ok without a result", status_code=status
            )
        return data["result"]
    description = str(data.get("description") or f"HTTP {status}")
    parameters = data.get("parameters") if isinstance(data.get("parameters"), dict) else None
    error_class = BotBlockedError if error_code == 403 else TelegramAPIError
    raise error_class(description, status_code=error_code, parameters=parameters)


def _retry_after(data: Any, response: httpx.Response) -> float | None:
    """Telegram puts the wait in ``parameters.retry_after``; fall back to the HTTP header."""
    parameters = data.get("parameters") if isinstance(data, dict) else None
    candidates = [
        parameters.get("retry_after") if isinstance(parameters, dict) else None,
        response.headers.get("Retry-After"),
    ]
    for value in candidates:
        if isinstance(value, bool) or value is None:
            continue
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    return None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _token() -> str:
    token = getattr(settings, "TELEGRAM_BOT_TOKEN", "") or ""
    if not token:
        raise PermanentExternalError("Telegram bot token is not configured")
    return token


def _base_url() -> str:
    base = getattr(settings, "TELEGRAM_API_BASE_URL", "") or DEFAULT_API_BASE_URL
    return base.rstrip("/")


def _timeout() -> float:
    return float(getattr(settings, "HTTP_CLIENT_TIMEOUT_SECONDS", 5.0))
