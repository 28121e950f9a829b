"""TON verification against a fake toncenter: exact-once crediting and the review cases."""

import time
from decimal import Decimal

import pytest

from audit.models import AuditLog, EventType
from p2phub.clients.errors import TransientExternalError
from p2phub.testing.concurrency import raised, run_concurrently
from p2phub.testing.fake_http import FakeResponse
from partners.tests.factories import PartnerFactory, make_chain
from payments.models import Payment, TonTransfer, USDTEntry
from payments.services import payment_create, ton_poll
from payments.tasks import poll_ton_payments
from payments.tests.conftest import ton_tx

pytestmark = pytest.mark.django_db


def credits(payment: Payment) -> int:
    return USDTEntry.objects.filter(payment=payment).count()


def test_quote_is_price_over_rate_with_markup_rounded_up(session):
    # 39 / 5.5 × 1.02 = 7.232727272727… TON → rounded up to whole nanotons.
    assert session.amount_nanotons == 7_232_727_273
    assert session.amount == Decimal("7.232727273")
    assert session.ton_usd_rate == Decimal("5.5")


def test_matching_transfer_completes_and_pays_commissions(ton_env, session):
    ton_env.add(ton_tx("good=", comment=session.memo, value=session.amount_nanotons))
    assert ton_poll() == {"matched": 1}
    session.refresh_from_db()
    assert session.status == Payment.Status.COMPLETED
    assert session.tx_hash == "good="
    assert session.received_nanotons == session.amount_nanotons
    assert credits(session) == 9
    assert TonTransfer.objects.get().status == TonTransfer.Status.MATCHED


def test_transfer_at_98_percent_of_quote_is_accepted(ton_env, session):
    enough = -(-session.amount_nanotons * 98 // 100)  # ceil(98%)
    ton_env.add(ton_tx("ok98=", comment=session.memo, value=enough))
    ton_poll()
    session.refresh_from_db()
    assert session.status == Payment.Status.COMPLETED


def test_same_transfer_in_three_polls_credits_once(ton_env, session):
    ton_env.add(ton_tx("once=", comment=session.memo, value=session.amount_nanotons))
    for _ in range(3):
        ton_poll()
    assert credits(session) == 9
    assert TonTransfer.objects.count() == 1
    assert AuditLog.objects.filter(event_type=EventType.PAYMENT_COMPLETED).count() == 1
    assert ton_env.indexer_calls() == 1  # nothing pending any more: later polls skip the indexer


def test_duplicate_rows_across_pages_credit_once(ton_env, session, settings):
    row = ton_tx("dup=", comment=session.memo, value=session.amount_nanotons)
    ton_env.transactions = [row] + [ton_tx(f"n{i}=", comment=None, value=1, lt=i + 2) for i in range(99)] + [row]
    ton_poll()
    assert credits(session) == 9
    assert TonTransfer.objects.filter(tx_hash="dup=").count() == 1


def test_check_now_then_poll_credits_once(ton_env, session, chain, tma_client):
    ton_env.add(ton_tx("chk=", comment=session.memo, value=session.amount_nanotons))
    response = tma_client(chain[-1]).post(f"/api/v1/payments/{session.pk}/check/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "completed"
    ton_poll()
    again = tma_client(chain[-1]).post(f"/api/v1/payments/{session.pk}/check/")
    assert again.json()["status"] == "completed"
    assert credits(session) == 9


@pytest.mark.parametrize(
    "case, expected_transfer, expected_payment",
    [
        ("underpaid", TonTransfer.Status.UNDERPAID, Payment.Status.UNDER_REVIEW),
        ("late", TonTransfer.Status.LATE, Payment.Status.UNDER_REVIEW),
        ("bounced", TonTransfer.Status.BOUNCED, Payment.Status.PENDING),
        ("aborted", TonTransfer.Status.BOUNCED, Payment.Status.PENDING),
        ("wrong_memo", TonTransfer.Status.UNMATCHED, Payment.Status.PENDING),
    ],
)
def test_bad_transfers_credit_nothing_and_are_visible_for_review(
    ton_env, session, case, expected_transfer, expected_payment
):
    quote = session.amount_nanotons
    expiry = int(session.expires_at.timestamp())
    row = {
        "underpaid": ton_tx("bad=", comment=session.memo, value=quote * 97 // 100),
        "late": ton_tx("bad=", comment=session.memo, value=quote, utime=expiry + 1),
        "bounced": ton_tx("bad=", comment=session.memo, value=quote, bounced=True),
        "aborted": ton_tx("bad=", comment=session.memo, value=quote, aborted=True),
        "wrong_memo": ton_tx("bad=", comment=session.memo.lower(), value=quote),
    }[case]
    ton_env.add(row)
    ton_poll()
    session.refresh_from_db()
    assert credits(session) == 0
    assert session.status == expected_payment
    transfer = TonTransfer.objects.get(tx_hash="bad=")
    assert transfer.status == expected_transfer and transfer.resolved_at is None
    assert not USDTEntry.objects.exists()
    if expected_payment == Payment.Status.UNDER_REVIEW:
        assert session.review_reason == expected_transfer and session.tx_hash == "bad="


def test_reused_memo_after_payment_credits_nothing_more(ton_env, session):
    ton_env.add(ton_tx("first=", comment=session.memo, value=session.amount_nanotons, lt=1))
    ton_env.add(ton_tx("second=", comment=session.memo, value=session.amount_nanotons, lt=2))
    assert ton_poll() == {"matched": 1, "duplicate_memo": 1}
    assert credits(session) == 9
    second = TonTransfer.objects.get(tx_hash="second=")
    assert second.status == TonTransfer.Status.DUPLICATE_MEMO and second.payment_id == session.pk


def test_reused_memo_in_a_later_poll_is_recorded_for_review(ton_env, session):
    ton_env.add(ton_tx("first=", comment=session.memo, value=session.amount_nanotons, lt=1))
    ton_poll()
    # Another session keeps the poller running; the old memo is paid again.
    payment_create(partner=PartnerFactory(), method="TON")
    ton_env.add(ton_tx("again=", comment=session.memo, value=session.amount_nanotons, lt=2))
    ton_poll()
    assert credits(session) == 9
    assert TonTransfer.objects.get(tx_hash="again=").status == TonTransfer.Status.DUPLICATE_MEMO


def test_transfer_sent_before_expiry_completes_an_already_expired_session(ton_env, session):
    from payments.services import payment_expire_stale

    payment_expire_stale(now=session.expires_at)
    session.refresh_from_db()
    assert session.status == Payment.Status.EXPIRED
    ton_env.add(ton_tx("lag=", comment=session.memo, value=session.amount_nanotons, utime=int(time.time())))
    ton_poll()
    session.refresh_from_db()
    assert session.status == Payment.Status.COMPLETED


@pytest.mark.parametrize(
    "failure",
    [
        FakeResponse(status=429, json={"error": "Ratelimit exceed", "code": 429}, headers={"Retry-After": "1"}),
        FakeResponse(status=502, body=b"bad gateway"),
        FakeResponse(status=200, json={"error": "Ratelimit exceed", "code": 429}),
    ],
)
def test_indexer_errors_change_nothing(ton_env, session, failure):
    ton_env.add(ton_tx("x=", comment=session.memo, value=session.amount_nanotons))
    ton_env.failure = failure
    with pytest.raises(TransientExternalError):
        ton_poll()
    session.refresh_from_db()
    assert session.status == Payment.Status.PENDING
    assert not TonTransfer.objects.exists()


def test_indexer_timeout_changes_nothing(ton_env, session, settings):
    settings.HTTP_CLIENT_TIMEOUT_SECONDS = 0.2
    ton_env.failure = FakeResponse(json={"transactions": []}, delay=1.0)
    with pytest.raises(TransientExternalError):
        ton_poll()
    assert Payment.objects.get(pk=session.pk).status == Payment.Status.PENDING


def test_check_now_with_indexer_down_answers_503_and_changes_nothing(ton_env, session, chain, tma_client):
    ton_env.failure = FakeResponse(status=503, body=b"down")
    response = tma_client(chain[-1]).post(f"/api/v1/payments/{session.pk}/check/")
    assert response.status_code == 503
    assert response.json()["code"] == "indexer_unavailable"
    assert Payment.objects.get(pk=session.pk).status == Payment.Status.PENDING


def test_poll_task_retries_after_a_rate_limit_and_then_credits(ton_env, session):
    ton_env.add(ton_tx("retry=", comment=session.memo, value=session.amount_nanotons))
    ton_env.failure = FakeResponse(status=429, json={"error": "Ratelimit exceed", "code": 429})
    calls = {"n": 0}
    original = ton_env.server._routes[("GET", "/api/v3/transactions")]

    def flaky(request):
        calls["n"] += 1
        if calls["n"] == 1:
            return ton_env.failure
        ton_env.failure = None
        return original(request)

    ton_env.server.add_route("GET", "/api/v3/transactions", flaky)
    result = poll_ton_payments.apply()
    assert result.successful(), result.traceback
    assert calls["n"] == 2
    assert credits(session) == 9


def test_no_pending_session_means_no_indexer_call(ton_env):
    assert ton_poll() == {}
    assert ton_env.indexer_calls() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_parallel_pollers_credit_exactly_once(ton_env):
    chain = make_chain(10)
    session = payment_create(partner=chain[-1], method="TON")
    ton_env.add(ton_tx("race=", comment=session.memo, value=session.amount_nanotons))
    assert raised(run_concurrently(lambda _: ton_poll(), 10)) == []
    assert Payment.objects.get(pk=session.pk).status == Payment.Status.COMPLETED
    assert credits(session) == 9
    assert TonTransfer.objects.count() == 1
    assert AuditLog.objects.filter(event_type=EventType.PAYMENT_COMPLETED).count() == 1
    assert AuditLog.objects.filter(event_type=EventType.COMMISSION_PAID).count() == 9


def test_staff_resolve_a_reviewed_transfer_in_admin(ton_env, session, admin_client):
    ton_env.add(ton_tx("stray=", comment="hello", value=10**9))
    ton_poll()
    transfer = TonTransfer.objects.get(tx_hash="stray=")
    admin_client.post("/admin/payments/tontransfer/", {"action": "mark_resolved", "_selected_action": [transfer.pk]})
    transfer.refresh_from_db()
    assert transfer.resolved_at is not None and transfer.resolved_by is not None
    assert AuditLog.objects.filter(event_type=EventType.STAFF_ACTION, metadata__transfer_id=transfer.pk).count() == 1


def test_late_transfer_under_review_can_be_approved_by_staff(ton_env, session, staff_client):
    ton_env.add(ton_tx("late=", comment=session.memo, value=session.amount_nanotons, utime=int(session.expires_at.timestamp()) + 5))
    ton_poll()
    response = staff_client.post(f"/api/v1/staff/payments/{session.pk}/approve/", {"note": "paid, just late"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    assert credits(session) == 9
