"""Staff assign a TON transfer that matched no memo to the payment it was meant for: audited,
credited exactly once (a second assignment, or a race of two, is refused)."""

import pytest

from audit.models import AuditLog, EventType
from p2phub.errors import ConflictError
from p2phub.testing.concurrency import raised, returned, run_concurrently
from partners.tests.factories import make_chain
from payments.models import Payment, TonTransfer, USDTEntry
from payments.services import payment_create, ton_poll, ton_transfer_assign
from payments.tests.conftest import ton_tx

pytestmark = pytest.mark.django_db


def stray(ton_env, value, tx_hash="typo=", comment="P2P-TYPO"):
    ton_env.add(ton_tx(tx_hash, comment=comment, value=value))
    ton_poll()
    transfer = TonTransfer.objects.get(tx_hash=tx_hash)
    assert transfer.status == TonTransfer.Status.UNMATCHED
    return transfer


def url(transfer) -> str:
    return f"/api/v1/staff/ton-transfers/{transfer.pk}/assign/"


def test_assigning_an_unmatched_transfer_completes_the_payment_once_and_is_audited(ton_env, session, staff_client, staff_user):
    transfer = stray(ton_env, session.amount_nanotons)
    response = staff_client.post(url(transfer), {"payment_id": session.pk, "note": "memo mistyped"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    transfer.refresh_from_db()
    session.refresh_from_db()
    assert (transfer.payment_id, transfer.resolved_by_id, session.tx_hash) == (session.pk, staff_user.pk, "typo=")
    assert USDTEntry.objects.filter(payment=session).count() == 9
    row = AuditLog.objects.get(event_type=EventType.TON_TRANSFER_ASSIGNED)
    assert row.actor_id == staff_user.pk and row.partner_id == session.partner_id
    assert row.metadata["transfer_id"] == transfer.pk and row.metadata["note"] == "memo mistyped"
    completed = AuditLog.objects.get(event_type=EventType.PAYMENT_COMPLETED)
    assert completed.metadata["source"] == "staff_assignment"

    again = staff_client.post(url(transfer), {"payment_id": session.pk}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "transfer_resolved"
    assert USDTEntry.objects.filter(payment=session).count() == 9


def test_a_completed_payment_takes_no_second_transfer(ton_env, session, staff_client):
    first = stray(ton_env, session.amount_nanotons, tx_hash="one=")
    second = stray(ton_env, session.amount_nanotons, tx_hash="two=")
    assert staff_client.post(url(first), {"payment_id": session.pk}, format="json").status_code == 200
    response = staff_client.post(url(second), {"payment_id": session.pk}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "payment_completed"
    assert USDTEntry.objects.filter(payment=session).count() == 9
    assert TonTransfer.objects.get(pk=second.pk).resolved_at is None


def test_an_underpaying_transfer_is_refused(ton_env, session, staff_client):
    transfer = stray(ton_env, session.amount_nanotons // 2)
    response = staff_client.post(url(transfer), {"payment_id": session.pk}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "underpaid"
    assert Payment.objects.get(pk=session.pk).status == Payment.Status.PENDING


def test_a_matched_transfer_cannot_be_reassigned(ton_env, session, staff_client, chain):
    ton_env.add(ton_tx("good=", comment=session.memo, value=session.amount_nanotons))
    ton_poll()
    other = payment_create(partner=chain[0], method="TON")
    response = staff_client.post(url(TonTransfer.objects.get()), {"payment_id": other.pk}, format="json")
    assert response.status_code == 409


@pytest.mark.parametrize("body", [{}, {"payment_id": "x"}, {"payment_id": 0}, {"payment_id": 2**70}])
def test_bad_assign_bodies_are_400(ton_env, session, staff_client, body):
    transfer = stray(ton_env, session.amount_nanotons)
    assert staff_client.post(url(transfer), body, format="json").status_code == 400


def test_unknown_transfer_or_payment_is_404(ton_env, session, staff_client):
    assert staff_client.post("/api/v1/staff/ton-transfers/999999/assign/", {"payment_id": session.pk}, format="json").status_code == 404
    transfer = stray(ton_env, session.amount_nanotons)
    assert staff_client.post(url(transfer), {"payment_id": 999999}, format="json").status_code == 404


def test_a_member_cannot_assign(ton_env, session, tma_client):
    transfer = stray(ton_env, session.amount_nanotons)
    assert tma_client(session.partner).post(url(transfer), {"payment_id": session.pk}, format="json").status_code == 403


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_staff_assigning_the_same_transfer_at_once_credit_exactly_once(ton_env, staff_user):
    chain = make_chain(10)
    session = payment_create(partner=chain[-1], method="TON")
    transfer = stray(ton_env, session.amount_nanotons)
    outcomes = run_concurrently(
        lambda _: ton_transfer_assign(transfer_id=transfer.pk, payment_id=session.pk, actor=staff_user), 4
    )
    assert len(returned(outcomes)) == 1
    assert all(isinstance(error, ConflictError) for error in raised(outcomes)) and len(raised(outcomes)) == 3
    assert USDTEntry.objects.filter(payment=session).count() == 9
    assert AuditLog.objects.filter(event_type=EventType.TON_TRANSFER_ASSIGNED).count() == 1


def test_staff_assign_in_admin_by_memo(ton_env, session, admin_client):
    transfer = stray(ton_env, session.amount_nanotons)
    form = admin_client.post("/admin/payments/tontransfer/", {"action": "assign_to_payment", "_selected_action": [transfer.pk]})
    assert form.status_code == 200 and b"Payment id or memo" in form.content
    admin_client.post(
        "/admin/payments/tontransfer/",
        {"action": "assign_to_payment", "_selected_action": [transfer.pk], "payment": session.memo.lower(), "note": "typo"},
    )
    assert Payment.objects.get(pk=session.pk).status == Payment.Status.COMPLETED
    again = admin_client.post(
        "/admin/payments/tontransfer/",
        {"action": "assign_to_payment", "_selected_action": [transfer.pk], "payment": str(session.pk)},
        follow=True,
    )
    assert b"already assigned or resolved" in again.content
    assert USDTEntry.objects.filter(payment=session).count() == 9
