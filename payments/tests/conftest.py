"""Fixtures for payments tests: a fake rate source + toncenter indexer on one local HTTP
server (real sockets, real wire format), configured wallets, and money helpers."""

import itertools
import time
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.core.cache import cache

from p2phub.testing.fake_http import FakeHTTPServer, FakeRequest, FakeResponse
from partners.tests.factories import make_chain
from payments.clients import rates
from payments.services import payment_create

TON_WALLET = "0:83DFD552E63729B472FCBCC8C45EBCC6691702558B68EC7527E1BA403A0F31A8"
USDT_WALLET = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"
PAYER = "0:2CF55953E92EFBEADAB7BA725C3F93A0B23F842CBBA72D7B8E6F510A70E422E3"
RATES_PATH = "/v2/rates"
TX_PATH = "/api/v3/transactions"
# Logical times are unique per account; rows built without an explicit lt get the next one.
_next_lt = itertools.count(1000)


def ton_tx(
    tx_hash: str,
    *,
    comment: str | None,
    value: int,
    utime: int | None = None,
    lt: int | None = None,
    bounced: bool = False,
    aborted: bool = False,
) -> dict:
    """A row shaped like toncenter v3's /transactions answer for a wallet receiving TON."""
    decoded = {"type": "text_comment", "comment": comment} if comment is not None else None
    return {
        "account": TON_WALLET,
        "hash": tx_hash,
        "lt": str(47597573000000 + (lt if lt is not None else next(_next_lt))),
        "now": utime if utime is not None else int(time.time()),
        "description": {"type": "ord", "aborted": aborted, "compute_ph": {"success": not aborted}},
        "in_msg": {
            "source": PAYER,
            "destination": TON_WALLET,
            "value": str(value),
            "bounced": bounced,
            "message_content": {"body": "te6cc", "decoded": decoded},
        },
        "out_msgs": [],
    }


def _lt_of(row) -> int:
    try:
        return int(row["lt"])
    except (KeyError, TypeError, ValueError):
        return 0  # garbage rows sort first, as an indexer would have to put them somewhere


def toncenter_transactions_page(rows: list, request: FakeRequest) -> FakeResponse:
    """Answer like toncenter v3 ``/transactions``: filter by start/end utime and lt (all
    inclusive, ANDed), order by lt (``sort=desc`` by default), then ``offset`` and ``limit``
    (at most 1000, default 10)."""
    query = {key: values[0] for key, values in request.query.items()}
    try:
        limit = int(query.get("limit", "10"))
        offset = int(query.get("offset", "0"))
        bounds = {key: int(query[key]) for key in ("start_utime", "end_utime", "start_lt", "end_lt") if key in query}
    except ValueError:
        return FakeResponse(status=422, json={"detail": [{"msg": "value is not a valid integer"}]})
    if not 1 <= limit <= 1000:
        return FakeResponse(status=422, json={"detail": [{"msg": "limit must be 1..1000"}]})
    if query.get("sort", "desc") not in ("asc", "desc", "none"):
        return FakeResponse(status=422, json={"detail": [{"msg": "bad sort"}]})

    def keep(row) -> bool:
        if not isinstance(row, dict):
            return True
        now = row.get("now") if isinstance(row.get("now"), int) else 0
        lt = _lt_of(row)
        return (
            now >= bounds.get("start_utime", now)
            and now <= bounds.get("end_utime", now)
            and lt >= bounds.get("start_lt", lt)
            and lt <= bounds.get("end_lt", lt)
        )

    selected = sorted((row for row in rows if keep(row)), key=_lt_of, reverse=query.get("sort", "desc") == "desc")
    return FakeResponse(json={"transactions": selected[offset : offset + limit], "address_book": {}})


@dataclass
class TonEnv:
    server: FakeHTTPServer
    transactions: list = field(default_factory=list)
    # When set, the indexer answers with this instead of the transactions (errors, 429s).
    failure: FakeResponse | None = None

    def add(self, row: dict) -> None:
        self.transactions.append(row)  # the fake orders by lt, like the indexer

    def indexer_calls(self) -> int:
        return len(self.server.requests_to("GET", TX_PATH))

    def set_rate(self, usd) -> None:
        cache.delete(rates.CACHE_KEY)
        self.server.respond_json("GET", RATES_PATH, {"rates": {"TON": {"prices": {"USD": usd}}}})


@pytest.fixture
def ton_env(settings, fake_http_server) -> TonEnv:
    env = TonEnv(server=fake_http_server)
    settings.TON_RATE_URL = f"{fake_http_server.url}{RATES_PATH}?tokens=ton&currencies=usd"
    settings.TON_API_BASE_URL = f"{fake_http_server.url}/api/v3"
    settings.TON_API_KEY = ""
    settings.TON_WALLET_ADDRESS = TON_WALLET
    settings.USDT_WALLET_ADDRESS = USDT_WALLET
    settings.HTTP_CLIENT_TIMEOUT_SECONDS = 2.0

    def transactions(request: FakeRequest) -> FakeResponse:
        if env.failure is not None:
            return env.failure
        return toncenter_transactions_page(env.transactions, request)

    fake_http_server.add_route("GET", TX_PATH, transactions)
    env.set_rate("5.5")
    return env


@pytest.fixture
def wallets(settings):
    settings.TON_WALLET_ADDRESS = TON_WALLET
    settings.USDT_WALLET_ADDRESS = USDT_WALLET


def money(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.000001"))


@pytest.fixture
def chain():
    """A 10-member chain; its last member buys (so L1..L9 are all paid)."""
    return make_chain(10)


@pytest.fixture
def session(ton_env, chain):
    """An open TON payment session of the chain's last member."""
    return payment_create(partner=chain[-1], method="TON")
