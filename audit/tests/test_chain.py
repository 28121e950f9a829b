"""The audit log is append-only and hash-chained; verify_audit_chain finds the first bad row."""

from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from audit.chain import audit_chain_verify
from audit.models import AuditLog, EventType, ImmutableRowError
from audit.services import AuditEntry, audit_record, audit_record_many


def _rows(n):
    return [
        audit_record(EventType.STAFF_ACTION, partner_id=i, amount=i, currency="XP", metadata={"i": i, "x": 1.5})
        for i in range(n)
    ]


def _verify() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_audit_chain", "--chunk-size", "3", stdout=out)
    except CommandError as error:
        return error.returncode, str(error)
    return 0, out.getvalue()


@pytest.mark.django_db
def test_verify_reports_ok_with_the_row_count():
    _rows(7)
    assert _verify() == (0, "OK: 7 audit rows, chain intact.\n")


@pytest.mark.django_db
def test_verify_on_an_empty_log():
    assert _verify() == (0, "OK: 0 audit rows, chain intact.\n")


@pytest.mark.django_db
def test_rows_link_to_the_previous_hash():
    rows = _rows(3)
    assert rows[0].prev_hash == AuditLog.GENESIS_HASH
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]


@pytest.mark.django_db
def test_the_orm_refuses_updates_and_deletes():
    row = _rows(1)[0]
    with pytest.raises(ImmutableRowError):
        row.save()
    with pytest.raises(ImmutableRowError):
        row.delete()
    with pytest.raises(ImmutableRowError):
        AuditLog.objects.filter(pk=row.pk).update(amount=5)
    with pytest.raises(ImmutableRowError):
        AuditLog.objects.all().delete()


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditlog SET amount = 999",
        "DELETE FROM audit_auditlog",
        "TRUNCATE audit_auditlog",
    ],
)
def test_postgres_rejects_update_delete_and_truncate(statement):
    _rows(2)
    connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(DatabaseError, match="pgtrigger"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditLog.objects.count() == 2


def _tamper(sql, params):
    with transaction.atomic(), connection.cursor() as cursor:
        # The test's own inserts leave deferred FK checks pending, which ALTER TABLE refuses.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE audit_auditlog DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditlog ENABLE TRIGGER USER")


@pytest.mark.postgres
@pytest.mark.django_db
def test_editing_one_row_in_sql_is_named_by_verify():
    rows = _rows(6)
    _tamper("UPDATE audit_auditlog SET metadata = %s WHERE id = %s", ['{"i": 999}', rows[3].pk])
    code, message = _verify()
    assert code == 1
    assert f"row id={rows[3].pk}:" in message and "content does not match" in message


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_deleted_row_is_found_at_the_next_row():
    rows = _rows(5)
    _tamper("DELETE FROM audit_auditlog WHERE id = %s", [rows[2].pk])
    code, message = _verify()
    assert code == 1 and f"row id={rows[3].pk}:" in message and "prev_hash" in message


@pytest.mark.django_db
def test_a_rehashed_edit_is_found_at_the_next_row():
    """Editing a row and recomputing its own hash still breaks the next row's link."""
    rows = _rows(4)
    forged = AuditLog.objects.get(pk=rows[1].pk)
    forged.amount = 12345
    new_hash = forged.compute_hash(forged.prev_hash)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditlog DISABLE TRIGGER USER")
        cursor.execute("UPDATE audit_auditlog SET amount = %s, hash = %s WHERE id = %s", [12345, new_hash, rows[1].pk])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditlog ENABLE TRIGGER USER")
    report = audit_chain_verify()
    assert report.broken_id == rows[2].pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_form_one_linear_chain():
    def write(i):
        try:
            for j in range(10):
                with transaction.atomic():
                    audit_record_many([AuditEntry(EventType.STAFF_ACTION, partner_id=i, metadata={"j": j})] * 2)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(8)))
    report = audit_chain_verify()
    assert report.ok and report.rows == 160
    hashes = list(AuditLog.objects.order_by("id").values_list("prev_hash", "hash"))
    assert len({prev for prev, _ in hashes}) == 160  # no two rows share a predecessor: no fork


@pytest.mark.django_db
def test_member_text_with_a_nul_byte_is_stored_and_chained():
    """jsonb cannot hold U+0000: an unknown referral code `P2P-\\x00…` from a signup once made
    the join's audit append fail with a 500 on PostgreSQL."""
    from partners.services import SignupContext, partner_join

    joined = partner_join(referral_code="P2P-\x00BAD", telegram_id=4_400_000_001, first_name="Nul",
                          signup=SignupContext(ip="203.0.113.10", user_agent="Mozilla/5.0"))
    assert joined.created and joined.unknown_referral_code
    row = AuditLog.objects.get(partner_id=joined.partner.pk, event_type=EventType.REFERRAL_ATTRIBUTION_UNKNOWN_CODE)
    assert row.metadata == {"code": "P2P-\ufffdBAD"}
    assert audit_chain_verify().ok
