"""Payment sessions over the API: server-side price, quotes, 503s, scoping."""

from decimal import Decimal

import pytest

from audit.models import AuditLog, EventType
from partners.tests.factories import PartnerFactory
from payments.models import Payment
from payments.tests.conftest import TON_WALLET, USDT_WALLET

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return PartnerFactory()


def test_pro_plan(member, tma_client):
    data = tma_client(member).get("/api/v1/pro/").json()
    assert data == {"plan": "PRO_MONTHLY", "price_usd": "39.00", "duration_days": 30, "is_pro": False, "pro_expires_at": None}


def test_ton_session_fields(ton_env, member, tma_client):
    response = tma_client(member).post("/api/v1/payments/", {"method": "TON"}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["method"] == "TON" and data["status"] == "pending" and data["currency"] == "TON"
    assert data["price_usd"] == "39.00"
    assert data["amount"] == "7.232727273" and data["amount_nanotons"] == "7232727273"
    assert data["address"] == TON_WALLET
    assert data["memo"].startswith("P2P-") and len(data["memo"]) == 12
    assert data["ton_link"] == f"ton://transfer/{TON_WALLET}?amount=7232727273&text={data['memo']}"
    assert data["qr_svg"].startswith("<svg")
    payment = Payment.objects.get(pk=data["id"])
    assert (payment.expires_at - payment.created_at).total_seconds() == 600
    assert AuditLog.objects.filter(event_type=EventType.PAYMENT_CREATED, partner_id=member.pk).count() == 1


def test_usdt_session_fields(wallets, member, tma_client):
    data = tma_client(member).post("/api/v1/payments/", {"method": "usdt"}, format="json").json()
    assert (data["amount"], data["currency"], data["address"], data["ton_link"]) == ("39.000000", "USDT", USDT_WALLET, None)
    payment = Payment.objects.get(pk=data["id"])
    assert (payment.expires_at - payment.created_at).total_seconds() == 1800


def test_client_sent_price_and_amount_are_ignored(ton_env, member, tma_client):
    response = tma_client(member).post(
        "/api/v1/payments/",
        {"method": "TON", "price_usd": "0.01", "amount": "0.000000001", "amount_nanotons": 1, "memo": "P2P-00000000"},
        format="json",
    )
    payment = Payment.objects.get(pk=response.json()["id"])
    assert payment.price_usd == Decimal("39.00") and payment.amount_nanotons == 7_232_727_273
    assert payment.memo != "P2P-00000000"


def test_memos_are_unique(wallets, member, tma_client):
    client = tma_client(member)
    memos = {client.post("/api/v1/payments/", {"method": "USDT"}, format="json").json()["memo"] for _ in range(5)}
    assert len(memos) == 5


def test_no_rate_means_503_and_no_session(ton_env, member, tma_client):
    ton_env.server.respond_json("GET", "/v2/rates", {"error": "down"}, status=500)
    from django.core.cache import cache

    cache.clear()
    response = tma_client(member).post("/api/v1/payments/", {"method": "TON"}, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "rate_unavailable"
    assert not Payment.objects.exists()


def test_no_wallet_configured_means_503(settings, member, tma_client):
    settings.TON_WALLET_ADDRESS = ""
    settings.USDT_WALLET_ADDRESS = ""
    for method in ("TON", "USDT"):
        response = tma_client(member).post("/api/v1/payments/", {"method": method}, format="json")
        assert response.status_code == 503 and response.json()["code"] == "wallet_unavailable"


@pytest.mark.parametrize("body", [{}, {"method": "BTC"}, {"method": 5}, {"method": ["TON"]}])
def test_bad_method_is_400(wallets, member, tma_client, body):
    assert tma_client(member).post("/api/v1/payments/", body, format="json").status_code == 400


def test_list_and_detail_are_scoped_to_the_caller(wallets, member, tma_client):
    other = PartnerFactory()
    mine = tma_client(member).post("/api/v1/payments/", {"method": "USDT"}, format="json").json()
    theirs = tma_client(other).post("/api/v1/payments/", {"method": "USDT"}, format="json").json()
    listed = tma_client(member).get("/api/v1/payments/").json()
    assert [p["id"] for p in listed["results"]] == [mine["id"]]
    assert tma_client(member).get(f"/api/v1/payments/{mine['id']}/").status_code == 200
    assert tma_client(member).get(f"/api/v1/payments/{theirs['id']}/").status_code == 404
    assert tma_client(member).post(f"/api/v1/payments/{theirs['id']}/check/", {"tx_hash": "a" * 64}).status_code == 404


def test_anonymous_is_401(api_client):
    assert api_client.get("/api/v1/payments/").status_code == 401
    assert api_client.post("/api/v1/payouts/", {}).status_code == 401


def test_memo_collision_is_retried(wallets, member, monkeypatch):
    from payments.services import payment_create, sessions

    memos = iter(["P2P-AAAAAAAA", "P2P-AAAAAAAA", "P2P-BBBBBBBB"])
    monkeypatch.setattr(sessions, "generate_memo", lambda: next(memos))
    first = payment_create(partner=member, method="USDT")
    second = payment_create(partner=member, method="USDT")
    assert (first.memo, second.memo) == ("P2P-AAAAAAAA", "P2P-BBBBBBBB")
