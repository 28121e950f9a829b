"""The demo network exercises every feature through the real services."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.chain import audit_chain_verify
from p2phub.demo import DEMO_TELEGRAM_BASE
from partners.models import Partner
from payments.models import Payment, Payout, USDTEntry
from referrals.models import ReferralReview
from rewards.models import Badge, CheckIn, Streak, TaskProgress

pytestmark = pytest.mark.django_db


def test_seed_demo_plays_thirty_days_of_every_feature_and_is_idempotent():
    call_command("seed_demo", members=320, pro_share=0.25, verbosity=0)
    demo = Partner.objects.filter(telegram_id__gte=DEMO_TELEGRAM_BASE)
    now = timezone.now()

    assert demo.count() == 320
    first_join = demo.order_by("joined_at").first().joined_at
    assert (now - first_join).days >= 28  # a month of history, not one instant

    assert CheckIn.objects.filter(partner__in=demo).count() > 200
    assert Streak.objects.filter(partner__in=demo, current__gte=28).exists()  # the diligent top members
    assert Badge.objects.filter(partner__in=demo).exists()

    completed = Payment.objects.filter(partner__in=demo, status=Payment.Status.COMPLETED)
    assert completed.count() > 40
    assert demo.filter(is_pro=True).exists()
    commissions = USDTEntry.objects.filter(partner__in=demo, kind=USDTEntry.Kind.COMMISSION)
    assert commissions.filter(available_at__lte=now).exists()  # available
    assert commissions.filter(available_at__gt=now).exists()  # still on hold
    assert Payment.objects.filter(partner__in=demo, status=Payment.Status.REFUNDED).count() == 1
    assert Payment.objects.filter(partner__in=demo, status=Payment.Status.UNDER_REVIEW).count() == 1

    assert Payout.objects.filter(status=Payout.Status.APPROVED).exists()
    assert Payout.objects.filter(status=Payout.Status.REQUESTED).exists()
    assert ReferralReview.objects.filter(status=ReferralReview.Status.PENDING).exists()
    assert TaskProgress.objects.filter(partner__in=demo, completed_at__isnull=False).exists()

    call_command("reconcile_ledger", verbosity=0)
    assert audit_chain_verify().ok
    assert Partner.objects.find_problems() == ([], [], [], [], [])

    counts = (CheckIn.objects.count(), Payment.objects.count(), Payout.objects.count())
    call_command("seed_demo", members=320, pro_share=0.25, verbosity=0)
    assert demo.count() == 320
    assert (CheckIn.objects.count(), Payment.objects.count(), Payout.objects.count()) == counts
