"""Expiry: warnings at 3 d and 1 d exactly once each, PRO ends at expiry, stale sessions."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditLog, EventType
from partners.models import Notification, Partner
from partners.tests.factories import PartnerFactory, make_pro
from payments.models import Payment
from payments.services import payment_complete, payment_create, payment_expire_stale, subscriptions_run_expiry
from payments.tasks import expire_subscriptions

pytestmark = pytest.mark.django_db


def warnings_for(partner) -> list[int]:
    return sorted(n.data["days"] for n in Notification.objects.filter(partner=partner, kind="pro_expiring"))


def test_warns_once_at_3_days_and_once_at_1_day_then_ends_pro():
    member = make_pro(PartnerFactory(), days=5)
    expires = Partner.objects.get(pk=member.pk).pro_expires_at
    hourly = [expires - timedelta(hours=h) for h in range(5 * 24, -2, -1)]  # every hour until past expiry

    for now in hourly:
        subscriptions_run_expiry(now=now)
        if now < expires - timedelta(days=3):
            assert warnings_for(member) == []
        elif now < expires - timedelta(days=1):
            assert warnings_for(member) == [3]

    assert warnings_for(member) == [1, 3]
    member.refresh_from_db()
    assert member.is_pro is False
    assert Notification.objects.filter(partner=member, kind="pro_expired").count() == 1
    assert AuditLog.objects.filter(event_type=EventType.PRO_EXPIRED, partner_id=member.pk).count() == 1


def test_inside_the_last_day_only_the_one_day_warning_is_sent():
    member = make_pro(PartnerFactory(), days=1)
    subscriptions_run_expiry(now=timezone.now() + timedelta(minutes=1))
    assert warnings_for(member) == [1]


def test_renewal_after_a_warning_warns_again_for_the_new_expiry(settings):
    settings.USDT_WALLET_ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"
    member = make_pro(PartnerFactory(), days=2)
    subscriptions_run_expiry()
    assert warnings_for(member) == [3]
    payment_complete(payment_id=payment_create(partner=member, method="USDT").pk)
    expires = Partner.objects.get(pk=member.pk).pro_expires_at
    subscriptions_run_expiry(now=expires - timedelta(days=2))
    assert warnings_for(member) == [3, 3]


def test_pro_is_not_ended_before_expiry():
    member = make_pro(PartnerFactory(), days=1)
    assert subscriptions_run_expiry().expired == 0
    assert Partner.objects.get(pk=member.pk).is_pro


def test_stale_pending_sessions_expire(wallets):
    member = PartnerFactory()
    stale = payment_create(partner=member, method="USDT")
    fresh = payment_create(partner=member, method="USDT")
    Payment.objects.filter(pk=stale.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert payment_expire_stale() == 1
    assert Payment.objects.get(pk=stale.pk).status == Payment.Status.EXPIRED
    assert Payment.objects.get(pk=fresh.pk).status == Payment.Status.PENDING
    assert AuditLog.objects.filter(event_type=EventType.PAYMENT_STATE_CHANGED, metadata__payment_id=stale.pk).count() == 1


def test_command_and_task_run_the_same_job():
    member = make_pro(PartnerFactory(), days=1)
    Partner.objects.filter(pk=member.pk).update(pro_expires_at=timezone.now() - timedelta(minutes=1))
    out = StringIO()
    call_command("expire_subscriptions", stdout=out)
    assert "expired=1" in out.getvalue()
    assert expire_subscriptions.apply().get() == {"warned": 0, "expired": 0, "sessions_expired": 0}
