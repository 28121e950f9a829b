"""Level-ups are announced exactly once (SPEC §7, issue 8 defect 8), also when two awards
cross a level only together: each award's transaction sees the committed XP plus its own, so
neither sees the crossing; the fold, which moves the committed total under the balance row lock,
announces it."""

import threading

import pytest

from audit.chain import audit_chain_verify
from audit.models import AuditLog, EventType
from p2phub.testing.concurrency import raised, run_concurrently
from partners.models import Notification
from partners.tests.factories import PartnerFactory
from rewards.models import LevelReached, XPEntry
from rewards.selectors import xp_balance
from rewards.services import XPAward, xp_award, xp_fold_all
from rewards.services import xp as reward_services


def _award(partner, amount, key):
    return xp_award(XPAward(partner_id=partner.pk, amount=amount, kind=XPEntry.Kind.CORRECTION, idempotency_key=key))


def _level_ups(partner):
    audit = list(
        AuditLog.objects.filter(partner_id=partner.pk, event_type=EventType.LEVEL_UP)
        .order_by("id")
        .values_list("metadata", flat=True)
    )
    notes = list(
        Notification.objects.filter(partner=partner, kind="level_up").order_by("id").values_list("data", flat=True)
    )
    return audit, notes


@pytest.mark.django_db
def test_two_awards_crossing_a_level_only_together_level_up_once(monkeypatch):
    """Sequential stand-in for the race: both awards read the XP as it was before either (what
    two concurrent transactions see), so neither sees 0 -> 120 cross level 2."""
    partner = PartnerFactory()
    monkeypatch.setattr(reward_services, "xp_balances", lambda ids: {pid: 0 for pid in ids})
    _award(partner, 60, "t:a")
    _award(partner, 60, "t:b")
    monkeypatch.undo()
    xp_fold_all()
    xp_fold_all()
    audit, notes = _level_ups(partner)
    assert [(m["from_level"], m["to_level"]) for m in audit] == [(1, 2)]
    assert [n["level"] for n in notes] == [2]
    assert xp_balance(partner.pk) == 120
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_sequential_awards_level_up_once_in_the_award_and_not_again_at_fold():
    partner = PartnerFactory()
    _award(partner, 60, "t:a")
    assert _level_ups(partner) == ([], [])
    _award(partner, 60, "t:b")
    audit, notes = _level_ups(partner)
    assert len(audit) == 1 and len(notes) == 1  # announced by the award that crossed
    xp_fold_all()
    assert _level_ups(partner) == (audit, notes)
    assert list(LevelReached.objects.filter(partner=partner).values_list("level", flat=True)) == [2]


@pytest.mark.django_db
def test_a_level_reached_is_not_announced_again_after_a_correction_dips_below_it():
    partner = PartnerFactory()
    _award(partner, 120, "t:a")
    _award(partner, -50, "t:b")
    _award(partner, 50, "t:c")
    xp_fold_all()
    audit, notes = _level_ups(partner)
    assert [m["to_level"] for m in audit] == [2] and len(notes) == 1


@pytest.mark.django_db
def test_fold_announces_only_levels_no_award_announced(monkeypatch):
    """A jump to level 3 where level 2 was announced already: the fold announces 3 only."""
    partner = PartnerFactory()
    _award(partner, 100, "t:a")  # level 2, announced by the award
    monkeypatch.setattr(reward_services, "xp_balances", lambda ids: {pid: 0 for pid in ids})
    _award(partner, 250, "t:b")  # stale view 0 -> 250: claims nothing new beyond level 2
    monkeypatch.undo()
    xp_fold_all()
    audit, notes = _level_ups(partner)
    assert [(m["from_level"], m["to_level"]) for m in audit] == [(1, 2), (2, 3)]
    assert [n["level"] for n in notes] == [2, 3]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_60_xp_awards_on_a_new_member_give_one_level_up(monkeypatch):
    partner = PartnerFactory()
    # Both transactions read the balance before either writes (released together), the
    # interleaving that loses the level-up; no sleeps, no timing.
    read_both = threading.Barrier(2)
    real_balances = reward_services.xp_balances

    def balances_then_wait(ids):
        seen = real_balances(ids)
        read_both.wait(timeout=30)
        return seen

    monkeypatch.setattr(reward_services, "xp_balances", balances_then_wait)
    outcomes = run_concurrently(lambda i: _award(partner, 60, f"t:race:{i}"), 2)
    monkeypatch.undo()
    assert raised(outcomes) == []
    assert xp_balance(partner.pk) == 120
    xp_fold_all()
    audit, notes = _level_ups(partner)
    assert [(m["from_level"], m["to_level"]) for m in audit] == [(1, 2)]
    assert [n["level"] for n in notes] == [2]
    assert audit_chain_verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_awards_in_any_interleaving_give_one_level_up_per_member():
    members = [PartnerFactory() for _ in range(4)]

    def award(i):
        return _award(members[i // 2], 60, f"t:free:{i}")

    outcomes = run_concurrently(award, 8)
    assert raised(outcomes) == []
    xp_fold_all()
    for member in members:
        audit, notes = _level_ups(member)
        assert [m["to_level"] for m in audit] == [2] and [n["level"] for n in notes] == [2]
