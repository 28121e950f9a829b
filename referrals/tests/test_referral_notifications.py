"""Referral events are stored as notifications with the XP paid: L1 and L2 each get their own,
L3-L9 activity is stored as REFERRAL_DEEP rows for the hourly digest."""

import pytest

from partners.models import Notification
from partners.tests.factories import PartnerFactory, make_chain
from referrals.models import ReferralReview
from referrals.services import referral_awards_reprocess, referral_review_approve

IP = "192.0.2.10"


@pytest.mark.django_db
def test_a_join_notifies_l1_l2_and_stores_deep_activity(join, no_limits):
    chain = make_chain(4)  # chain[-1] is the new member's referrer (L1)
    member = join(chain[-1])
    notes = {n.partner_id: n for n in Notification.objects.filter(data__new_member_id=member.pk)}
    l1, l2, l3, l4 = notes[chain[3].pk], notes[chain[2].pk], notes[chain[1].pk], notes[chain[0].pk]
    assert l1.kind == Notification.Kind.REFERRAL_L1
    assert l1.title == f"New referral: {member.display_name}"
    assert l1.body == f"{member.display_name} joined with your link. You earned 35 XP."
    assert l1.data == {"new_member_id": member.pk, "level": 1, "xp": 35}
    assert l2.kind == Notification.Kind.REFERRAL_L2 and "10 XP" in l2.body
    assert {l3.kind, l4.kind} == {Notification.Kind.REFERRAL_DEEP}
    assert (l3.data["level"], l4.data["level"]) == (3, 4)


@pytest.mark.django_db
def test_referral_texts_follow_the_recipient_language(join, no_limits):
    referrer = PartnerFactory(language="ru")
    member = join(referrer)
    note = Notification.objects.get(partner=referrer, data__new_member_id=member.pk)
    assert note.title == f"Новый реферал: {member.display_name}"


@pytest.mark.django_db
def test_a_reprocessed_award_notifies_nobody_twice(join, no_limits):
    referrer = PartnerFactory()
    member = join(referrer)
    referral_awards_reprocess(new_member_id=member.pk)
    assert Notification.objects.filter(data__new_member_id=member.pk).count() == 1


@pytest.mark.django_db
def test_held_awards_notify_on_approval_only(join, staff_user):
    top = PartnerFactory()
    referrer = join(top, ip=IP)
    member = join(referrer, ip=IP)  # same IP as the referrer: held for review
    review = ReferralReview.objects.get(new_member=member)
    assert not Notification.objects.filter(data__new_member_id=member.pk).exists()
    referral_review_approve(review_id=review.pk, actor=staff_user)
    kinds = dict(Notification.objects.filter(data__new_member_id=member.pk).values_list("partner_id", "kind"))
    assert kinds == {referrer.pk: Notification.Kind.REFERRAL_L1, top.pk: Notification.Kind.REFERRAL_L2}
