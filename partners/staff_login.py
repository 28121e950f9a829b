"""Staff sign-in rate limit and lockout (admin login and /accounts/login/).

After `STAFF_LOGIN_MAX_FAILURES` failed attempts for one username from one IP within
`STAFF_LOGIN_WINDOW_MINUTES`, that pair is locked out for `STAFF_LOGIN_LOCKOUT_MINUTES`: the
password is not even checked, and the login page answers 429 with "try again in N minutes".
A successful sign-in clears the pair's failures. Attempts are counted in the database
(`StaffLoginAttempt`), never in the cache, so the limit holds when Redis is down. Every failure
and every lockout is an audit security event.

The services live here rather than in partners/services.py (the signup module) because they
concern Django staff users, not partners; the forms in partners/forms.py and the view wrapper
below are their only callers.
"""

import functools
import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many
from partners.models import StaffLoginAttempt

# Names the staff-login pairs among PostgreSQL (int4, int4) advisory locks.
_LOCK_CLASS = 0x50325053  # "P2PS"


@dataclass(frozen=True)
class StaffLockout:
    until: datetime

    def seconds_left(self, now: datetime | None = None) -> int:
        return max(1, math.ceil((self.until - (now or timezone.now())).total_seconds()))

    def minutes_left(self, now: datetime | None = None) -> int:
        return max(1, math.ceil(self.seconds_left(now) / 60))

    def message(self, now: datetime | None = None) -> str:
        minutes = self.minutes_left(now)
        unit = "minute" if minutes == 1 else "minutes"
        return f"Too many failed sign-in attempts. Try again in {minutes} {unit}."


def _username_key(username: str | None) -> str:
    return (username or "").strip().lower()[:150]


def _ip_hash(ip: str | None) -> str:
    key = settings.IP_HASH_SALT.encode()
    return hmac.new(key, f"staff_login:{ip or ''}".encode(), hashlib.sha256).hexdigest()


def _pair(username: str | None, ip: str | None):
    return StaffLoginAttempt.objects.filter(username=_username_key(username), ip_hash=_ip_hash(ip))


def _lock_pair(username: str, ip_hash: str) -> None:
    """Serialize the failures of one pair so that exactly the Nth failure locks it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [_LOCK_CLASS, f"{username}\n{ip_hash}"])


def staff_login_lockout_get(*, username: str | None, ip: str | None, now: datetime | None = None) -> StaffLockout | None:
    """The pair's lockout if it is locked out right now."""
    now = now or timezone.now()
    until = _pair(username, ip).filter(locked_until__gt=now).aggregate(until=Max("locked_until"))["until"]
    return StaffLockout(until=until) if until else None


def staff_login_failed(
    *, username: str | None, ip: str | None, reason: str = "invalid_credentials", now: datetime | None = None
) -> StaffLockout | None:
    """Record one failed sign-in; returns the lockout when this failure reached the limit."""
    now = now or timezone.now()
    window = timedelta(minutes=settings.STAFF_LOGIN_WINDOW_MINUTES)
    lockout_for = timedelta(minutes=settings.STAFF_LOGIN_LOCKOUT_MINUTES)
    key, ip_hash = _username_key(username), _ip_hash(ip)
    with transaction.atomic():
        _lock_pair(key, ip_hash)
        pair = StaffLoginAttempt.objects.filter(username=key, ip_hash=ip_hash)
        pair.filter(created_at__lt=now - window - lockout_for).delete()  # aged out
        # Failures before the end of the last lockout were already paid for by it.
        last_lock_end = pair.filter(locked_until__lte=now).aggregate(end=Max("locked_until"))["end"]
        counted_since = max(now - window, last_lock_end) if last_lock_end else now - window
        attempt = StaffLoginAttempt.objects.create(username=key, ip_hash=ip_hash, created_at=now)
        failures = pair.filter(created_at__gt=counted_since).count()
        lockout = None
        if failures >= settings.STAFF_LOGIN_MAX_FAILURES:
            lockout = StaffLockout(until=now + lockout_for)
            StaffLoginAttempt.objects.filter(pk=attempt.pk).update(locked_until=lockout.until)
        common = {"username": key, "failures": failures, "window_minutes": settings.STAFF_LOGIN_WINDOW_MINUTES}
        entries = [
            AuditEntry(
                EventType.SECURITY_AUTH_FAILED,
                metadata={"reason": "staff_login_failed", "detail": reason, **common},
                actor_label="anonymous",
            )
        ]
        if lockout:
            entries.append(
                AuditEntry(
                    EventType.SECURITY_STAFF_LOCKED_OUT,
                    metadata={
                        "reason": "staff_login_locked_out",
                        "locked_until": lockout.until.isoformat(),
                        "lockout_minutes": settings.STAFF_LOGIN_LOCKOUT_MINUTES,
                        **common,
                    },
                    actor_label="anonymous",
                )
            )
        audit_record_many(entries)
    return lockout


def staff_login_succeeded(*, username: str | None, ip: str | None) -> None:
    """A successful sign-in clears the pair's failures."""
    _pair(username, ip).delete()


def staff_login_view(view):
    """Wrap a login view whose form is one of partners.forms' staff forms: a locked-out attempt
    gets the login page (with the "try again in N minutes" error) as 429 with Retry-After."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        form = (getattr(response, "context_data", None) or {}).get("form")
        lockout = getattr(form, "lockout", None)
        if request.method == "POST" and lockout is not None:
            response.status_code = 429
            response["Retry-After"] = str(lockout.seconds_left())
        return response

    return wrapped
