"""Joining the tree (SPEC §1): attachment, codes, cycles, never deleting."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditLog, EventType
from partners import services
from partners.models import Partner, PartnerDeletionError
from partners.selectors import partner_ancestors
from partners.services import ReferralCycleError, partner_join, partner_move, partner_set_status
from partners.tests.factories import PartnerFactory, UserFactory, make_chain

pytestmark = pytest.mark.django_db


def test_chain_ancestors_are_nearest_first():
    a, b, c = make_chain(3)
    assert partner_ancestors(c) == [b, a]
    assert c.referrer_id == b.pk and b.referrer_id == a.pk
    assert c.path.startswith(b.path) and b.path.startswith(a.path)


def test_ancestors_stop_at_nine_levels():
    chain = make_chain(12)
    ancestors = partner_ancestors(chain[-1])
    assert ancestors == list(reversed(chain[2:11]))


def test_referral_code_format_and_case_insensitive_lookup():
    partner = PartnerFactory()
    assert re.fullmatch(r"P2P-[0-9A-F]{8}", partner.referral_code)
    assert services.partner_find_by_code(f"  {partner.referral_code.lower()} ") == partner


def test_unknown_code_creates_a_root_and_reports_it():
    result = partner_join(referral_code="P2P-DEADBEEF", telegram_id=1)
    assert result.created and result.unknown_referral_code
    assert result.partner.is_root() and result.partner.referrer is None
    assert AuditLog.objects.filter(event_type=EventType.REFERRAL_ATTRIBUTION_UNKNOWN_CODE, partner_id=result.partner.pk).exists()


def test_join_writes_an_audit_row():
    referrer = PartnerFactory()
    partner = PartnerFactory(referrer=referrer)
    row = AuditLog.objects.get(event_type=EventType.PARTNER_JOINED, partner_id=partner.pk)
    assert row.related_partner_id == referrer.pk


def test_existing_telegram_identity_is_returned_unchanged():
    first_referrer, second_referrer = PartnerFactory(), PartnerFactory()
    partner = partner_join(referrer=first_referrer, telegram_id=77).partner
    again = partner_join(referrer=second_referrer, telegram_id=77)
    assert not again.created and again.partner == partner
    assert Partner.objects.get(pk=partner.pk).referrer_id == first_referrer.pk


def test_code_collision_is_retried(monkeypatch):
    taken = PartnerFactory().referral_code
    codes = iter([taken, taken, "P2P-0000ABCD"])
    monkeypatch.setattr(services, "generate_referral_code", lambda: next(codes))
    assert partner_join(telegram_id=78).partner.referral_code == "P2P-0000ABCD"


def test_web_member_can_join_with_a_django_user():
    user = UserFactory()
    partner = partner_join(user=user, first_name="Web").partner
    assert partner.user == user and partner.telegram_id is None


@pytest.mark.parametrize("target", ["self", "child", "grandchild"])
def test_moving_under_oneself_or_own_downline_is_refused(target, staff_user):
    a, b, c = make_chain(3)
    new_sponsor = {"self": a, "child": b, "grandchild": c}[target]
    with pytest.raises(ReferralCycleError):
        partner_move(partner=a, new_referrer=new_sponsor, actor=staff_user)
    assert Partner.objects.get(pk=a.pk).path == a.path


def test_staff_move_carries_the_subtree_and_is_audited(staff_user):
    a, b, c = make_chain(3)
    other = PartnerFactory()
    partner_move(partner=b, new_referrer=other, actor=staff_user)
    b.refresh_from_db()
    c.refresh_from_db()
    assert b.referrer_id == other.pk and b.path.startswith(other.path) and c.path.startswith(b.path)
    assert partner_ancestors(c) == [b, other]
    row = AuditLog.objects.get(event_type=EventType.PARTNER_MOVED, partner_id=b.pk)
    assert row.actor == staff_user and row.metadata["from_referrer_id"] == a.pk


def test_partners_cannot_be_deleted():
    a, b = make_chain(2)
    with pytest.raises(PartnerDeletionError):
        a.delete()
    with pytest.raises(PartnerDeletionError):
        Partner.objects.filter(pk=a.pk).delete()
    assert Partner.objects.count() == 2


def test_status_change_is_audited(staff_user):
    partner = PartnerFactory()
    partner_set_status(partner=partner, status=Partner.Status.DEACTIVATED, actor=staff_user, reason="asked")
    assert Partner.objects.get(pk=partner.pk).status == Partner.Status.DEACTIVATED
    assert AuditLog.objects.filter(event_type=EventType.PARTNER_DEACTIVATED, partner_id=partner.pk).count() == 1


def test_deep_chains_are_supported():
    chain = make_chain(70)
    assert chain[-1].depth == 70
    assert len(partner_ancestors(chain[-1])) == 9


# --- the hand-rolled child insert (partners.services._child_insert) ------------------------------


def test_children_get_treebeards_paths_and_the_parents_numchild():
    parent = PartnerFactory()
    children = [PartnerFactory(referrer=parent) for _ in range(3)]
    assert [c.path for c in children] == [Partner._get_path(parent.path, 2, n) for n in (1, 2, 3)]
    assert all(c.depth == 2 and c.numchild == 0 and c.referrer_id == parent.pk for c in children)
    assert Partner.objects.get(pk=parent.pk).numchild == 3 == parent.numchild  # the caller's object too
    assert Partner.objects.find_problems() == ([], [], [], [], [])


def test_a_child_after_a_gap_continues_from_the_last_childs_path():
    """numchild says how many children there are, not the last step: after a child moved away,
    the next path follows the last existing child (as treebeard's add_child does)."""
    parent, sponsor = PartnerFactory(), PartnerFactory()
    first, second = PartnerFactory(referrer=parent), PartnerFactory(referrer=parent)
    partner_move(partner=first, new_referrer=sponsor, actor=UserFactory(is_staff=True))
    third = PartnerFactory(referrer=parent)
    assert third.path == Partner(path=second.path)._inc_path()
    assert Partner.objects.get(pk=parent.pk).numchild == 2
    assert Partner.objects.find_problems() == ([], [], [], [], [])


def test_a_referrer_without_a_free_step_makes_a_root_and_keeps_its_numchild(monkeypatch):
    from treebeard.exceptions import PathOverflow

    parent = PartnerFactory()
    PartnerFactory(referrer=parent)

    real = Partner._inc_path

    def overflow(self):  # the parent's children are out of steps (roots are not)
        if len(self.path) != 2 * Partner.steplen:
            return real(self)
        raise PathOverflow(f"Path Overflow from: '{self.path}'")

    monkeypatch.setattr(Partner, "_inc_path", overflow)
    result = partner_join(referrer=parent, telegram_id=5_560_001)
    assert result.created and result.partner.is_root() and result.referrer is None
    assert result.partner.referral_refused == "depth_limit"
    assert Partner.objects.get(pk=parent.pk).numchild == 1  # the attempt under it was rolled back


@pytest.mark.postgres
def test_a_stale_path_from_another_tree_reruns_the_join_under_the_right_tree_lock():
    """The tree lock is taken from the path the join knew; the numchild update returns the
    path as committed now. If that left the locked tree (a staff move in between), the join runs
    again under the lock of the tree it is in now."""
    parent, elsewhere = PartnerFactory(), PartnerFactory()
    stale = Partner.objects.get(pk=parent.pk)
    stale.path = elsewhere.path  # as if read before a move from the other tree
    with CaptureQueriesContext(connection) as captured:
        child = partner_join(referrer=stale, signup=services.SignupContext(channel="seed")).partner
    locks = [q["sql"] for q in captured.captured_queries if "pg_advisory_xact_lock_shared" in q["sql"]]
    assert len(locks) == 2 and locks[0] != locks[1]  # the wrong tree, then the right one
    assert child.path.startswith(parent.path) and child.referrer_id == parent.pk
    assert Partner.objects.find_problems() == ([], [], [], [], [])
