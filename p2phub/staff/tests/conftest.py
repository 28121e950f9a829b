"""A fixed data set whose every staff figure is computed by hand in test_stats_api.py."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine

from partners.tests.factories import PartnerFactory, make_chain
from payments.services import payment_complete, payment_create, payment_refund, payment_submit_usdt
from referrals.share_services import share_click_record, share_event_record
from rewards.services.checkins import checkin_record

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def _buy(partner):
    return payment_complete(payment_id=payment_create(partner=partner, method="USDT").pk)


BROWSER = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"


@pytest.fixture
def stats_world(settings, staff_user):
    """Chain A1..A10 (A1 the top) joined 40 days ago; B1 (a root) 20 days ago, B2 under B1 6
    days ago, B3 under B1 and B4 under B2 3 hours ago, B5 under A10 30 hours ago.
    P1: A10 buys 40 days ago (refunded 5 days ago); P2: A10 buys 10 days ago; P3: A5 buys
    2 hours ago. B1 has a USDT payment under review. Check-ins: A1 on 03-18, 03-19, 03-20;
    A2 on 03-20. The clock is left at NOW (2026-03-20 12:00 UTC)."""
    settings.TON_WALLET_ADDRESS = "0:" + "A" * 64
    settings.USDT_WALLET_ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"
    w = SimpleNamespace()
    with time_machine.travel(NOW - timedelta(days=40), tick=False) as clock:
        w.a = make_chain(10)
        w.p1 = _buy(w.a[9])
        clock.move_to(NOW - timedelta(days=20))
        w.b1 = PartnerFactory()
        clock.move_to(NOW - timedelta(days=10))
        w.p2 = _buy(w.a[9])
        clock.move_to(NOW - timedelta(days=6))
        w.b2 = PartnerFactory(referrer=w.b1)
        clock.move_to(NOW - timedelta(days=5))
        payment_refund(payment_id=w.p1.pk, actor=staff_user, note="chargeback")
        clock.move_to(NOW - timedelta(hours=30))
        w.b5 = PartnerFactory(referrer=w.a[9])
        clock.move_to(datetime(2026, 3, 18, 8, 0, tzinfo=UTC))
        checkin_record(partner=w.a[0])
        clock.move_to(datetime(2026, 3, 19, 8, 0, tzinfo=UTC))
        checkin_record(partner=w.a[0])
        clock.move_to(NOW - timedelta(hours=3))
        w.b3 = PartnerFactory(referrer=w.b1)
        w.b4 = PartnerFactory(referrer=w.b2)
        checkin_record(partner=w.a[0])
        checkin_record(partner=w.a[1])
        clock.move_to(NOW - timedelta(hours=2))
        w.p3 = _buy(w.a[4])
        review = payment_create(partner=w.b1, method="USDT")
        payment_submit_usdt(partner=w.b1, payment_id=review.pk, tx_hash="ab" * 32)
        # Sharing: B1 shares twice on WhatsApp and once on Telegram; its WhatsApp link gets a
        # click, the same IP again within the hour (kept, not counted), another IP, and a bot.
        for platform in ("whatsapp", "whatsapp", "telegram"):
            share_event_record(partner=w.b1, platform=platform)
        for ip, agent in (("198.51.100.1", BROWSER), ("198.51.100.1", BROWSER), ("198.51.100.2", BROWSER), ("198.51.100.3", "Googlebot/2.1")):
            share_click_record(code=w.b1.referral_code, platform="whatsapp", ip=ip, user_agent=agent)
        clock.move_to(NOW)
        yield w
