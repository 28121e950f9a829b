"""Joining the tree (SPEC §1): attachment, codes, cycles, never deleting."""

import re

import pytest

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
