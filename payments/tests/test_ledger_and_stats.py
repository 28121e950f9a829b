"""USDT ledger registration, reconciliation against the audit trail, profile fields, stats."""

from decimal import Decimal

import pytest
from django.db import connection

from audit.models import AuditLog, EventType
from p2phub.ledgers import ledger_for
from partners.tests.factories import PartnerFactory, make_chain
from payments.models import USDTEntry
from payments.services import payment_complete, payment_create, payment_refund

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wallets")]


def buy(partner):
    return payment_complete(payment_id=payment_create(partner=partner, method="USDT").pk)


def test_registered_ledger_exposes_rows_newest_first():
    top, buyer = make_chain(2)
    buy(buyer)
    source = ledger_for("usdt")
    rows = list(source.entries_for(top))
    assert [(r.amount, r.kind, r.level, r.related_partner_id) for r in rows] == [
        (Decimal("11.700000"), "commission", 1, buyer.pk)
    ]
    assert rows[0].id and rows[0].created_at


def test_reconciliation_finds_and_records_a_row_written_around_the_services(staff_user):
    top, buyer = make_chain(2)
    buy(buyer)
    source = ledger_for("USDT")
    assert source.find_mismatches() == []
    # A row inserted without its audit record (as raw SQL or a bad migration would).
    USDTEntry.objects.create(
        partner=top, amount=Decimal("5"), kind="correction", available_at=buyer.joined_at, idempotency_key="rogue"
    )
    [mismatch] = source.find_mismatches()
    assert (mismatch.partner_id, mismatch.ledger_sum, mismatch.cached_balance) == (top.pk, Decimal("16.70"), Decimal("11.70"))
    source.correct_mismatch(mismatch, staff_user)
    assert source.find_mismatches() == []
    assert AuditLog.objects.filter(event_type=EventType.USDT_CORRECTION, partner_id=top.pk).count() == 1


def test_ledger_rows_cannot_be_edited_or_deleted():
    top, buyer = make_chain(2)
    buy(buyer)
    entry = USDTEntry.objects.get()
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        USDTEntry.objects.update(amount=0)
    with pytest.raises(RuntimeError):
        USDTEntry.objects.all().delete()


@pytest.mark.postgres
def test_postgres_rejects_ledger_updates():
    from django.db import ProgrammingError, transaction

    top, buyer = make_chain(2)
    buy(buyer)
    with pytest.raises(ProgrammingError, match="pgtrigger"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE payments_usdtentry SET amount = 1000")


def test_profile_shows_usdt_fields(tma_client):
    top, buyer = make_chain(2)
    buy(buyer)
    data = tma_client(top).get("/api/v1/me/").json()
    assert (data["usdt_balance"], data["usdt_available"], data["total_earned_usdt"]) == ("11.700000", "0.000000", "11.700000")
    assert tma_client(buyer).get("/api/v1/pro/").json()["is_pro"] is True


def test_commission_stats(staff_client, staff_user):
    chain = make_chain(10)
    buy(chain[-1])
    refunded = buy(chain[-1])
    payment_refund(payment_id=refunded.pk, actor=staff_user)
    PartnerFactory()  # a member who never bought
    data = staff_client.get("/api/v1/staff/commission-stats/").json()
    assert data["total_paid_all"] == data["total_paid_24h"] == data["total_paid_30d"] == "34.320000"
    assert data["total_reversed_all"] == "17.160000"
    assert data["by_level"][0] == {"level": 1, "total_paid": "23.400000", "total_reversed": "11.700000", "count": 2}
    assert len(data["by_level"]) == 9
    assert data["top_earners"][0]["partner_id"] == chain[-2].pk
    assert data["top_earners"][0]["total_earned"] == "11.700000"
    assert data["review_count"] == 0
    assert (data["members"], data["pro_buyers"], data["pro_conversion_rate"]) == (11, 1, "0.0909")


def test_commission_stats_is_staff_only(tma_client):
    assert tma_client(PartnerFactory()).get("/api/v1/staff/commission-stats/").status_code == 403
