"""Fixtures of the referral engine tests."""

import itertools

import pytest

from partners.services import SignupContext, partner_join

_telegram_ids = itertools.count(9_100_000_000)

BROWSER_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36 Telegram-Android/11.0"
)


@pytest.fixture
def join():
    """join(referrer, ip=..., user_agent=..., device=..., channel=...) → a new member who signed
    up through the Mini App with those request details (what fraud scoring sees)."""

    def build(referrer=None, *, ip=None, user_agent=BROWSER_UA, device="", channel="mini_app", started_at=None):
        signup = SignupContext(
            ip=ip, user_agent=user_agent, device_fingerprint=device, channel=channel, client_started_at=started_at
        )
        return partner_join(referrer=referrer, telegram_id=next(_telegram_ids), signup=signup).partner

    return build


@pytest.fixture
def no_limits(settings):
    """Velocity limit and fraud scoring switched off."""
    settings.REFERRAL_HOURLY_LIMIT = 0
    settings.FRAUD_SCORING_ENABLED = False
    return settings
