"""toncenter v3 client against a local fake server speaking the /api/v3/transactions format."""

from __future__ import annotations

import pytest

from p2phub.clients.errors import PermanentExternalError, TransientExternalError
from p2phub.testing.fake_http import FakeHTTPServer, FakeRequest, FakeResponse
from payments.clients import toncenter
from payments.clients.toncenter import IncomingTransfer

WALLET = "0:83DFD552E63729B472FCBCC8C45EBCC6691702558B68EC7527E1BA403A0F31A8"
PAYER = "0:2CF55953E92EFBEADAB7BA725C3F93A0B23F842CBBA72D7B8E6F510A70E422E3"
TX_PATH = "/api/v3/transactions"


def transaction(
    n: int,
    *,
    comment: str | None = "P2P-7F3A9C21",
    source: str | None = PAYER,
    value: str = "1000000000",
    bounced: bool | None = False,
    aborted: bool = False,
    decoded: dict | None = None,
) -> dict:
    """One row shaped like toncenter's v3 answer for a wallet receiving TON."""
    if decoded is None and comment is not None:
        decoded = {"type": "text_comment", "comment": comment}
    in_msg = {
        "hash": f"msg{n}hash=",
        "source": source,
        "destination": WALLET,
        "value": value if source is not None else None,
        "fwd_fee": "266669",
        "ihr_fee": "0",
        "created_lt": str(47597573000000 + n),
        "created_at": str(1718000000 + n),
        "opcode": "0x00000000" if decoded else None,
        "ihr_disabled": True,
        "bounce": False,
        "bounced": bounced,
        "import_fee": None if source is not None else "0",
        "message_content": {"hash": f"body{n}=", "body": "te6cckEBAQEA", "decoded": decoded},
        "init_state": None,
    }
    return {
        "account": WALLET,
        "hash": f"tx{n}Hash+/base64=",
        "lt": str(47597573000001 + n),
        "now": 1718000000 + n,
        "mc_block_seqno": 38000000 + n,
        "trace_id": f"trace{n}=",
        "orig_status": "active",
        "end_status": "active",
        "total_fees": "2653421",
        "description": {
            "type": "ord",
            "aborted": aborted,
            "destroyed": False,
            "credit_first": True,
            "compute_ph": {"skipped": False, "success": not aborted, "exit_code": 0},
            "action": {"success": True, "valid": True, "no_funds": False},
        },
        "in_msg": in_msg,
        "out_msgs": [],
    }


def page(*rows: dict) -> dict:
    friendly = "UQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqEBI"
    return {"transactions": list(rows), "address_book": {WALLET: {"user_friendly": friendly}}}


@pytest.fixture
def indexer(settings, fake_http_server: FakeHTTPServer) -> FakeHTTPServer:
    settings.TON_API_BASE_URL = f"{fake_http_server.url}/api/v3"
    settings.TON_API_KEY = ""
    settings.TON_WALLET_ADDRESS = WALLET
    settings.HTTP_CLIENT_TIMEOUT_SECONDS = 2.0
    return fake_http_server


def test_parses_incoming_text_comment_transfer(indexer):
    indexer.respond_json("GET", TX_PATH, page(transaction(1, value="2500000000")))

    transfers = toncenter.list_incoming_transfers()

    assert transfers == [
        IncomingTransfer(
            tx_hash="tx1Hash+/base64=",
            lt=47597573000002,
            utime=1718000001,
            source=PAYER,
            value_nanotons=2500000000,
            comment="P2P-7F3A9C21",
            bounced=False,
            aborted=False,
        )
    ]


def test_sends_wire_query_and_no_key_header_without_key(indexer):
    indexer.respond_json("GET", TX_PATH, page())

    toncenter.list_incoming_transfers(limit=50, start_utime=1717999000)

    [request] = indexer.requests
    assert request.query == {
        "account": [WALLET],
        "limit": ["50"],
        "sort": ["asc"],
        "start_utime": ["1717999000"],
    }
    assert "x-api-key" not in request.headers


def test_sends_api_key_header_and_explicit_account(indexer, settings):
    settings.TON_API_KEY = "secret-key"
    indexer.respond_json("GET", TX_PATH, page())

    toncenter.list_incoming_transfers(account=PAYER)

    [request] = indexer.requests
    assert request.headers["x-api-key"] == "secret-key"
    assert request.query["account"] == [PAYER]


def test_skips_external_messages_and_transactions_without_in_msg(indexer):
    outgoing_order = transaction(1, source=None, comment=None)
    tick_tock = {**transaction(2), "in_msg": None}
    indexer.respond_json("GET", TX_PATH, page(outgoing_order, tick_tock, transaction(3)))

    transfers = toncenter.list_incoming_transfers()

    assert [t.tx_hash for t in transfers] == ["tx3Hash+/base64="]


@pytest.mark.parametrize(
    "decoded",
    [
        {"type": "binary_comment", "hex_comment": "deadbeef"},
        {"type": "jetton_notify", "query_id": "0"},
    ],
)
def test_non_text_comment_is_none(indexer, decoded):
    indexer.respond_json("GET", TX_PATH, page(transaction(1, comment=None, decoded=decoded)))

    [transfer] = toncenter.list_incoming_transfers()

    assert transfer.comment is None


def test_transfer_without_body_has_no_comment(indexer):
    indexer.respond_json("GET", TX_PATH, page(transaction(1, comment=None)))

    [transfer] = toncenter.list_incoming_transfers()

    assert transfer.comment is None


def test_bounced_and_aborted_flags(indexer):
    bounced = transaction(1, bounced=True)
    aborted = transaction(2, aborted=True)
    missing_flags = transaction(3, bounced=None)
    del missing_flags["description"]["aborted"]
    indexer.respond_json("GET", TX_PATH, page(bounced, aborted, missing_flags))

    flags = {t.tx_hash: (t.bounced, t.aborted) for t in toncenter.list_incoming_transfers()}

    assert flags == {
        "tx1Hash+/base64=": (True, False),
        "tx2Hash+/base64=": (False, True),
        "tx3Hash+/base64=": (False, False),
    }


def _ledger(rows: list[dict]):
    """A fake indexer over ``rows`` honouring sort=asc, start_lt and limit like toncenter."""

    def answer(request: FakeRequest) -> FakeResponse:
        assert request.query["sort"] == ["asc"]
        start_lt = int(request.query.get("start_lt", ["0"])[0])
        limit = int(request.query["limit"][0])
        selected = sorted((r for r in rows if int(r["lt"]) >= start_lt), key=lambda r: int(r["lt"]))
        return FakeResponse(json=page(*selected[:limit]))

    return answer


def test_pages_oldest_first_with_an_lt_cursor(indexer):
    rows = [transaction(n) for n in range(5)]
    indexer.add_route("GET", TX_PATH, _ledger(rows))

    transfers = toncenter.list_incoming_transfers(limit=2, start_lt=5, start_utime=1)

    assert [t.tx_hash for t in transfers] == [f"tx{n}Hash+/base64=" for n in range(5)]
    # Each page starts just past the last lt of the one before; the short third page ends it.
    first_lt = 47597573000001
    assert [r.query.get("start_lt") for r in indexer.requests] == [
        ["5"],
        [str(first_lt + 2)],
        [str(first_lt + 4)],
    ]
    assert all(r.query["start_utime"] == ["1"] for r in indexer.requests)


def test_rows_arriving_while_paging_are_neither_skipped_nor_repeated(indexer):
    rows = [transaction(n) for n in range(4)]
    answer = _ledger(rows)

    def arriving(request: FakeRequest) -> FakeResponse:
        rows.append(transaction(len(rows)))  # a new transaction lands before each request
        return answer(request)

    indexer.add_route("GET", TX_PATH, arriving)

    transfers = toncenter.list_incoming_transfers(limit=2, max_pages=3)

    assert [t.tx_hash for t in transfers] == [f"tx{n}Hash+/base64=" for n in range(6)]


def test_reads_far_beyond_a_few_hundred_rows(indexer):
    rows = [transaction(n) for n in range(2500)]
    indexer.add_route("GET", TX_PATH, _ledger(rows))

    transfers = toncenter.list_incoming_transfers(limit=1000)

    assert len(transfers) == 2500 and len({t.tx_hash for t in transfers}) == 2500
    assert len(indexer.requests) == 3


def test_stops_after_max_pages_and_says_there_is_more(indexer):
    indexer.add_route("GET", TX_PATH, _ledger([transaction(n) for n in range(10)]))

    pages = list(toncenter.iter_incoming_pages(limit=1, max_pages=3))

    assert [len(p.transfers) for p in pages] == [1, 1, 1]
    assert pages[-1].more is True and pages[-1].next_lt == 47597573000001 + 2 + 1
    assert len(indexer.requests) == 3


def test_last_page_says_there_is_no_more(indexer):
    indexer.add_route("GET", TX_PATH, _ledger([transaction(n) for n in range(3)]))

    pages = list(toncenter.iter_incoming_pages(limit=2))

    assert [p.more for p in pages] == [True, False]


def test_limit_above_the_indexer_maximum_is_refused_without_http(indexer):
    with pytest.raises(ValueError):
        toncenter.list_incoming_transfers(limit=1001)
    assert indexer.requests == []


def test_http_429_is_transient_with_retry_after_header(indexer):
    indexer.respond_sequence(
        "GET",
        TX_PATH,
        [
            FakeResponse(
                status=429,
                json={"error": "Ratelimit exceed", "code": 429},
                headers={"Retry-After": "2"},
            )
        ],
    )

    with pytest.raises(TransientExternalError) as excinfo:
        toncenter.list_incoming_transfers()

    assert excinfo.value.retry_after == 2.0


def test_error_body_with_code_429_is_transient(indexer):
    indexer.respond_json("GET", TX_PATH, {"error": "Ratelimit exceed", "code": 429})

    with pytest.raises(TransientExternalError) as excinfo:
        toncenter.list_incoming_transfers()

    assert excinfo.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 504])
def test_5xx_is_transient(indexer, status):
    upstream_down = FakeResponse(status=status, body=b"<html>upstream</html>")
    indexer.respond_sequence("GET", TX_PATH, [upstream_down])

    with pytest.raises(TransientExternalError):
        toncenter.list_incoming_transfers()


def test_timeout_is_transient(indexer, settings):
    settings.HTTP_CLIENT_TIMEOUT_SECONDS = 0.2
    indexer.respond_sequence("GET", TX_PATH, [FakeResponse(json=page(), delay=2.0)])

    with pytest.raises(TransientExternalError, match="timed out"):
        toncenter.list_incoming_transfers()


@pytest.mark.parametrize(
    "response",
    [
        FakeResponse(status=401, json={"error": "API key does not exist", "code": 401}),
        FakeResponse(status=422, json={"detail": [{"msg": "field required"}]}),
        FakeResponse(status=200, body=b"<html>", headers={"Content-Type": "application/json"}),
        FakeResponse(status=200, json={"transactions": None}),
    ],
    ids=["401", "422", "not-json", "no-list"],
)
def test_client_errors_and_malformed_answers_are_permanent(indexer, response):
    indexer.respond_sequence("GET", TX_PATH, [response])

    with pytest.raises(PermanentExternalError):
        toncenter.list_incoming_transfers()


def test_missing_wallet_address_fails_without_http(indexer, settings):
    settings.TON_WALLET_ADDRESS = ""

    with pytest.raises(PermanentExternalError, match="wallet address"):
        toncenter.list_incoming_transfers()

    assert indexer.requests == []


def _with_in_msg(n: int, **changes) -> dict:
    row = transaction(n)
    row["in_msg"] = {**row["in_msg"], **changes}
    return row


@pytest.mark.parametrize(
    "row, problem",
    [
        ({**transaction(1), "lt": None}, "lt is missing or not an integer"),
        ({**transaction(1), "lt": "12abc"}, "lt is not an integer"),
        ({**transaction(1), "now": "soon"}, "now is not an integer"),
        ({**transaction(1), "now": 10**15}, "now is out of range"),
        (_with_in_msg(1, value="1e9"), "in_msg.value is not an integer"),
        (_with_in_msg(1, value=str(2**64)), "in_msg.value is out of range"),
        (_with_in_msg(1, value="-5"), "in_msg.value is out of range"),
        (_with_in_msg(1, bounced="false"), "in_msg.bounced is not a boolean"),
        (_with_in_msg(1, source=12345), "in_msg.source is not an address"),
        ({**transaction(1), "description": "ord"}, "description is not an object"),
        (transaction(1, comment="P2P-7F3A9C21\x00"), "text comment holds a NUL byte"),
        (transaction(1, comment="P2P-\ud800"), "text comment is not valid UTF-8"),
        (transaction(1, decoded={"type": "text_comment", "comment": {"x": 1}}), "text comment is not a string"),
    ],
)
def test_a_malformed_row_is_returned_with_its_problem_and_the_others_still_parse(indexer, row, problem):
    indexer.respond_json("GET", TX_PATH, page(transaction(0), row, transaction(2)))

    transfers = toncenter.list_incoming_transfers()

    assert [t.problem for t in transfers] == [None, problem, None]
    assert transfers[1].tx_hash == "tx1Hash+/base64="


@pytest.mark.parametrize(
    "row",
    [
        {**transaction(1), "hash": None},
        {**transaction(1), "hash": "has space"},
        {**transaction(1), "hash": "x" * 200},
        "not an object",
        _with_in_msg(1, source=None) | {"in_msg": ["odd"]},
    ],
    ids=["no-hash", "space-in-hash", "long-hash", "not-object", "in-msg-list"],
)
def test_a_row_without_a_usable_hash_gets_a_stable_synthetic_one(indexer, row):
    indexer.respond_json("GET", TX_PATH, page(row))

    [first] = toncenter.list_incoming_transfers()
    [again] = toncenter.list_incoming_transfers()

    assert first.problem
    assert first.tx_hash == again.tx_hash
    assert len(first.tx_hash) <= 128


def test_unknown_fields_and_decoded_types_are_ignored(indexer):
    row = {**transaction(1), "new_field": {"x": [1, 2]}}
    row["in_msg"] = {**row["in_msg"], "extra": "\x00odd"}
    indexer.respond_json("GET", TX_PATH, page(row))

    [transfer] = toncenter.list_incoming_transfers()

    assert transfer.problem is None and transfer.comment == "P2P-7F3A9C21"
