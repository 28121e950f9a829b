"""One signup use case: `partner_join` creates the member, pays or holds the referral awards
and writes the audit, directly in its body (no signal carries business data)."""

import pytest

from audit.models import AuditLog, EventType
from partners import signals
from partners.models import PendingAttribution
from partners.services import partner_join, pending_attribution_record
from partners.tests.factories import PartnerFactory
from rewards.models import XPEntry


def test_joining_is_not_a_signal():
    assert not hasattr(signals, "partner_joined")


@pytest.mark.django_db
def test_join_pays_the_awards_and_audits_in_one_call():
    referrer = PartnerFactory()
    member = partner_join(referrer=referrer, telegram_id=5501).partner
    assert XPEntry.objects.filter(partner=referrer, related_partner=member, kind=XPEntry.Kind.REFERRAL).exists()
    joined = AuditLog.objects.get(event_type=EventType.PARTNER_JOINED, partner_id=member.pk)
    assert joined.metadata["attribution"] == "referrer"
    assert AuditLog.objects.filter(event_type=EventType.XP_AWARDED, related_partner_id=member.pk).exists()


@pytest.mark.django_db
def test_pending_bot_attribution_is_applied_and_consumed_by_the_join():
    referrer = PartnerFactory()
    pending_attribution_record(telegram_id=5502, referral_code=referrer.referral_code)
    member = partner_join(telegram_id=5502, first_name="Bot").partner
    assert member.referrer_id == referrer.pk
    assert not PendingAttribution.objects.filter(telegram_id=5502).exists()
    joined = AuditLog.objects.get(event_type=EventType.PARTNER_JOINED, partner_id=member.pk)
    assert joined.metadata["attribution"] == "pending"


@pytest.mark.django_db
def test_an_explicit_code_wins_over_the_pending_one():
    pending, named = PartnerFactory(), PartnerFactory()
    pending_attribution_record(telegram_id=5503, referral_code=pending.referral_code)
    member = partner_join(telegram_id=5503, referral_code=named.referral_code).partner
    assert member.referrer_id == named.pk
    assert not PendingAttribution.objects.filter(telegram_id=5503).exists()


@pytest.mark.django_db
def test_a_join_without_any_attribution_is_a_root():
    member = partner_join(telegram_id=5504).partner
    assert member.referrer_id is None
    joined = AuditLog.objects.get(event_type=EventType.PARTNER_JOINED, partner_id=member.pk)
    assert joined.metadata["attribution"] == "none"


@pytest.mark.django_db
def test_mini_app_first_request_goes_through_the_signup_use_case(init_data, monkeypatch):
    from partners.api import authentication

    calls = []
    real = authentication.partner_join
    monkeypatch.setattr(authentication, "partner_join", lambda **kw: calls.append(kw) or real(**kw))
    referrer = PartnerFactory()
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"tma {init_data(5505, start_param=referrer.referral_code)}")
    assert client.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/me/").status_code == 200
    assert len(calls) == 1 and calls[0]["telegram_id"] == 5505
    assert XPEntry.objects.filter(partner=referrer, kind=XPEntry.Kind.REFERRAL).count() == 1
