"""Payment completion: PRO, commissions L1..L9, ledger, audit, notifications, exactly once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditLog, EventType
from p2phub.errors import ConflictError
from partners.models import Notification, Partner
from partners.tests.factories import PartnerFactory, make_chain, make_pro
from payments.models import Payment, Subscription, USDTEntry
from payments.selectors import usdt_balances, usdt_find_mismatches
from payments.services import commission_plan, payment_complete, payment_create, payment_refund
from payments.tests.conftest import money

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wallets")]

EXPECTED = [Decimal(x) for x in ("11.70", "1.95", "1.17", "0.39", "0.39", "0.39", "0.39", "0.39", "0.39")]


def buy(partner: Partner) -> Payment:
    payment = payment_create(partner=partner, method="USDT")
    return payment_complete(payment_id=payment.pk, tx_hash=f"{payment.pk:064x}")


def test_commission_plan_rounds_down_to_the_cent(settings):
    assert [amount for _level, _rate, amount in commission_plan(Decimal("39.00"))] == EXPECTED
    assert sum(EXPECTED) == Decimal("17.16")
    # 30% of 9.99 is 2.997: the platform keeps the 0.007, never the member an extra cent.
    assert commission_plan(Decimal("9.99"))[0][2] == Decimal("2.99")
    assert commission_plan(Decimal("9.99"))[3][2] == Decimal("0.09")


def test_nine_chain_pays_each_level_exactly_and_ledger_equals_balances():
    chain = make_chain(10)
    buyer, ancestors = chain[-1], list(reversed(chain[:-1]))  # ancestors[0] is L1
    payment = buy(buyer)

    rows = list(USDTEntry.objects.filter(payment=payment).order_by("level"))
    assert [(r.partner_id, r.level, r.amount) for r in rows] == [
        (ancestors[i].pk, i + 1, money(EXPECTED[i])) for i in range(9)
    ]
    assert sum(r.amount for r in rows) == Decimal("17.16")
    for row in rows:
        assert row.kind == USDTEntry.Kind.COMMISSION
        assert row.related_partner_id == buyer.pk
        assert row.base_amount == Decimal("39.00")
        assert row.rate == Decimal(("0.30", "0.05", "0.03", "0.01", "0.01", "0.01", "0.01", "0.01", "0.01")[row.level - 1])
        assert row.available_at == row.created_at + timedelta(days=7)
    for i, ancestor in enumerate(ancestors):
        balances = usdt_balances(ancestor.pk)
        ledger_sum = sum(USDTEntry.objects.filter(partner=ancestor).values_list("amount", flat=True))
        assert balances.balance == ledger_sum == money(EXPECTED[i])
        assert balances.available == 0  # held for 7 days
        assert balances.total_earned == money(EXPECTED[i])
    assert usdt_balances(buyer.pk).balance == 0
    assert usdt_find_mismatches() == []


def test_one_audit_row_per_movement_plus_completion_and_activation():
    chain = make_chain(10)
    payment = buy(chain[-1])

    rows = AuditLog.objects.filter(metadata__payment_id=payment.pk).exclude(event_type=EventType.PAYMENT_CREATED)
    by_type = {}
    for row in rows:
        by_type.setdefault(row.event_type, []).append(row)
    assert {k: len(v) for k, v in by_type.items()} == {
        EventType.PAYMENT_COMPLETED: 1,
        EventType.PRO_ACTIVATED: 1,
        EventType.COMMISSION_PAID: 9,
    }
    entries = {e.pk: e for e in USDTEntry.objects.filter(payment=payment)}
    for row in by_type[EventType.COMMISSION_PAID]:
        entry = entries[row.metadata["usdt_entry_id"]]
        assert (row.partner_id, row.amount, row.currency) == (entry.partner_id, entry.amount, "USDT")


def test_commissions_stop_at_level_nine():
    chain = make_chain(12)
    buy(chain[-1])
    assert not USDTEntry.objects.filter(partner__in=chain[:2]).exists()
    assert USDTEntry.objects.filter(partner=chain[2], level=9).exists()


def test_short_chain_pays_existing_levels_only():
    top, buyer = make_chain(2)
    payment = buy(buyer)
    assert list(USDTEntry.objects.filter(payment=payment).values_list("partner_id", "level", "amount")) == [
        (top.pk, 1, money("11.70"))
    ]


def test_completion_activates_pro_and_records_the_period():
    buyer = PartnerFactory()
    before = timezone.now()
    payment = buy(buyer)
    buyer.refresh_from_db()
    subscription = Subscription.objects.get(payment=payment)
    assert buyer.is_pro and buyer.pro_expires_at == subscription.ends_at
    assert before <= subscription.starts_at <= timezone.now()
    assert subscription.ends_at - subscription.starts_at == timedelta(days=30)


def test_renewal_with_ten_days_left_extends_from_the_old_expiry():
    buyer = make_pro(PartnerFactory(), days=10)
    old_expiry = Partner.objects.get(pk=buyer.pk).pro_expires_at
    buy(buyer)
    buyer.refresh_from_db()
    assert buyer.pro_expires_at == old_expiry + timedelta(days=30)


def test_completion_notifies_buyer_and_every_recipient_once():
    chain = make_chain(4)
    payment = buy(chain[-1])
    payment_complete(payment_id=payment.pk)  # a repeated confirmation
    kinds = list(Notification.objects.filter(data__payment_id=payment.pk).values_list("partner_id", "kind"))
    assert sorted(kinds) == sorted(
        [(chain[-1].pk, "pro_activated")] + [(p.pk, "commission_received") for p in chain[:-1]]
    )


def test_completing_twice_credits_once():
    chain = make_chain(10)
    payment = buy(chain[-1])
    again = payment_complete(payment_id=payment.pk, tx_hash="other")
    assert again.status == Payment.Status.COMPLETED
    assert USDTEntry.objects.filter(payment=payment).count() == 9
    assert AuditLog.objects.filter(event_type=EventType.PAYMENT_COMPLETED, metadata__payment_id=payment.pk).count() == 1
    assert Subscription.objects.filter(payment=payment).count() == 1


def test_refunded_payment_cannot_complete_again():
    payment = buy(PartnerFactory(referrer=PartnerFactory()))
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_user("s", is_staff=True)
    payment_refund(payment_id=payment.pk, actor=staff)
    with pytest.raises(ConflictError):
        payment_complete(payment_id=payment.pk)


def _buyer_with_open_payment(depth: int) -> Payment:
    buyer = make_chain(depth)[-1]
    return payment_create(partner=buyer, method="USDT")


# Lock payment, lock buyer, ancestors (one path IN), subscription insert, partner update,
# payment update, ledger bulk insert, notifications (recipients' languages + one INSERT ... ON
# CONFLICT DO NOTHING, so a dedupe-key race never aborts the payment), the audit chain head and
# the rows (SQLite: read the head, insert, move the head; PostgreSQL: SET CONSTRAINTS ALL
# IMMEDIATE, lock the head, one insert that moves it), and two savepoint pairs (the test's
# transaction turns both atomic blocks into savepoints).
COMPLETION_QUERIES = {"sqlite": 14, "postgresql": 14}


@pytest.mark.parametrize("depth", [10, 61])  # buyer at depth 10 / 61: 9 and 60 ancestors
def test_queries_per_completion_do_not_depend_on_depth(depth, django_assert_num_queries):
    payment = _buyer_with_open_payment(depth)
    with django_assert_num_queries(COMPLETION_QUERIES[connection.vendor]):
        payment_complete(payment_id=payment.pk, tx_hash=f"{payment.pk:064x}")
    assert USDTEntry.objects.filter(payment=payment).count() == 9
