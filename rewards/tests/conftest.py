import uuid

import pytest
from django.conf import settings as django_settings


@pytest.fixture(autouse=True)
def _leaderboard_keys(settings):
    """A private Redis key prefix per test, removed afterwards (Redis mode only)."""
    settings.LEADERBOARD_KEY_PREFIX = f"test:lb:{uuid.uuid4().hex[:12]}"
    yield
    if django_settings.REDIS_URL:
        from rewards.leaderboards import redis_board

        conn = redis_board.client()
        keys = list(conn.scan_iter(f"{settings.LEADERBOARD_KEY_PREFIX}:*", count=1000))
        if keys:
            conn.delete(*keys)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run after-commit hooks (Redis leaderboard writes) inside a test transaction:
    `with committed(): ...`."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
