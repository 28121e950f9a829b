"""Builds genuine, signed Telegram Mini App initData (for tests and the signup benchmark)."""

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode


def signed_init_data(
    *,
    bot_token: str,
    user_id: int,
    first_name: str = "Test",
    last_name: str = "",
    username: str = "",
    language_code: str = "en",
    start_param: str = "",
    auth_date: int | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    user = {"id": user_id, "first_name": first_name, "language_code": language_code}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    fields = {
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        "query_id": f"q{user_id}",
        "user": json.dumps(user, separators=(",", ":")),
    }
    if start_param:
        fields["start_param"] = start_param
    fields.update(extra or {})
    data_check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, data_check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)
