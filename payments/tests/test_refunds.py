"""Refunds: every commission reversed exactly, PRO shortened, negative balances block payouts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import AuditLog, EventType
from p2phub.errors import ConflictError
from partners.models import Partner
from partners.tests.factories import PartnerFactory, make_chain, make_pro
from payments.models import Payment, Subscription, USDTEntry
from payments.selectors import usdt_balances, usdt_find_mismatches
from payments.services import payment_complete, payment_create, payment_refund

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wallets")]


def buy(partner) -> Payment:
    payment = payment_create(partner=partner, method="USDT")
    return payment_complete(payment_id=payment.pk, tx_hash=f"{payment.pk:064x}")


def test_refund_reverses_every_level_exactly(staff_user):
    chain = make_chain(10)
    payment = buy(chain[-1])
    paid = {e.pk: e for e in USDTEntry.objects.filter(payment=payment, kind=USDTEntry.Kind.COMMISSION)}

    payment_refund(payment_id=payment.pk, actor=staff_user)

    reversals = list(USDTEntry.objects.filter(payment=payment, kind=USDTEntry.Kind.COMMISSION_REVERSAL))
    assert len(reversals) == 9
    for reversal in reversals:
        original = paid[reversal.reverses_id]
        assert (reversal.partner_id, reversal.level, reversal.amount) == (original.partner_id, original.level, -original.amount)
        # A held commission is cancelled on the day it would have become available.
        assert reversal.available_at == original.available_at
    for member in chain:
        assert usdt_balances(member.pk).balance == 0
        assert usdt_balances(member.pk).available == 0
        assert usdt_balances(member.pk).total_earned == 0
    assert AuditLog.objects.filter(event_type=EventType.COMMISSION_REVERSED).count() == 9
    assert AuditLog.objects.filter(event_type=EventType.PAYMENT_REFUNDED).count() == 1
    assert usdt_find_mismatches() == []
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.REFUNDED


def test_refund_twice_is_409_and_reverses_once(staff_user):
    payment = buy(make_chain(3)[-1])
    payment_refund(payment_id=payment.pk, actor=staff_user)
    with pytest.raises(ConflictError):
        payment_refund(payment_id=payment.pk, actor=staff_user)
    assert USDTEntry.objects.filter(kind=USDTEntry.Kind.COMMISSION_REVERSAL).count() == 2


def test_refund_of_only_purchase_ends_pro(staff_user):
    buyer = PartnerFactory()
    payment = buy(buyer)
    payment_refund(payment_id=payment.pk, actor=staff_user)
    buyer.refresh_from_db()
    assert not buyer.pro_active_at(timezone.now())
    assert Subscription.objects.get(payment=payment).status == Subscription.Status.REFUNDED
    assert AuditLog.objects.get(event_type=EventType.PRO_SHORTENED).metadata["ended"] is True


def test_refund_of_a_renewal_removes_its_thirty_days(staff_user):
    buyer = make_pro(PartnerFactory(), days=10)
    old_expiry = Partner.objects.get(pk=buyer.pk).pro_expires_at
    payment = buy(buyer)
    payment_refund(payment_id=payment.pk, actor=staff_user)
    buyer.refresh_from_db()
    assert buyer.is_pro and buyer.pro_expires_at == old_expiry


def test_refund_of_an_earlier_period_pulls_later_periods_forward(staff_user):
    buyer = PartnerFactory()
    first, second = buy(buyer), buy(buyer)
    expiry_before = Partner.objects.get(pk=buyer.pk).pro_expires_at
    payment_refund(payment_id=first.pk, actor=staff_user)
    buyer.refresh_from_db()
    later = Subscription.objects.get(payment=second)
    removed = expiry_before - buyer.pro_expires_at
    assert timedelta(days=30) - timedelta(seconds=5) < removed <= timedelta(days=30)
    assert later.ends_at == buyer.pro_expires_at


def test_negative_balance_after_refund_blocks_payouts_and_nets_later_earnings(settings, staff_user, tma_client):
    settings.COMMISSION_HOLD_DAYS = 0  # commissions available at once, to withdraw them
    leader, buyer = make_chain(2)
    first = buy(buyer)
    response = tma_client(leader).post(
        "/api/v1/payouts/", {"amount": "11.70", "address": "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE", "network": "TRC20"}, format="json"
    )
    assert response.status_code == 201, response.content
    payment_refund(payment_id=first.pk, actor=staff_user)
    assert usdt_balances(leader.pk).balance == Decimal("-11.70")

    blocked = tma_client(leader).post(
        "/api/v1/payouts/", {"amount": "10", "address": "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE", "network": "TRC20"}, format="json"
    )
    assert blocked.status_code == 400 and blocked.json()["code"] == "negative_balance"

    buy(buyer)  # a later earning is netted against the debt
    assert usdt_balances(leader.pk).balance == Decimal("0")
    profile = tma_client(leader).get("/api/v1/me/").json()
    assert (profile["usdt_balance"], profile["usdt_available"], profile["total_earned_usdt"]) == ("0.000000", "0.000000", "11.700000")


def test_staff_refund_endpoint(staff_client):
    payment = buy(make_chain(2)[-1])
    response = staff_client.post(f"/api/v1/staff/payments/{payment.pk}/refund/", {"note": "chargeback"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "refunded"
    assert staff_client.post(f"/api/v1/staff/payments/{payment.pk}/refund/").status_code == 409
