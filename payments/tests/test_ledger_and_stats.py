"""USDT ledger registration, reconciliation against the audit trail, profile fields, stats."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from audit.models import AuditLog, EventType
from p2phub.errors import DomainError
from p2phub.ledgers import ledger_for
from partners.tests.factories import PartnerFactory, make_chain
from payments.models import USDTEntry
from payments.selectors import usdt_find_mismatches
from payments.services import payment_complete, payment_create, payment_refund
from payments.services.ledger import usdt_correct_mismatch

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
    assert source.find_mismatches() == [] and source.find_audit_disagreements() == []
    # A row inserted without its audit record (as raw SQL or a bad migration would).
    USDTEntry.objects.create(
        partner=top, amount=Decimal("5"), kind="correction", available_at=buyer.joined_at, idempotency_key="rogue"
    )
    [mismatch] = source.find_audit_disagreements()
    assert (mismatch.partner_id, mismatch.ledger_sum, mismatch.cached_balance) == (top.pk, Decimal("16.70"), Decimal("11.70"))
    assert mismatch.against == "audit"
    # No cached USDT balance exists, so there is nothing reconciliation may re-derive.
    assert source.correct_mismatch is None and source.find_mismatches() == []


def test_settling_a_ledger_audit_disagreement_is_a_staff_action_with_a_reason(staff_user):
    top, buyer = make_chain(2)
    buy(buyer)
    USDTEntry.objects.create(
        partner=top, amount=Decimal("5"), kind="correction", available_at=buyer.joined_at, idempotency_key="rogue"
    )
    [mismatch] = usdt_find_mismatches()
    with pytest.raises(DomainError):
        usdt_correct_mismatch(mismatch, staff_user, reason=" ")
    with pytest.raises(DomainError):
        usdt_correct_mismatch(mismatch, None, reason="reviewed")
    usdt_correct_mismatch(mismatch, staff_user, reason="Row from the 2026-11 migration, confirmed by finance")
    assert usdt_find_mismatches() == []
    settled = AuditLog.objects.get(event_type=EventType.USDT_CORRECTION, partner_id=top.pk)
    assert settled.actor == staff_user and settled.amount == Decimal("5")
    assert settled.metadata["reason"].startswith("Row from")


def _reconcile(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("reconcile_ledger", *args, stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()


def test_reconcile_fix_does_not_bless_a_tampered_usdt_ledger():
    """Issue 8, defect 6: `--fix` used to write a USDT_CORRECTION audit row matching the rogue
    ledger row, so the next run said OK. It must keep reporting it for staff."""
    top, buyer = make_chain(2)
    buy(buyer)
    USDTEntry.objects.create(
        partner=top, amount=Decimal("5"), kind="correction", available_at=buyer.joined_at, idempotency_key="rogue"
    )
    code, output = _reconcile("--fix")
    assert code == 1 and "ledger disagrees with its audit trail" in output and "staff" in output
    assert not AuditLog.objects.filter(event_type=EventType.USDT_CORRECTION).exists()
    assert _reconcile()[0] == 1  # still reported: nothing was rewritten to match
    recorded = AuditLog.objects.filter(event_type=EventType.LEDGER_MISMATCH, partner_id=top.pk, currency="USDT")
    assert recorded.count() == 2 and recorded.first().metadata["needs_staff_review"] is True


def test_ledger_rows_cannot_be_edited_or_deleted():
    top, buyer = make_chain(2)
    buy(buyer)
    entry = USDTEntry.objects.get()
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    with pytest.raises(RuntimeError):
        USDTEntry.objects.update(amount=0)
    with pytest.raises(RuntimeError):
        USDTEntry.objects.all().delete()
    with pytest.raises(RuntimeError):
        USDTEntry.objects.bulk_update([entry], ["amount"])


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE payments_usdtentry SET amount = 1000",
        "DELETE FROM payments_usdtentry",
        "TRUNCATE payments_usdtentry CASCADE",
    ],
)
def test_postgres_rejects_ledger_update_delete_and_truncate(statement):
    top, buyer = make_chain(2)
    buy(buyer)
    with pytest.raises(DatabaseError, match="pgtrigger"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert USDTEntry.objects.count() == 1


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


def test_one_writer_for_the_usdt_ledger():
    """Issue 8: USDT rows were written from five places; `usdt_entries_append` is the only one."""
    import re
    from pathlib import Path

    from django.conf import settings

    root = Path(settings.BASE_DIR)
    writes = re.compile(r"USDTEntry\.objects\.(create|bulk_create|get_or_create|update_or_create)\b|USDTEntry\([^)]*\)\.save")
    offenders = []
    for path in root.rglob("*.py"):
        relative = path.relative_to(root).as_posix()
        if relative.startswith((".venv/", "node_modules/")) or "/tests/" in relative or "/migrations/" in relative:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if writes.search(line):
                offenders.append(f"{relative}:{number}")
    assert offenders and all(o.startswith("payments/services/ledger.py:") for o in offenders), offenders


def test_the_writer_refuses_existing_rows_and_zero_amounts():
    from payments.services.ledger import usdt_entries_append

    top, buyer = make_chain(2)
    buy(buyer)
    entry = USDTEntry.objects.get()
    with transaction.atomic():
        with pytest.raises(RuntimeError):
            usdt_entries_append([entry])
        with pytest.raises(DomainError):
            usdt_entries_append(
                [USDTEntry(partner=top, amount=Decimal("0"), kind="correction", available_at=entry.available_at, idempotency_key="z")]
            )
