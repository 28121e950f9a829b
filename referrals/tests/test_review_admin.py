"""The review detail page's buttons (approve / reject / clear a rejected member's fraud hold)
and the audited hold-clearing service."""

import pytest

from audit.models import AuditLog, EventType
from p2phub.errors import ConflictError, DomainError
from partners.models import Partner
from partners.tests.factories import PartnerFactory
from referrals.models import ReferralReview
from referrals.services import referral_fraud_hold_clear, referral_review_reject
from rewards.selectors import xp_balance

pytestmark = pytest.mark.django_db
IP = "192.0.2.10"


@pytest.fixture
def held(join):
    top = PartnerFactory()
    referrer = join(top, ip=IP)
    member = join(referrer, ip=IP)
    return ReferralReview.objects.get(new_member=member)


def page(review) -> str:
    return f"/admin/referrals/referralreview/{review.pk}/change/"


def decide(review, decision) -> str:
    return f"/admin/referrals/referralreview/{review.pk}/decide/{decision}/"


def test_pending_review_page_shows_approve_and_reject_and_approve_pays(held, admin_client):
    html = admin_client.get(page(held)).content.decode()
    assert ">Approve</button>" in html and ">Reject</button>" in html and "Clear fraud hold" not in html
    response = admin_client.post(decide(held, "approve"), {"note": "known member"})
    assert response.status_code == 302 and response["Location"] == page(held)
    held.refresh_from_db()
    assert held.status == ReferralReview.Status.APPROVED and held.decision_note == "known member"
    assert xp_balance(held.referrer_id) == 35


def test_reject_then_clear_the_hold_from_the_page_with_a_reason(held, admin_client, admin_user):
    admin_client.post(decide(held, "reject"), {"note": "same household farm"})
    held.refresh_from_db()
    assert held.status == ReferralReview.Status.REJECTED
    assert Partner.objects.get(pk=held.new_member_id).fraud_hold is True
    html = admin_client.get(page(held)).content.decode()
    assert "Clear fraud hold" in html and ">Approve</button>" not in html

    # No reason: refused, still on hold.
    follow = admin_client.post(decide(held, "clear-hold"), {"note": "  "}, follow=True)
    assert "needs a reason" in follow.content.decode()
    assert Partner.objects.get(pk=held.new_member_id).fraud_hold is True

    admin_client.post(decide(held, "clear-hold"), {"note": "verified by passport"})
    assert Partner.objects.get(pk=held.new_member_id).fraud_hold is False
    row = AuditLog.objects.get(event_type=EventType.FRAUD_HOLD_CLEARED)
    assert row.actor_id == admin_user.pk and row.partner_id == held.new_member_id
    assert row.metadata["reason"] == "verified by passport" and row.metadata["review_id"] == held.pk
    assert xp_balance(held.referrer_id) == 0  # the dropped awards stay dropped


def test_a_pending_review_hold_is_not_cleared_this_way(held, staff_user):
    with pytest.raises(ConflictError):
        referral_fraud_hold_clear(review_id=held.pk, actor=staff_user, reason="x")


def test_clearing_twice_is_refused(held, staff_user):
    referral_review_reject(review_id=held.pk, actor=staff_user)
    referral_fraud_hold_clear(review_id=held.pk, actor=staff_user, reason="ok")
    with pytest.raises(ConflictError):
        referral_fraud_hold_clear(review_id=held.pk, actor=staff_user, reason="ok")
    with pytest.raises(DomainError):
        referral_fraud_hold_clear(review_id=held.pk, actor=staff_user, reason="")
    assert AuditLog.objects.filter(event_type=EventType.FRAUD_HOLD_CLEARED).count() == 1


def test_decide_needs_post_and_a_known_decision(held, admin_client):
    assert admin_client.get(decide(held, "approve")).status_code == 405
    admin_client.post(decide(held, "nonsense"))
    held.refresh_from_db()
    assert held.status == ReferralReview.Status.PENDING
