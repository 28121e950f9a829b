"""TON/USD exchange rate from tonapi's rates endpoint.

Wire format: ``GET {TON_RATE_URL}`` (default
``https://tonapi.io/v2/rates?tokens=ton&currencies=usd``) answers
``{"rates": {"TON": {"prices": {"USD": 5.5}, ...}}}``. Token and currency keys are matched
case-insensitively. The number is parsed straight from the JSON text into a ``Decimal`` so no
float rounding ever reaches a price quote.

A missing rate is not an exception here: callers must refuse to quote (HTTP 503, SPEC §4)
rather than invent a price, so every failure is logged and returned as ``None``. Good rates
are cached for 60 s in the Django cache, shared by every web and worker process.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

DEFAULT_RATE_URL = "https://tonapi.io/v2/rates?tokens=ton&currencies=usd"
CACHE_KEY = "ton_usd_rate"
CACHE_TTL_SECONDS = 60


class RateUnavailable(Exception):
    """Internal: why this attempt produced no usable rate (logged, never raised out)."""


def fetch_ton_usd_rate() -> Decimal | None:
    """Return the current TON price in USD, or None when no trustworthy rate is available."""
    demo_rate = getattr(settings, "TON_DEMO_RATE_USD", "")
    if demo_rate:
        # The local demo's declared rate (settings refuse it in production).
        return Decimal(demo_rate)
    cached = cache.get(CACHE_KEY)
    if cached is not None:
        # Stored as a string so any cache serializer (pickle, JSON) round-trips it exactly.
        return Decimal(cached)
    url = getattr(settings, "TON_RATE_URL", "") or DEFAULT_RATE_URL
    try:
        rate = _parse_rate(_get_json(url))
    except RateUnavailable as exc:
        logger.warning("TON/USD rate unavailable: %s", exc)
        return None
    cache.set(CACHE_KEY, str(rate), CACHE_TTL_SECONDS)
    return rate


def _get_json(url: str) -> Any:
    timeout = float(getattr(settings, "HTTP_CLIENT_TIMEOUT_SECONDS", 5.0))
    try:
        response = httpx.get(url, timeout=timeout, headers={"Accept": "application/json"})
    except httpx.TimeoutException as exc:
        raise RateUnavailable(f"timed out after {timeout}s") from exc
    except httpx.HTTPError as exc:
        raise RateUnavailable(f"request failed: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise RateUnavailable(f"HTTP {response.status_code}")
    try:
        # parse_float=Decimal keeps the exact digits the service sent.
        return json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        raise RateUnavailable("response is not JSON") from exc


def _parse_rate(data: Any) -> Decimal:
    rates = _get_casefold(data, "rates")
    prices = _get_casefold(_get_casefold(rates, "ton"), "prices")
    value = _get_casefold(prices, "usd")
    # bool is an int subclass; JSON true must not become a price of 1.
    if value is None or isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise RateUnavailable(f"no numeric rates.TON.prices.USD in response: {value!r}")
    try:
        rate = Decimal(str(value))
    except InvalidOperation as exc:
        raise RateUnavailable(f"rate {value!r} is not a number") from exc
    if not rate.is_finite() or rate <= 0:
        raise RateUnavailable(f"rate {value!r} is not a positive number")
    return rate


def _get_casefold(mapping: Any, key: str) -> Any:
    """``mapping[key]`` ignoring key case; None when absent or when mapping is not a dict."""
    if not isinstance(mapping, dict):
        return None
    for candidate, value in mapping.items():
        if isinstance(candidate, str) and candidate.casefold() == key.casefold():
            return value
    return None
