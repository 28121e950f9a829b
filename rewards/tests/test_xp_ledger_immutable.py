"""Issue 8, defect 6 (SPEC §12): the XP ledger is immutable (ORM and PostgreSQL), folding keeps
working without touching it, and reconciliation never blesses a tampered ledger."""


import pytest
from django.db import DatabaseError, connection, transaction

from audit.chain import audit_chain_verify
from audit.models import AuditLog, EventType
from p2phub.testing.commands import run_command
from partners.tests.factories import PartnerFactory, make_chain
from rewards.models import XPBalance, XPDelta, XPEntry
from rewards.selectors import xp_balance, xp_ledger_sum
from rewards.services import XPAward, xp_award, xp_find_audit_disagreements, xp_fold_all

pytestmark = pytest.mark.django_db


def _run(*args) -> tuple[int, str]:
    return run_command("reconcile_ledger", *args)


@pytest.fixture
def member():
    partner = PartnerFactory()
    xp_award(XPAward(partner_id=partner.pk, amount=40, kind=XPEntry.Kind.CORRECTION, idempotency_key="imm:1"))
    return partner


def test_orm_refuses_to_edit_or_delete_xp_ledger_rows(member):
    entry = XPEntry.objects.get(partner=member)
    entry.amount = 4000
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    with pytest.raises(RuntimeError):
        XPEntry.objects.filter(pk=entry.pk).update(amount=4000)
    with pytest.raises(RuntimeError):
        XPEntry.objects.all().delete()
    with pytest.raises(RuntimeError):
        XPEntry.objects.bulk_update([entry], ["amount"])
    assert xp_ledger_sum(member.pk) == 40


def test_folding_works_and_leaves_the_ledger_alone(member):
    before = list(XPEntry.objects.values_list("pk", "amount"))
    xp_fold_all()
    assert not XPDelta.objects.exists() and XPBalance.objects.get(partner=member).xp == 40
    assert list(XPEntry.objects.values_list("pk", "amount")) == before


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE rewards_xpentry SET amount = 999999",
        "DELETE FROM rewards_xpentry",
        "TRUNCATE rewards_xpentry CASCADE",
    ],
)
def test_postgres_rejects_update_delete_and_truncate_of_the_xp_ledger(member, statement):
    with pytest.raises(DatabaseError, match="pgtrigger"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert XPEntry.objects.filter(partner=member).count() == 1 and xp_ledger_sum(member.pk) == 40


@pytest.mark.postgres
def test_postgres_folding_still_works_under_the_triggers(member):
    xp_fold_all()
    assert xp_balance(member.pk) == 40 == xp_ledger_sum(member.pk)


def _rogue_row(partner, amount=500):
    """A ledger row written around the services (raw SQL, a bad migration): no audit, no delta."""
    return XPEntry.objects.create(partner=partner, amount=amount, kind=XPEntry.Kind.CORRECTION, idempotency_key="rogue")


def test_a_ledger_disagreeing_with_its_audit_trail_is_found():
    chain = make_chain(3)
    assert xp_find_audit_disagreements() == []
    _rogue_row(chain[0])
    [found] = xp_find_audit_disagreements()
    assert (found.partner_id, found.against, int(found.difference)) == (chain[0].pk, "audit", 500)


def test_reconcile_fix_does_not_bless_a_tampered_xp_ledger():
    """Before the fix, `--fix` added a delta so the cached balance equalled the tampered ledger
    (XP_CORRECTION) and the next run said OK."""
    chain = make_chain(3)
    xp_fold_all()
    cached = xp_balance(chain[0].pk)
    _rogue_row(chain[0])
    code, output = _run("--fix")
    assert code == 1
    assert f"XP partner {chain[0].pk}: ledger {cached + 500}, audit trail {cached}" in output
    assert "never corrected here" in output
    assert xp_balance(chain[0].pk) == cached  # not re-derived from the tampered ledger
    assert not AuditLog.objects.filter(event_type=EventType.XP_CORRECTION).exists()
    assert _run()[0] == 1  # still reported on the next run
    flagged = AuditLog.objects.filter(event_type=EventType.LEDGER_MISMATCH, metadata__against="audit")
    assert flagged.filter(partner_id=chain[0].pk).count() == 2
    assert audit_chain_verify().ok


def test_reconcile_fix_still_rederives_an_honest_ledgers_cached_balance():
    chain = make_chain(3)
    xp_fold_all()
    XPBalance.objects.filter(partner=chain[1]).update(xp=1)
    _rogue_row(chain[0])
    code, output = _run("--fix")
    assert code == 1  # the tampered ledger of chain[0] is still for staff…
    assert xp_balance(chain[1].pk) == xp_ledger_sum(chain[1].pk)  # …the drifted cache of chain[1] is re-derived
    assert AuditLog.objects.filter(event_type=EventType.XP_CORRECTION, partner_id=chain[1].pk).count() == 1
    assert not AuditLog.objects.filter(event_type=EventType.XP_CORRECTION, partner_id=chain[0].pk).exists()
