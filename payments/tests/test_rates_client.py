"""TON/USD rate client against a local fake server speaking tonapi's /v2/rates format."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.core.cache import cache

from p2phub.testing.fake_http import FakeHTTPServer, FakeResponse
from payments.clients import rates

RATES_PATH = "/v2/rates"


def tonapi_rates(usd: object, token_key: str = "TON") -> dict:
    return {
        "rates": {
            token_key: {
                "prices": {"USD": usd},
                "diff_24h": {"USD": "-1.52%"},
                "diff_7d": {"USD": "+3.10%"},
                "diff_30d": {"USD": "-8.44%"},
            }
        }
    }


@pytest.fixture
def rate_api(settings, fake_http_server: FakeHTTPServer) -> FakeHTTPServer:
    settings.TON_RATE_URL = f"{fake_http_server.url}{RATES_PATH}?tokens=ton&currencies=usd"
    settings.HTTP_CLIENT_TIMEOUT_SECONDS = 2.0
    cache.delete(rates.CACHE_KEY)
    yield fake_http_server
    cache.delete(rates.CACHE_KEY)


def test_fetches_rate_as_exact_decimal(rate_api):
    rate_api.respond_json("GET", RATES_PATH, tonapi_rates(5.4937218))

    rate = rates.fetch_ton_usd_rate()

    assert rate == Decimal("5.4937218")
    assert isinstance(rate, Decimal)
    [request] = rate_api.requests
    assert request.query == {"tokens": ["ton"], "currencies": ["usd"]}


def test_accepts_string_rate_and_lower_case_token_key(rate_api):
    rate_api.respond_json("GET", RATES_PATH, tonapi_rates("3.21", token_key="ton"))

    assert rates.fetch_ton_usd_rate() == Decimal("3.21")


def test_second_call_is_served_from_cache_without_http(rate_api):
    rate_api.respond_json("GET", RATES_PATH, tonapi_rates(5.5))

    first = rates.fetch_ton_usd_rate()
    second = rates.fetch_ton_usd_rate()

    assert first == second == Decimal("5.5")
    assert len(rate_api.requests) == 1


def test_failures_are_not_cached(rate_api):
    rate_api.respond_sequence(
        "GET",
        RATES_PATH,
        [
            FakeResponse(status=503, json={"error": "unavailable"}),
            FakeResponse(json=tonapi_rates(6)),
        ],
    )

    assert rates.fetch_ton_usd_rate() is None
    assert rates.fetch_ton_usd_rate() == Decimal("6")
    assert len(rate_api.requests) == 2


@pytest.mark.parametrize(
    "payload",
    [
        tonapi_rates(0),
        tonapi_rates(-1.5),
        tonapi_rates("abc"),
        tonapi_rates(None),
        tonapi_rates(True),
        {"rates": {"TON": {"prices": {"EUR": 5.1}}}},
        {"rates": {}},
        {"error": "token not found"},
        [],
    ],
    ids=["zero", "negative", "not-a-number", "null", "bool", "no-usd", "no-ton", "error", "list"],
)
def test_unusable_rate_returns_none(rate_api, payload, caplog):
    rate_api.respond_json("GET", RATES_PATH, payload)

    with caplog.at_level(logging.WARNING, logger="payments.clients.rates"):
        assert rates.fetch_ton_usd_rate() is None

    assert "TON/USD rate unavailable" in caplog.text
    assert cache.get(rates.CACHE_KEY) is None


@pytest.mark.parametrize(
    "response",
    [
        FakeResponse(status=500, body=b"Internal Server Error"),
        FakeResponse(status=429, json={"error": "rate limit"}),
        FakeResponse(status=200, body=b"{not json", headers={"Content-Type": "application/json"}),
        FakeResponse(status=200, body=b'{"rates": {"TON": {"prices": {"USD": NaN}}}}'),
    ],
    ids=["500", "429", "malformed-json", "nan"],
)
def test_http_and_format_errors_return_none(rate_api, response):
    rate_api.respond_sequence("GET", RATES_PATH, [response])

    assert rates.fetch_ton_usd_rate() is None


def test_timeout_returns_none(rate_api, settings, caplog):
    settings.HTTP_CLIENT_TIMEOUT_SECONDS = 0.2
    rate_api.respond_sequence("GET", RATES_PATH, [FakeResponse(json=tonapi_rates(5.5), delay=2.0)])

    with caplog.at_level(logging.WARNING, logger="payments.clients.rates"):
        assert rates.fetch_ton_usd_rate() is None

    assert "timed out" in caplog.text
