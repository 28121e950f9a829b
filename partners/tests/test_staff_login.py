"""Staff sign-in rate limit and lockout on /accounts/login/ and the admin login: 5 failures per
(username, IP) in 15 minutes lock the pair for 15 minutes (settings), answered with 429 and a
"try again in N minutes" page; counted in the database so it holds without Redis; audited."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client

from audit.models import AuditLog, EventType
from partners.models import StaffLoginAttempt
from partners.staff_login import staff_login_failed, staff_login_lockout_get

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456789"
LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("ops", password=PASSWORD, is_staff=True)


def _post(path, password, *, username="ops", ip="203.0.113.7", client=None):
    client = client or Client()
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _signed_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def _security_events(reason, event_type=EventType.SECURITY_AUTH_FAILED):
    return AuditLog.objects.filter(event_type=event_type, metadata__reason=reason)


def _age_attempts(minutes):
    for row in StaffLoginAttempt.objects.all():
        StaffLoginAttempt.objects.filter(pk=row.pk).update(
            created_at=row.created_at - timedelta(minutes=minutes),
            locked_until=row.locked_until - timedelta(minutes=minutes) if row.locked_until else None,
        )


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_fifth_failure_locks_out_with_429_and_a_try_again_message(staff, path):
    for _ in range(4):
        response = _post(path, "wrong")
        assert response.status_code == 200
    response = _post(path, "wrong")
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts. Try again in 15 minutes." in response.content
    assert 14 * 60 < int(response["Retry-After"]) <= 15 * 60

    # Locked: even the right password is refused, and the password is not checked at all.
    response = _post(path, PASSWORD)
    assert response.status_code == 429 and not _signed_in(response)
    assert b"Try again in" in response.content


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_lockout_ends_after_the_lockout_time(staff, path):
    for _ in range(5):
        _post(path, "wrong")
    assert _post(path, PASSWORD).status_code == 429
    _age_attempts(16)
    assert _signed_in(_post(path, PASSWORD))


def test_lockout_is_per_username_and_ip(staff, django_user_model):
    django_user_model.objects.create_user("other", password=PASSWORD, is_staff=True)
    for _ in range(5):
        _post("/accounts/login/", "wrong", ip="203.0.113.7")
    assert _post("/accounts/login/", PASSWORD, ip="203.0.113.7").status_code == 429
    assert _signed_in(_post("/accounts/login/", PASSWORD, ip="198.51.100.9"))
    assert _signed_in(_post("/accounts/login/", PASSWORD, username="other", ip="203.0.113.7"))
    # The username is matched as typed, whatever the case.
    assert _post("/accounts/login/", PASSWORD, username="OPS", ip="203.0.113.7").status_code == 429


def test_the_two_login_pages_share_one_count(staff):
    for path in ["/accounts/login/", "/admin/login/"] * 2:
        _post(path, "wrong")
    assert _post("/admin/login/", "wrong").status_code == 429
    assert _post("/accounts/login/", PASSWORD).status_code == 429


def test_success_clears_the_failures(staff):
    for _ in range(4):
        _post("/accounts/login/", "wrong")
    assert _signed_in(_post("/accounts/login/", PASSWORD))
    for _ in range(4):
        assert _post("/accounts/login/", "wrong").status_code == 200
    assert _signed_in(_post("/accounts/login/", PASSWORD))


def test_failures_outside_the_window_do_not_count(staff):
    for _ in range(4):
        _post("/accounts/login/", "wrong")
    _age_attempts(16)
    assert _post("/accounts/login/", "wrong").status_code == 200
    assert _signed_in(_post("/accounts/login/", PASSWORD))


def test_after_a_lockout_the_count_starts_again(staff, settings):
    settings.STAFF_LOGIN_WINDOW_MINUTES = 60  # longer than the lockout: old failures still in it
    for _ in range(5):
        _post("/accounts/login/", "wrong")
    _age_attempts(16)
    assert _post("/accounts/login/", "wrong").status_code == 200
    assert _signed_in(_post("/accounts/login/", PASSWORD))


def test_limits_come_from_settings(staff, settings):
    settings.STAFF_LOGIN_MAX_FAILURES = 2
    settings.STAFF_LOGIN_LOCKOUT_MINUTES = 3
    assert _post("/accounts/login/", "wrong").status_code == 200
    response = _post("/accounts/login/", "wrong")
    assert response.status_code == 429 and b"Try again in 3 minutes." in response.content


def test_non_staff_on_the_admin_login_counts_as_a_failure(django_user_model):
    django_user_model.objects.create_user("member", password=PASSWORD)
    for _ in range(4):
        assert _post("/admin/login/", PASSWORD, username="member").status_code == 200
    assert _post("/admin/login/", PASSWORD, username="member").status_code == 429


def test_failures_and_the_lockout_are_audited(staff):
    for _ in range(5):
        _post("/accounts/login/", "wrong", ip="203.0.113.7")
    _post("/accounts/login/", PASSWORD, ip="203.0.113.7")  # refused while locked: no new failure

    failed = list(_security_events("staff_login_failed").order_by("id"))
    assert [row.metadata["failures"] for row in failed] == [1, 2, 3, 4, 5]
    assert all(row.metadata["username"] == "ops" and row.ip == "203.0.113.7" for row in failed)
    (locked,) = _security_events("staff_login_locked_out", EventType.SECURITY_STAFF_LOCKED_OUT)
    assert locked.metadata["username"] == "ops" and locked.metadata["lockout_minutes"] == 15
    assert locked.ip == "203.0.113.7"
    # Raw IPs are not kept in the attempt table.
    assert not StaffLoginAttempt.objects.filter(ip_hash__contains="203.0.113.7").exists()


def test_lockout_needs_no_cache(staff, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    for _ in range(5):
        _post("/accounts/login/", "wrong")
    assert _post("/accounts/login/", PASSWORD).status_code == 429


def test_lockout_works_with_redis_down(staff, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "SOCKET_CONNECT_TIMEOUT": 0.2},
        }
    }
    for _ in range(4):
        assert _post("/admin/login/", "wrong").status_code == 200
    assert _post("/admin/login/", "wrong").status_code == 429
    assert _post("/admin/login/", PASSWORD).status_code == 429


def test_login_pages_still_sign_staff_in(staff):
    assert _signed_in(_post("/admin/login/?next=/admin/", PASSWORD))
    response = _post("/accounts/login/", PASSWORD)
    assert _signed_in(response) and response["Location"] == "/admin/"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_failures_lock_exactly_at_the_limit(settings):
    settings.STAFF_LOGIN_MAX_FAILURES = 5
    barrier = threading.Barrier(8)
    results = []

    def fail():
        try:
            barrier.wait()
            results.append(staff_login_failed(username="ops", ip="203.0.113.7"))
        finally:
            connection.close()

    threads = [threading.Thread(target=fail) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert sum(1 for lockout in results if lockout is not None) == 4  # the 5th..8th failures
    assert StaffLoginAttempt.objects.count() == 8
    assert staff_login_lockout_get(username="ops", ip="203.0.113.7") is not None
    assert sorted(row.metadata["failures"] for row in _security_events("staff_login_failed")) == list(range(1, 9))
