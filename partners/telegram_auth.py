"""Verification of Telegram Mini App initData and Login Widget data (SPEC §15).

Pure functions: no database, no Django settings. The DRF authentication class and the web
login view pass in the bot token and the clock.
"""

import hashlib
import hmac
import json
import string
from dataclasses import dataclass
from urllib.parse import parse_qsl

MAX_CLOCK_SKEW_SECONDS = 5
_HEX = frozenset(string.hexdigits.lower())


class TelegramAuthError(Exception):
    """initData or widget data is not genuine, not fresh, or not well-formed."""


@dataclass(frozen=True)
class TelegramUser:
    id: int
    first_name: str = ""
    last_name: str = ""
    username: str = ""
    language_code: str = ""
    photo_url: str = ""
    is_bot: bool = False


@dataclass(frozen=True)
class VerifiedInitData:
    user: TelegramUser
    auth_date: int
    start_param: str = ""
    query_id: str = ""


def _data_check_string(pairs: list[tuple[str, str]]) -> str:
    return "\n".join(f"{key}={value}" for key, value in sorted(pairs))


def _check_hash(received: str, expected: str) -> None:
    if len(received) != 64 or not set(received) <= _HEX:
        raise TelegramAuthError("hash is not a hex SHA-256 digest")
    if not hmac.compare_digest(received, expected):
        raise TelegramAuthError("hash does not match")


def _check_auth_date(raw_value: str | int | None, *, now: int, max_age_seconds: int | None) -> int:
    try:
        auth_date = int(raw_value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TelegramAuthError("auth_date is missing or not an integer") from None
    if auth_date > now + MAX_CLOCK_SKEW_SECONDS:
        raise TelegramAuthError("auth_date is in the future")
    if max_age_seconds is not None and now - auth_date > max_age_seconds:
        raise TelegramAuthError("auth_date is too old")
    return auth_date


def _parse_user(raw_user: str | None) -> TelegramUser:
    if not raw_user:
        raise TelegramAuthError("user is missing")
    try:
        data = json.loads(raw_user)
    except (ValueError, RecursionError):  # RecursionError: nested too deep (signed, but still input)
        raise TelegramAuthError("user is not valid JSON") from None
    if not isinstance(data, dict) or type(data.get("id")) is not int or not 0 < data["id"] < 2**63:
        raise TelegramAuthError("user.id is missing or invalid")

    def text(key: str, limit: int) -> str:
        value = data.get(key) or ""
        return value[:limit] if isinstance(value, str) else ""

    return TelegramUser(
        id=data["id"],
        first_name=text("first_name", 128),
        last_name=text("last_name", 128),
        username=text("username", 64),
        language_code=text("language_code", 16),
        photo_url=text("photo_url", 512),
        is_bot=data.get("is_bot") is True,
    )


def verify_init_data(raw: str, *, bot_token: str, now: int, max_age_seconds: int | None, max_bytes: int = 8192) -> VerifiedInitData:
    """Check Mini App initData: parsed exactly once, only `hash` dropped, the rest (including
    `signature`) sorted into the data-check-string, HMAC compared in constant time."""
    if not bot_token:
        raise TelegramAuthError("bot token is not configured")
    if not raw or len(raw.encode("utf-8", "surrogatepass")) > max_bytes:
        raise TelegramAuthError("initData is empty or too large")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True, max_num_fields=64)
    except ValueError:
        raise TelegramAuthError("initData is not a valid query string") from None
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise TelegramAuthError("initData repeats a key")
    fields = dict(pairs)
    received_hash = fields.pop("hash", None)
    if received_hash is None:
        raise TelegramAuthError("hash is missing")
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    data_check = _data_check_string(list(fields.items()))
    expected = hmac.new(secret, data_check.encode(), hashlib.sha256).hexdigest()
    _check_hash(received_hash, expected)
    auth_date = _check_auth_date(fields.get("auth_date"), now=now, max_age_seconds=max_age_seconds)
    return VerifiedInitData(
        user=_parse_user(fields.get("user")),
        auth_date=auth_date,
        start_param=fields.get("start_param", "")[:64],
        query_id=fields.get("query_id", "")[:128],
    )


def verify_login_widget(data: dict[str, str], *, bot_token: str, now: int, max_age_seconds: int | None) -> TelegramUser:
    """Check Telegram Login Widget data: same data-check-string, secret = SHA-256(bot_token)."""
    if not bot_token:
        raise TelegramAuthError("bot token is not configured")
    fields = {key: str(value) for key, value in data.items()}
    received_hash = fields.pop("hash", None)
    if received_hash is None:
        raise TelegramAuthError("hash is missing")
    secret = hashlib.sha256(bot_token.encode()).digest()
    expected = hmac.new(secret, _data_check_string(list(fields.items())).encode(), hashlib.sha256).hexdigest()
    _check_hash(received_hash, expected)
    _check_auth_date(fields.get("auth_date"), now=now, max_age_seconds=max_age_seconds)
    try:
        user_id = int(fields["id"])
    except (KeyError, ValueError):
        raise TelegramAuthError("id is missing or invalid") from None
    return TelegramUser(
        id=user_id,
        first_name=fields.get("first_name", "")[:128],
        last_name=fields.get("last_name", "")[:128],
        username=fields.get("username", "")[:64],
        photo_url=fields.get("photo_url", "")[:512],
    )
