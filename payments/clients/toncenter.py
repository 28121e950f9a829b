"""toncenter indexer API v3 client: incoming TON transfers to the platform wallet.

Wire format: ``GET {TON_API_BASE_URL}/transactions?account=<addr>&limit=<n>&sort=asc
[&start_utime=<t>][&start_lt=<lt>]`` with ``X-API-Key: <TON_API_KEY>`` when a key is configured.
The answer is ``{"transactions": [...], "address_book": {...}}``; each transaction has
``hash``, ``lt`` (a decimal string), ``now`` (unix time), ``description.aborted`` and
``in_msg`` with ``source`` (null for external messages), ``value`` (nanotons as a string),
``bounced`` and ``message_content.decoded`` (``{"type": "text_comment", "comment": ...}``).

Paging is by cursor, oldest first: an account's transactions have strictly increasing logical
times, so the next page starts at ``start_lt = <last lt of this page> + 1``. Unlike ``offset``
over a newest-first list, that neither skips nor repeats rows when transactions arrive between
requests, and it reaches any depth (offset paging stopped at the newest few hundred).

One odd row never spoils a page: a row with missing, non-numeric or out-of-range fields comes
back as an ``IncomingTransfer`` whose ``problem`` says what is wrong (the caller records it for
staff), with a stable synthetic hash when it has no usable one.

Errors: HTTP 429 (``Retry-After`` honoured), 5xx, timeouts and connection failures are
transient; toncenter may also answer ``{"error": "...", "code": 429}`` bodies, which are mapped
by their ``code``. Other 4xx and malformed answers (not a transaction list) are permanent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from p2phub.clients.errors import PermanentExternalError, TransientExternalError

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://toncenter.com/api/v3"
MAX_LIMIT = 1000  # toncenter v3 /transactions answers at most 1000 rows per request
# Both our BigIntegerFields and the chain's own counters fit in a signed 64-bit integer.
_INT64_MAX = 2**63 - 1
# Unix times the database and datetime can hold (years 1970..9999).
_UTIME_MAX = 253_402_300_799
# Transaction hashes are base64 or hex: printable ASCII without spaces.
_HASH = re.compile(r"^[\x21-\x7e]{1,128}$")
_ADDRESS_MAX = 128


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
    # Why the row cannot be used as a payment (None for a well-formed transfer). Numeric fields
    # of a malformed transfer that could not be read are 0.
    problem: str | None = None


@dataclass(frozen=True)
class TransferPage:
    transfers: list[IncomingTransfer]
    # start_lt for the page after this one: past every row of this page (None when empty).
    next_lt: int | None
    # True when the indexer may have more rows after this page.
    more: bool


def iter_incoming_pages(
    *,
    account: str | None = None,
    start_utime: int | None = None,
    start_lt: int | None = None,
    limit: int = 100,
    max_pages: int | None = None,
) -> Iterator[TransferPage]:
    """Pages of incoming internal transfers to ``account`` (default: the platform wallet),
    oldest first, from ``start_utime`` / ``start_lt`` (both inclusive) until the indexer has
    no more, or ``max_pages`` pages were read. The caller may stop iterating at any page."""
    if not 1 <= limit <= MAX_LIMIT or (max_pages is not None and max_pages < 1):
        raise ValueError(f"limit must be 1..{MAX_LIMIT} and max_pages positive")
    account = account or getattr(settings, "TON_WALLET_ADDRESS", "")
    if not account:
        raise PermanentExternalError("TON wallet address is not configured")
    params: dict[str, Any] = {"account": account, "limit": limit, "sort": "asc"}
    if start_utime is not None:
        params["start_utime"] = start_utime
    cursor = start_lt
    pages = 0
    with _client() as client:
        while True:
            query = dict(params)
            if cursor is not None:
                query["start_lt"] = cursor
            rows = _fetch_page(client, query)
            pages += 1
            transfers = [t for t in (_parse_transaction(row) for row in rows) if t is not None]
            last_lt = max((lt for lt in map(_row_lt, rows) if lt is not None), default=None)
            next_lt = last_lt + 1 if last_lt is not None else None
            # A full page whose rows carry no usable lt cannot be paged past: stop, loudly.
            stuck = next_lt is None or (cursor is not None and next_lt <= cursor)
            if len(rows) >= limit and stuck:
                logger.error("toncenter page at start_lt=%s has no usable lt; cannot page further", cursor)
            more = len(rows) >= limit and not stuck
            yield TransferPage(transfers=transfers, next_lt=next_lt, more=more)
            if not more or (max_pages is not None and pages >= max_pages):
                return
            cursor = next_lt


def list_incoming_transfers(
    *,
    account: str | None = None,
    start_utime: int | None = None,
    start_lt: int | None = None,
    limit: int = 100,
    max_pages: int | None = None,
) -> list[IncomingTransfer]:
    """Every incoming transfer from ``start_utime`` / ``start_lt`` on, oldest first (all pages,
    or the first ``max_pages``)."""
    transfers: list[IncomingTransfer] = []
    for page in iter_incoming_pages(
        account=account, start_utime=start_utime, start_lt=start_lt, limit=limit, max_pages=max_pages
    ):
        transfers.extend(page.transfers)
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


class _Malformed(Exception):
    pass


def _parse_transaction(row: Any) -> IncomingTransfer | None:
    """The transfer carried by ``row``, None when it has no inbound internal message, or a
    transfer with ``problem`` set when the row is not usable as it stands."""
    if not isinstance(row, dict):
        return _malformed(row, "transaction is not an object")
    in_msg = row.get("in_msg")
    # External inbound messages (the wallet's own outgoing orders) have no source.
    if in_msg is None or (isinstance(in_msg, dict) and in_msg.get("source") is None):
        return None
    try:
        if not isinstance(in_msg, dict):
            raise _Malformed("in_msg is not an object")
        source = in_msg["source"]
        if not isinstance(source, str) or not source or len(source) > _ADDRESS_MAX:
            raise _Malformed("in_msg.source is not an address")
        tx_hash = row.get("hash")
        if not isinstance(tx_hash, str) or not _HASH.match(tx_hash):
            raise _Malformed("hash is missing or not a transaction hash")
        description = row.get("description", {})
        if description is None:
            description = {}
        if not isinstance(description, dict):
            raise _Malformed("description is not an object")
        comment, comment_problem = _text_comment(in_msg)
        transfer = IncomingTransfer(
            tx_hash=tx_hash,
            lt=_bounded_int(row.get("lt"), "lt", 0, _INT64_MAX),
            utime=_bounded_int(row.get("now"), "now", 0, _UTIME_MAX),
            source=source,
            value_nanotons=_bounded_int(in_msg.get("value"), "in_msg.value", 0, _INT64_MAX),
            comment=comment,
            bounced=_flag(in_msg.get("bounced"), "in_msg.bounced"),
            aborted=_flag(description.get("aborted"), "description.aborted"),
            problem=comment_problem,
        )
    except _Malformed as exc:
        return _malformed(row, str(exc))
    return transfer


def _malformed(row: Any, problem: str) -> IncomingTransfer:
    """What can be salvaged from an unusable row, for the staff record."""
    fields = row if isinstance(row, dict) else {}
    in_msg = fields.get("in_msg") if isinstance(fields.get("in_msg"), dict) else {}
    tx_hash = fields.get("hash")
    if not isinstance(tx_hash, str) or not _HASH.match(tx_hash):
        # Stable across polls, so the same odd row is recorded once.
        canonical = json.dumps(row, sort_keys=True, default=repr, ensure_ascii=True)
        tx_hash = "malformed:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()
    source = in_msg.get("source")
    comment, _problem = _text_comment(in_msg)
    return IncomingTransfer(
        tx_hash=tx_hash,
        lt=_int_or_zero(fields.get("lt"), _INT64_MAX),
        utime=_int_or_zero(fields.get("now"), _UTIME_MAX),
        source=source if isinstance(source, str) else None,
        value_nanotons=_int_or_zero(in_msg.get("value"), _INT64_MAX),
        comment=comment,
        bounced=in_msg.get("bounced") is True,
        aborted=isinstance(fields.get("description"), dict) and fields["description"].get("aborted") is True,
        problem=problem,
    )


def _row_lt(row: Any) -> int | None:
    """A row's lt for the paging cursor, whatever else is wrong with the row."""
    if not isinstance(row, dict):
        return None
    lt = _int_or_zero(row.get("lt"), _INT64_MAX)
    return lt or None


def _text_comment(in_msg: dict[str, Any]) -> tuple[str | None, str | None]:
    """(comment, problem): the text comment, if any, and why it is unusable, if it is."""
    content = in_msg.get("message_content")
    decoded = content.get("decoded") if isinstance(content, dict) else None
    if not (isinstance(decoded, dict) and decoded.get("type") == "text_comment"):
        return None, None
    comment = decoded.get("comment")
    if comment is None:
        return None, None
    if not isinstance(comment, str):
        return None, "text comment is not a string"
    if "\x00" in comment:
        return comment, "text comment holds a NUL byte"
    try:
        comment.encode("utf-8")
    except UnicodeEncodeError:
        return comment, "text comment is not valid UTF-8"
    return comment, None


def _bounded_int(value: Any, field_name: str, low: int, high: int) -> int:
    # Large numbers (lt, nanotons) arrive as strings; bool would silently pass as int.
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _Malformed(f"{field_name} is missing or not an integer")
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]{1,20}", value.strip()):
        raise _Malformed(f"{field_name} is not an integer")
    number = int(value)
    if not low <= number <= high:
        raise _Malformed(f"{field_name} is out of range")
    return number


def _int_or_zero(value: Any, high: int) -> int:
    try:
        return _bounded_int(value, "", 0, high)
    except _Malformed:
        return 0


def _flag(value: Any, field_name: str) -> bool:
    # A flag that is neither true, false nor absent could hide a bounce: never guess.
    if value is None or isinstance(value, bool):
        return value is True
    raise _Malformed(f"{field_name} is not a boolean")


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
