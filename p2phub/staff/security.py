"""Denied staff access as an audit security event (SPEC §11), without letting a member flood
the hash chain: each audit row costs a chain lock, so a caller who keeps hitting
`/api/v1/staff/*` or `/staff/` gets at most one SECURITY_STAFF_DENIED row per
`STAFF_DENIED_AUDIT_MINUTES` (default 10, so at most 6 rows an hour per caller). The limit is
read from the audit log itself (an indexed "row for this caller in the window?" lookup), so it
holds with Redis down; denials inside the window are counted in the cache (best effort) and the
next row carries that count as `suppressed_before`. Anonymous callers get 401 / a sign-in
redirect and no row: they are not "denied staff", and an unauthenticated flood would be free."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from audit.models import AuditLog, EventType
from audit.services import audit_record


def _caller(user) -> tuple[str, int | None, AbstractBaseUser | None]:
    """(rate-limit key, partner id, Django user) of a web user or a Mini App principal."""
    # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
    partner_id = getattr(getattr(user, "partner", None), "pk", None)
    django_user = user if isinstance(user, AbstractBaseUser) else None
    key = f"user:{django_user.pk}" if django_user is not None else f"partner:{partner_id}"
    return key, partner_id, django_user


def staff_access_denied(*, user, path: str, method: str) -> bool:
    """Record an authenticated non-staff caller's attempt at a staff page or endpoint, unless
    this caller already has a row within the window. True when a row was written."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    key, partner_id, django_user = _caller(user)
    window = timedelta(minutes=settings.STAFF_DENIED_AUDIT_MINUTES)
    counter = f"staff-denied:{key}"
    recent = AuditLog.objects.filter(event_type=EventType.SECURITY_STAFF_DENIED, created_at__gte=timezone.now() - window)
    recent = recent.filter(actor=django_user) if django_user is not None else recent.filter(partner_id=partner_id)
    if recent.exists():
        try:
            cache.add(counter, 0, timeout=None)
            cache.incr(counter)
        except ValueError:  # the key vanished between add and incr (eviction): best effort
            pass
        return False
    suppressed = cache.get(counter)
    cache.delete(counter)
    with transaction.atomic():
        audit_record(
            EventType.SECURITY_STAFF_DENIED,
            partner_id=partner_id,
            actor=django_user,
            actor_label="" if django_user is not None else f"partner:{partner_id}",
            metadata={
                "path": path[:200],
                "method": method,
                "window_minutes": settings.STAFF_DENIED_AUDIT_MINUTES,
                "suppressed_before": suppressed,
            },
        )
    return True
