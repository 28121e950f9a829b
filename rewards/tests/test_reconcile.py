"""manage.py reconcile_ledger / fold_balances and the daily reconcile task (SPEC §12)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.chain import audit_chain_verify
from audit.models import AuditLog, EventType
from p2phub.testing.commands import run_command
from partners.tests.factories import PartnerFactory, make_chain
from rewards.models import XPBalance, XPDelta
from rewards.selectors import xp_balance, xp_ledger_sum
from rewards.services import xp_find_mismatches, xp_fold_all
from rewards.tasks import reconcile_ledgers

pytestmark = pytest.mark.django_db


def _run(*args) -> tuple[int, str]:
    return run_command("reconcile_ledger", *args)


@pytest.fixture
def network():
    chain = make_chain(4)
    for _ in range(3):
        PartnerFactory(referrer=chain[-1])
    return chain


def test_clean_ledgers_report_ok(network):
    code, output = _run()
    assert code == 0 and "OK: every balance matches its ledger (XP" in output
    xp_fold_all()
    assert _run()[0] == 0


def test_a_drifted_balance_is_reported_with_exit_code_1(network):
    xp_fold_all()
    XPBalance.objects.filter(partner=network[0]).update(xp=5)
    ledger = xp_ledger_sum(network[0].pk)
    code, output = _run()
    assert code == 1
    assert f"XP partner {network[0].pk}: ledger {ledger}, balance 5, difference +{ledger - 5}" in output
    mismatch = AuditLog.objects.get(event_type=EventType.LEDGER_MISMATCH)
    assert mismatch.partner_id == network[0].pk and mismatch.metadata["fix_requested"] is False


def test_missing_and_stray_deltas_are_found(network):
    XPDelta.objects.create(partner=network[1], amount=3)
    lonely = PartnerFactory()
    XPBalance.objects.create(partner=lonely, xp=9)
    found = {(m.partner_id, int(m.difference)) for m in xp_find_mismatches(block=2)}
    assert found == {(network[1].pk, -3), (lonely.pk, -9)}


def test_fix_records_an_audited_correction_and_the_ledger_stays_untouched(network, staff_user):
    xp_fold_all()
    XPBalance.objects.filter(partner=network[2]).update(xp=1)
    ledger = xp_ledger_sum(network[2].pk)
    code, output = _run("--fix")
    assert code == 0 and "Corrected 1 difference(s)" in output
    assert xp_balance(network[2].pk) == ledger == xp_ledger_sum(network[2].pk)
    correction = AuditLog.objects.get(event_type=EventType.XP_CORRECTION)
    assert correction.amount == ledger - 1 and correction.metadata == {
        "ledger_sum": ledger,
        "cached_before": 1,
        "cached_after": ledger,
    }
    assert _run() == (0, _run()[1])
    assert audit_chain_verify().ok


def test_correcting_twice_corrects_once(network):
    from rewards.services import xp_correct_mismatch

    XPDelta.objects.create(partner=network[0], amount=4)
    mismatch = xp_find_mismatches()[0]
    xp_correct_mismatch(mismatch)
    xp_correct_mismatch(mismatch)
    assert AuditLog.objects.filter(event_type=EventType.XP_CORRECTION).count() == 1
    assert xp_balance(network[0].pk) == xp_ledger_sum(network[0].pk)


def test_daily_task_audits_every_difference(network):
    XPDelta.objects.create(partner=network[0], amount=2)
    XPDelta.objects.create(partner=network[1], amount=-2)
    assert reconcile_ledgers() == 2
    assert set(AuditLog.objects.filter(event_type=EventType.LEDGER_MISMATCH).values_list("partner_id", flat=True)) == {
        network[0].pk,
        network[1].pk,
    }
    assert not AuditLog.objects.filter(event_type=EventType.XP_CORRECTION).exists()


def test_fold_balances_command_folds_and_keeps_balances(network):
    before = xp_balance(network[0].pk)
    out = StringIO()
    call_command("fold_balances", stdout=out)
    assert out.getvalue().startswith("Folded ")
    assert not XPDelta.objects.exists()
    assert XPBalance.objects.get(partner=network[0]).xp == before == xp_balance(network[0].pk)
    with pytest.raises(CommandError):
        call_command("fold_balances", "--batch-size", "0")
