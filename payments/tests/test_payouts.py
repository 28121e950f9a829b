"""Payouts: reservation at request, minimum, availability, staff decisions, no overdraw."""

from decimal import Decimal

import pytest
from rest_framework.throttling import ScopedRateThrottle

from audit.models import AuditLog, EventType
from p2phub.testing.concurrency import raised, run_concurrently
from partners.tests.factories import PartnerFactory, UserFactory
from payments.models import Payout, USDTEntry
from payments.selectors import usdt_balances, usdt_find_mismatches
from payments.services import payment_complete, payment_create, payout_request, usdt_correction_create

pytestmark = pytest.mark.django_db
TRC20 = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"


def fund(partner, amount) -> None:
    usdt_correction_create(partner=partner, amount=Decimal(amount), reason="test funding", actor=UserFactory(is_staff=True))


def request_payout(tma_client, partner, amount, address=TRC20, network="TRC20"):
    return tma_client(partner).post(
        "/api/v1/payouts/", {"amount": amount, "address": address, "network": network}, format="json"
    )


def test_payout_reserves_the_amount(tma_client):
    member = PartnerFactory()
    fund(member, "50")
    response = request_payout(tma_client, member, "20.5")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["amount"], data["status"], data["network"]) == ("20.500000", "requested", "TRC20")
    assert usdt_balances(member.pk).available == Decimal("29.5")
    reserve = USDTEntry.objects.get(kind=USDTEntry.Kind.PAYOUT_RESERVE)
    assert reserve.amount == Decimal("-20.5") and reserve.payout_id == data["id"]
    assert tma_client(member).get("/api/v1/payouts/").json()["results"][0]["id"] == data["id"]
    assert usdt_find_mismatches() == []


def test_overdraw_is_insufficient_balance(tma_client):
    member = PartnerFactory()
    fund(member, "15")
    response = request_payout(tma_client, member, "15.000001")
    assert response.status_code == 400 and response.json()["code"] == "insufficient_balance"
    assert not Payout.objects.exists()


def test_below_minimum(tma_client):
    member = PartnerFactory()
    fund(member, "50")
    response = request_payout(tma_client, member, "9.99")
    assert response.status_code == 400 and response.json()["code"] == "below_minimum"


def test_held_commissions_are_not_available(settings, tma_client):
    settings.USDT_WALLET_ADDRESS = TRC20
    leader = PartnerFactory()
    buyer = PartnerFactory(referrer=leader)
    payment = payment_create(partner=buyer, method="USDT")
    payment_complete(payment_id=payment.pk)
    assert usdt_balances(leader.pk).balance == Decimal("11.70")
    response = request_payout(tma_client, leader, "10")
    assert response.status_code == 400 and response.json()["code"] == "insufficient_balance"


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "abc", "address": TRC20, "network": "TRC20"},
        {"amount": "-5", "address": TRC20, "network": "TRC20"},
        {"amount": "10.1234567", "address": TRC20, "network": "TRC20"},
        {"amount": "10", "address": "not-an-address", "network": "TRC20"},
        {"amount": "10", "address": TRC20, "network": "BTC"},
        {"amount": "NaN", "address": TRC20, "network": "TRC20"},
        {"address": TRC20, "network": "TRC20"},
    ],
)
def test_bad_payout_input_is_400(tma_client, body):
    member = PartnerFactory()
    fund(member, "50")
    assert tma_client(member).post("/api/v1/payouts/", body, format="json").status_code == 400


def test_staff_approve_records_hash_and_reject_releases(tma_client, staff_client):
    member = PartnerFactory()
    fund(member, "40")
    first = request_payout(tma_client, member, "20").json()
    second = request_payout(tma_client, member, "20").json()
    assert usdt_balances(member.pk).available == 0

    approved = staff_client.post(f"/api/v1/staff/payouts/{first['id']}/approve/", {"tx_hash": "abc123"}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved" and approved.json()["tx_hash"] == "abc123"
    assert staff_client.post(f"/api/v1/staff/payouts/{first['id']}/reject/").status_code == 409
    assert staff_client.post(f"/api/v1/staff/payouts/{second['id']}/approve/", {"tx_hash": "abc123"}, format="json").status_code == 409
    assert staff_client.post(f"/api/v1/staff/payouts/{second['id']}/approve/", {}, format="json").status_code == 400

    rejected = staff_client.post(f"/api/v1/staff/payouts/{second['id']}/reject/", {"note": "wrong address"}, format="json")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert usdt_balances(member.pk).available == Decimal("20")
    assert staff_client.post(f"/api/v1/staff/payouts/{second['id']}/reject/").status_code == 409
    assert USDTEntry.objects.filter(kind=USDTEntry.Kind.PAYOUT_RELEASE).count() == 1
    assert AuditLog.objects.filter(event_type=EventType.PAYOUT_APPROVED).count() == 1
    assert AuditLog.objects.filter(event_type=EventType.PAYOUT_REJECTED).count() == 1
    assert usdt_find_mismatches() == []


def test_admin_payout_approve_asks_for_the_hash(admin_client):
    member = PartnerFactory()
    fund(member, "30")
    payout = payout_request(partner=member, amount="25", address=TRC20, network="TRC20")
    form = admin_client.post("/admin/payments/payout/", {"action": "approve_payout", "_selected_action": [payout.pk]})
    assert form.status_code == 200 and b"tx_hash" in form.content
    admin_client.post(
        "/admin/payments/payout/",
        {"action": "approve_payout", "_selected_action": [payout.pk], "tx_hash": "0xfeed"},
    )
    payout.refresh_from_db()
    assert (payout.status, payout.tx_hash) == (Payout.Status.APPROVED, "0xfeed")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_requests_never_overdraw(tma_client, monkeypatch):
    # 20 requests from one member would otherwise hit the payouts throttle (10/min) first.
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "payouts", "1000/min")
    member = PartnerFactory()
    fund(member, "100")  # room for exactly 5 payouts of 20
    outcomes = run_concurrently(lambda _: request_payout(tma_client, member, "20"), 20)
    assert raised(outcomes) == []
    statuses = [(response.status_code, response.json().get("code")) for response in outcomes]
    assert statuses.count((201, None)) == 5
    assert statuses.count((400, "insufficient_balance")) == 15
    assert usdt_balances(member.pk).available == 0
    assert Payout.objects.count() == 5
