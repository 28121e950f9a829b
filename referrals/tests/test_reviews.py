"""Staff review of held awards: approve pays them once, reject drops them once."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.urls import reverse

from audit.models import AuditLog, EventType
from p2phub.errors import ConflictError, NotFoundError
from partners.tests.factories import PartnerFactory
from referrals.models import ReferralReview
from referrals.services import referral_review_approve, referral_review_reject
from rewards.models import XPEntry
from rewards.selectors import xp_balance

IP = "192.0.2.10"


@pytest.fixture
def held(join):
    """A signup held for review (same IP as the referrer): (review, referrer, top)."""
    top = PartnerFactory(pro=True)
    referrer = join(top, ip=IP)
    member = join(referrer, ip=IP)
    return ReferralReview.objects.get(new_member=member), referrer, top


@pytest.mark.django_db
def test_approve_pays_the_frozen_awards_once(held, staff_user):
    review, referrer, top = held
    referral_review_approve(review_id=review.pk, actor=staff_user)
    assert xp_balance(referrer.pk) == 35
    assert xp_balance(top.pk) == 175 + 50  # x5 frozen at signup: PRO then
    review.refresh_from_db()
    assert review.status == ReferralReview.Status.APPROVED and review.decided_by == staff_user
    review.new_member.refresh_from_db()
    assert review.new_member.fraud_hold is False
    approved = AuditLog.objects.filter(event_type=EventType.REFERRAL_AWARD_APPROVED)
    assert approved.count() == 2 and set(approved.values_list("actor_id", flat=True)) == {staff_user.pk}
    with pytest.raises(ConflictError):
        referral_review_approve(review_id=review.pk, actor=staff_user)
    with pytest.raises(ConflictError):
        referral_review_reject(review_id=review.pk, actor=staff_user)
    assert XPEntry.objects.filter(related_partner=review.new_member).count() == 2


@pytest.mark.django_db
def test_approval_skips_a_recipient_banned_while_the_award_was_held(held, staff_user):
    from partners.models import Partner
    from partners.services import partner_set_status

    review, referrer, top = held
    partner_set_status(partner=top, status=Partner.Status.BANNED, actor=staff_user, reason="fraud ring")
    referral_review_approve(review_id=review.pk, actor=staff_user)
    assert xp_balance(referrer.pk) == 35
    assert xp_balance(top.pk) == 175  # its earlier award stays; the held one is not paid (SPEC §3)
    withheld = AuditLog.objects.get(event_type=EventType.REFERRAL_AWARD_WITHHELD, partner_id=top.pk)
    assert withheld.metadata["reason"] == "recipient_inactive" and withheld.actor_id == staff_user.pk


@pytest.mark.django_db
def test_reject_drops_the_awards_and_keeps_the_member_flagged(held, staff_user):
    review, referrer, _top = held
    referral_review_reject(review_id=review.pk, actor=staff_user, note="same household farm")
    assert xp_balance(referrer.pk) == 0
    review.refresh_from_db()
    assert review.status == ReferralReview.Status.REJECTED and review.decision_note == "same household farm"
    review.new_member.refresh_from_db()
    assert review.new_member.fraud_hold is True
    rejected = AuditLog.objects.filter(event_type=EventType.REFERRAL_AWARD_REJECTED)
    assert rejected.count() == 2 and rejected.first().metadata["note"] == "same household farm"
    with pytest.raises(ConflictError):
        referral_review_approve(review_id=review.pk, actor=staff_user)


@pytest.mark.django_db
def test_blocked_signups_are_not_decidable(join, staff_user):
    referrer = join(PartnerFactory(), ip=IP, device="fp")
    member = join(referrer, ip=IP, device="fp")
    review = ReferralReview.objects.get(new_member=member)
    with pytest.raises(ConflictError):
        referral_review_approve(review_id=review.pk, actor=staff_user)


@pytest.mark.django_db
def test_unknown_review_is_not_found(staff_user):
    with pytest.raises(NotFoundError):
        referral_review_approve(review_id=999_999, actor=staff_user)


@pytest.fixture
def admin_client_logged_in(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-12345-long")
    client.force_login(admin)
    return client


@pytest.mark.django_db
def test_admin_bulk_approve_and_reject(admin_client_logged_in, join):
    referrer = join(PartnerFactory(), ip=IP)
    first, second, third = (join(referrer, ip=IP) for _ in range(3))
    reviews = {m.pk: ReferralReview.objects.get(new_member=m) for m in (first, second, third)}
    url = reverse("admin:referrals_referralreview_changelist")
    response = admin_client_logged_in.post(
        url, {"action": "approve_selected", "_selected_action": [reviews[first.pk].pk, reviews[second.pk].pk]}
    )
    assert response.status_code == 302
    response = admin_client_logged_in.post(
        url, {"action": "reject_selected", "_selected_action": [reviews[second.pk].pk, reviews[third.pk].pk]}
    )
    assert response.status_code == 302
    statuses = dict(ReferralReview.objects.values_list("new_member_id", "status"))
    assert statuses == {first.pk: "approved", second.pk: "approved", third.pk: "rejected"}
    assert XPEntry.objects.filter(partner=referrer).count() == 2


@pytest.mark.django_db
def test_admin_queue_filters_render(admin_client_logged_in, held):
    review, referrer, _ = held
    url = reverse("admin:referrals_referralreview_changelist")
    queries = ("", "?status__exact=pending", "?score_band=31-50", "?reason=same_ip_as_referrer", f"?referrer={referrer.pk}")
    for query in queries:
        response = admin_client_logged_in.get(url + query)
        assert response.status_code == 200
        assert review.new_member.referral_code in response.content.decode()
    response = admin_client_logged_in.get(url + "?score_band=71-100")
    assert review.new_member.referral_code not in response.content.decode()
    detail = admin_client_logged_in.get(reverse("admin:referrals_referralreview_change", args=[review.pk]))
    assert detail.status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_pay_once(held, staff_user):
    review, referrer, top = held

    def approve(_):
        try:
            referral_review_approve(review_id=review.pk, actor=staff_user)
            return "ok"
        except ConflictError:
            return "conflict"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(approve, range(8)))
    assert outcomes == ["conflict"] * 7 + ["ok"]
    assert xp_balance(referrer.pk) == 35
    assert XPEntry.objects.filter(related_partner=review.new_member).count() == 2
