"""Referral velocity limit (SPEC §2): over REFERRAL_HOURLY_LIMIT signups in a rolling hour the
referrer's award is withheld, the member is still created, and an audit event says why."""

from datetime import timedelta

import pytest

from audit.models import AuditLog, EventType
from partners.models import Partner
from partners.tests.factories import PartnerFactory
from referrals.services import referral_awards_reprocess
from rewards.models import XPEntry
from rewards.selectors import xp_balance

pytestmark = pytest.mark.django_db


def test_21st_signup_within_an_hour_pays_the_referrer_nothing_and_audits_why(join):
    referrer = PartnerFactory()
    members = [join(referrer, ip=f"198.51.100.{i}") for i in range(21)]
    assert Partner.objects.filter(referrer=referrer).count() == 21  # the 21st is still created
    assert xp_balance(referrer.pk) == 20 * 35
    assert not XPEntry.objects.filter(partner=referrer, related_partner=members[-1]).exists()
    withheld = AuditLog.objects.get(event_type=EventType.REFERRAL_AWARD_WITHHELD)
    assert (withheld.partner_id, withheld.related_partner_id) == (referrer.pk, members[-1].pk)
    assert withheld.metadata["reason"] == "velocity_limit"
    assert withheld.metadata["signups_in_hour"] == 21 and withheld.metadata["limit"] == 20
    assert "21 signups in the last hour" in withheld.metadata["detail"]
    assert withheld.amount == 35 and withheld.currency == "XP"


def test_only_the_l1_award_is_withheld(join, settings):
    settings.FRAUD_SCORING_ENABLED = False
    settings.REFERRAL_HOURLY_LIMIT = 2
    top = PartnerFactory()
    referrer = PartnerFactory(referrer=top)
    members = [join(referrer) for _ in range(3)]
    paid = dict(XPEntry.objects.filter(related_partner=members[-1]).values_list("partner_id", "amount"))
    assert paid == {top.pk: 10}


def test_withheld_event_is_written_once_when_reprocessed(join, settings):
    settings.REFERRAL_HOURLY_LIMIT = 1
    referrer = PartnerFactory()
    join(referrer)
    second = join(referrer)
    referral_awards_reprocess(new_member_id=second.pk)
    assert AuditLog.objects.filter(event_type=EventType.REFERRAL_AWARD_WITHHELD).count() == 1
    assert xp_balance(referrer.pk) == 35


def test_limit_zero_switches_the_limit_off(join, settings):
    settings.REFERRAL_HOURLY_LIMIT = 0
    settings.FRAUD_SCORING_ENABLED = False
    referrer = PartnerFactory()
    for _ in range(25):
        join(referrer)
    assert xp_balance(referrer.pk) == 25 * 35
    assert not AuditLog.objects.filter(event_type=EventType.REFERRAL_AWARD_WITHHELD).exists()


def test_the_hour_is_rolling(join, settings):
    settings.REFERRAL_HOURLY_LIMIT = 2
    referrer = PartnerFactory()
    early = [join(referrer) for _ in range(2)]
    Partner.objects.filter(pk__in=[m.pk for m in early]).update(joined_at=early[0].joined_at - timedelta(minutes=61))
    join(referrer)
    join(referrer)
    assert xp_balance(referrer.pk) == 4 * 35
    assert not AuditLog.objects.filter(event_type=EventType.REFERRAL_AWARD_WITHHELD).exists()
