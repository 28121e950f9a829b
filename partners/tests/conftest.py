"""Fixtures for the bot and delivery tests: a fake Telegram Bot API speaking Telegram's JSON."""

import pytest

from p2phub.testing.fake_bot_api import FakeBotAPI


@pytest.fixture
def fake_bot_api(settings):
    """Sending switched on, against a local fake Bot API; pacing fast (tests measure behaviour,
    the bench measures rates)."""
    with FakeBotAPI(token=settings.TELEGRAM_BOT_TOKEN) as bot:
        settings.TELEGRAM_API_BASE_URL = bot.url
        settings.TELEGRAM_SEND_ENABLED = True
        settings.TELEGRAM_GLOBAL_RATE_PER_SECOND = 1000.0
        settings.TELEGRAM_PER_CHAT_INTERVAL_SECONDS = 0.0
        settings.TELEGRAM_GROUP_CHAT_INTERVAL_SECONDS = 0.0
        settings.TELEGRAM_WEBHOOK_SECRET = "test-webhook-secret"
        yield bot


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed(): ...` runs the block's on-commit callbacks (the queued deliveries) at its
    end, as a real commit would; tests run inside a transaction that never commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
