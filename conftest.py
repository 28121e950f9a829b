"""Root fixtures. The suite runs on SQLite by default and on PostgreSQL + Redis when
DATABASE_URL / REDIS_URL are set; tests marked `postgres` or `redis` skip loudly otherwise."""

import os
import shutil

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from rest_framework.test import APIClient

from p2phub.testing.telegram import signed_init_data

pytest_plugins = ["p2phub.testing.fixtures"]

TEST_BOT_TOKEN = "42:TEST"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
# Playwright's sync API runs an event loop in the test thread; the ORM calls a browser test makes
# around it are still plain synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="SKIPPED: needs PostgreSQL (set DATABASE_URL=postgres://...)")
    skip_redis = pytest.mark.skip(reason="SKIPPED: needs Redis (set REDIS_URL=redis://...)")
    skip_browser = pytest.mark.skip(reason="SKIPPED: needs Chromium (apt-get install chromium)")
    for item in items:
        if "postgres" in item.keywords and not django_settings.IS_POSTGRES:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not django_settings.REDIS_URL:
            item.add_marker(skip_redis)
        if "browser" in item.keywords and not CHROMIUM:
            item.add_marker(skip_browser)


def pytest_report_header(config):
    db = django_settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"p2phub: database={db} cache={'redis' if django_settings.REDIS_URL else 'locmem'}"


@pytest.fixture(scope="session", autouse=True)
def _test_flush_may_empty_the_audit_log():
    """Transactional tests end with a TRUNCATE of every table, which the audit log's trigger
    rightly refuses (and so do the two ledgers'). Only this test-teardown flush is let through; the guard itself stays on."""
    if not django_settings.IS_POSTGRES:
        yield
        return
    import pgtrigger
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush

    def flush(self, sql_list):
        with pgtrigger.ignore(
            "audit.AuditLog:audit_no_truncate",
            "rewards.XPEntry:xp_entry_no_truncate",
            "payments.USDTEntry:usdt_entry_no_truncate",
        ):
            return original(self, sql_list)

    DatabaseOperations.execute_sql_flush = flush
    yield
    DatabaseOperations.execute_sql_flush = original


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches Debian's Chromium, with the flags this sandboxed, offline
    machine needs (no background networking, no sandbox as root)."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(autouse=True)
def _isolated_settings(settings):
    settings.TELEGRAM_BOT_TOKEN = TEST_BOT_TOKEN
    settings.TELEGRAM_SEND_ENABLED = False  # tests that send use the fake Bot API (fake_bot_api)
    settings.TON_DEMO_RATE_USD = ""  # tests quote from their fake rate server, never the demo rate
    cache.clear()  # throttles, rate quotes and leaderboards start empty in every test
    # Tests run inside a transaction that never commits, so the after-commit token changes of the
    # member cache would not run; the cache's own tests turn it on and commit (test_member_cache).
    settings.MEMBER_CACHE_SECONDS = 0
    yield


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def init_data():
    """init_data(user_id, start_param="", **kw) → a signed initData string for the test bot."""

    def build(user_id: int, **kwargs) -> str:
        return signed_init_data(bot_token=TEST_BOT_TOKEN, user_id=user_id, **kwargs)

    return build


@pytest.fixture
def tma_client(init_data):
    """tma_client(partner_or_telegram_id, **initdata_kw) → an APIClient signed in as that member."""

    def build(who, **kwargs) -> APIClient:
        telegram_id = getattr(who, "telegram_id", who)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"tma {init_data(telegram_id, **kwargs)}")
        return client

    return build


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(username="staff", password="staff-pass-123", is_staff=True)


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff_user)
    return client
