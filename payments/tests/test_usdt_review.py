"""USDT: member submits a hash, staff approve or reject (API and admin actions)."""

import pytest

from audit.models import AuditLog, EventType
from partners.tests.factories import make_chain
from payments.models import Payment, USDTEntry
from payments.services import payment_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wallets")]
HASH = "0x" + "ab" * 32


@pytest.fixture
def chain():
    return make_chain(10)


@pytest.fixture
def payment(chain):
    return payment_create(partner=chain[-1], method="USDT")


def submit(tma_client, partner, payment, tx_hash=HASH):
    return tma_client(partner).post(f"/api/v1/payments/{payment.pk}/check/", {"tx_hash": tx_hash}, format="json")


def test_submitting_a_hash_puts_the_payment_under_review(chain, payment, tma_client):
    response = submit(tma_client, chain[-1], payment)
    assert response.status_code == 200
    assert response.json()["status"] == "under_review"
    assert response.json()["tx_hash"] == "ab" * 32  # one spelling per transaction
    assert submit(tma_client, chain[-1], payment).status_code == 200  # same hash again: no-op
    assert not USDTEntry.objects.exists()


def test_a_hash_cannot_pay_two_payments(chain, payment, tma_client):
    submit(tma_client, chain[-1], payment)
    other = payment_create(partner=chain[-1], method="USDT")
    response = submit(tma_client, chain[-1], other, tx_hash=("AB" * 32))
    assert response.status_code == 409 and response.json()["code"] == "tx_hash_used"


@pytest.mark.parametrize("bad", ["", "xyz", "0x" + "g" * 64, "a" * 63])
def test_malformed_or_missing_hash_is_400(chain, payment, tma_client, bad):
    response = tma_client(chain[-1]).post(f"/api/v1/payments/{payment.pk}/check/", {"tx_hash": bad} if bad else {}, format="json")
    assert response.status_code == 400


def test_staff_approve_completes_and_pays_once(chain, payment, tma_client, staff_client):
    submit(tma_client, chain[-1], payment)
    response = staff_client.post(f"/api/v1/staff/payments/{payment.pk}/approve/")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    assert USDTEntry.objects.filter(payment=payment).count() == 9
    again = staff_client.post(f"/api/v1/staff/payments/{payment.pk}/approve/")
    assert again.status_code == 409
    assert USDTEntry.objects.filter(payment=payment).count() == 9
    completed = AuditLog.objects.get(event_type=EventType.PAYMENT_COMPLETED)
    assert completed.actor_label.startswith("staff:")


def test_staff_reject(chain, payment, tma_client, staff_client):
    submit(tma_client, chain[-1], payment)
    response = staff_client.post(f"/api/v1/staff/payments/{payment.pk}/reject/", {"note": "no such tx"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert staff_client.post(f"/api/v1/staff/payments/{payment.pk}/approve/").status_code == 409
    assert not USDTEntry.objects.exists()


def test_staff_actions_on_pending_payment_are_409(payment, staff_client):
    for action in ("approve", "reject", "refund"):
        assert staff_client.post(f"/api/v1/staff/payments/{payment.pk}/{action}/").status_code == 409


def test_members_cannot_use_staff_endpoints(chain, payment, tma_client):
    assert tma_client(chain[-1]).post(f"/api/v1/staff/payments/{payment.pk}/approve/").status_code == 403


def test_unknown_payment_is_404_for_staff(staff_client):
    assert staff_client.post("/api/v1/staff/payments/999999/approve/").status_code == 404


def test_admin_actions_call_the_services(chain, payment, tma_client, admin_client):
    submit(tma_client, chain[-1], payment)
    response = admin_client.post(
        "/admin/payments/payment/", {"action": "approve_payments", "_selected_action": [payment.pk]}, follow=True
    )
    assert response.status_code == 200
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.COMPLETED
    assert USDTEntry.objects.filter(payment=payment).count() == 9
    admin_client.post("/admin/payments/payment/", {"action": "refund_payments", "_selected_action": [payment.pk]})
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.REFUNDED
    assert USDTEntry.objects.filter(payment=payment, kind=USDTEntry.Kind.COMMISSION_REVERSAL).count() == 9


def test_admin_pages_render_read_only(payment, admin_client):
    for url in ("/admin/payments/payment/", f"/admin/payments/payment/{payment.pk}/change/", "/admin/payments/usdtentry/",
                "/admin/payments/payout/", "/admin/payments/subscription/", "/admin/payments/tontransfer/"):
        assert admin_client.get(url).status_code == 200, url
    assert admin_client.get("/admin/payments/usdtentry/add/").status_code == 403
