"""toncenter indexer API v3 client: incoming TON transfers to the platform wallet.

Wire format: ``GET {TON_API_BASE_URL}/transactions?account=<addr>&limit=<n>&offset=<k>
&sort=desc[&start_utime=<t>]`` with ``X-API-Key: <TON_API_KEY>`` when a key is configured.
The answer is ``{"transactions": [...], "address_book": {...}}``; each transaction has
``hash``, ``lt`` (a decimal string), ``now`` (unix time), ``description.aborted`` and
``in_msg`` with ``source`` (null for external messages), ``value`` (nanotons as a string),
``bounced`` and ``message_content.decoded`` (``{"type": "text_comment", "comment": ...}``).

Errors: HTTP 429 (``Retry-After`` honoured), 5xx, timeouts and connection failures are
transient; toncenter may also answer ``{"error": "...", "code": 429}`` bodies, which are mapped
by their ``code``. Other 4xx and malformed answers are permanent.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from p2phub.clients.errors import PermanentExternalError, TransientExternalError

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://toncenter.com/api/v3"


@dataclass(frozen=True)
class IncomingTransfer:
    tx_hash: str
    lt: int
    utime: int
    source: str | None
    value_nanotons: int
    comment: str | None
    bounced: bool
    aborted: bool


def list_incoming_transfers(
    *,
    account: str | None = None,
    limit: int = 100,
    max_pages: int = 5,
    start_utime: int | None = None,
) -> list[IncomingTransfer]:
    """Incoming internal transfers to ``account`` (default: the platform wallet), newest first.

    Reads at most ``max_pages`` pages of ``limit`` transactions each.
    """
    if limit < 1 or max_pages < 1:
        raise ValueError("limit and max_pages must be positive")
    account = account or getattr(settings, "TON_WALLET_ADDRESS", "")
    if not account:
        raise PermanentExternalError("TON wallet address is not configured")
    params: dict[str, Any] = {"account": account, "limit": limit, "sort": "desc"}
    if start_utime is not None:
        params["start_utime"] = start_utime

    seen: set[str] = set()
    transfers: list[IncomingTransfer] = []
    with _client() as client:
        for page in range(max_pages):
            rows = _fetch_page(client, {**params, "offset": page * limit})
            for row in rows:
                transfer = _parse_transaction(row)
                # Offset paging over a newest-first list shifts when transactions arrive
                # between requests, so a row can show up on two pages (never be skipped).
                if transfer is None or transfer.tx_hash in seen:
                    continue
                seen.add(transfer.tx_hash)
                transfers.append(transfer)
            if len(rows) < limit:
                break
    return transfers


def _client() -> httpx.Client:
    base_url = getattr(settings, "TON_API_BASE_URL", "") or DEFAULT_API_BASE_URL
    headers = {"Accept": "application/json"}
    api_key = getattr(settings, "TON_API_KEY", "")
    if api_key:
        headers["X-API-Key"] = api_key
    timeout = float(getattr(settings, "HTTP_CLIENT_TIMEOUT_SECONDS", 5.0))
    return httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout)


def _fetch_page(client: httpx.Client, params: dict[str, Any]) -> list[Any]:
    try:
        response = client.get("transactions", params=params)
    except httpx.TimeoutException as exc:
        raise TransientExternalError("toncenter request timed out") from exc
    except httpx.UnsupportedProtocol as exc:
        raise PermanentExternalError("TON_API_BASE_URL is not an http(s) URL") from exc
    except httpx.TransportError as exc:
        raise TransientExternalError(f"toncenter connection failed: {type(exc).__name__}") from exc
    return _parse_page(response)


def _parse_page(response: httpx.Response) -> list[Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    status = response.status_code
    code = status
    if isinstance(data, dict) and "error" in data:
        # {"error": "...", "code": 429} bodies, sometimes even with HTTP 200.
        code = _int_or(data.get("code"), status)
    if code == 429 or status == 429:
        raise TransientExternalError(
            "toncenter rate limit exceeded",
            status_code=429,
            retry_after=_retry_after(response.headers.get("Retry-After")),
        )
    if code >= 500 or status >= 500:
        raise TransientExternalError(f"toncenter server error {code}", status_code=code)
    if code >= 400 or status >= 300:
        detail = (data.get("error") or data.get("detail")) if isinstance(data, dict) else None
        raise PermanentExternalError(f"toncenter error {code}: {detail}", status_code=code)
    if not isinstance(data, dict) or not isinstance(data.get("transactions"), list):
        raise PermanentExternalError("toncenter returned malformed JSON", status_code=status)
    return data["transactions"]


def _parse_transaction(row: Any) -> IncomingTransfer | None:
    """The transfer carried by ``row``, or None when it has no inbound internal message."""
    if not isinstance(row, dict):
        raise PermanentExternalError("toncenter transaction is not an object")
    in_msg = row.get("in_msg")
    # External inbound messages (the wallet's own outgoing orders) have no source.
    if not isinstance(in_msg, dict) or not in_msg.get("source"):
        return None
    tx_hash = row.get("hash")
    if not isinstance(tx_hash, str) or not tx_hash:
        raise PermanentExternalError("toncenter transaction has no hash")
    description = row.get("description") if isinstance(row.get("description"), dict) else {}
    return IncomingTransfer(
        tx_hash=tx_hash,
        lt=_required_int(row.get("lt"), "lt"),
        utime=_required_int(row.get("now"), "now"),
        source=in_msg["source"],
        value_nanotons=_required_int(in_msg.get("value"), "in_msg.value"),
        comment=_text_comment(in_msg),
        bounced=in_msg.get("bounced") is True,
        aborted=description.get("aborted") is True,
    )


def _text_comment(in_msg: dict[str, Any]) -> str | None:
    content = in_msg.get("message_content")
    decoded = content.get("decoded") if isinstance(content, dict) else None
    if isinstance(decoded, dict) and decoded.get("type") == "text_comment":
        comment = decoded.get("comment")
        return comment if isinstance(comment, str) else None
    return None


def _required_int(value: Any, field_name: str) -> int:
    # Large numbers (lt, nanotons) arrive as strings; bool would silently pass as int.
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PermanentExternalError(f"toncenter transaction has no integer {field_name}")
    try:
        return int(value)
    except ValueError as exc:
        raise PermanentExternalError(f"toncenter {field_name} is not an integer") from exc


def _int_or(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _retry_after(header: str | None) -> float | None:
    """Seconds from a numeric Retry-After header (the HTTP-date form is not used by toncenter)."""
    try:
        seconds = float(header) if header is not None else math.nan
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None
