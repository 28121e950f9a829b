"""Every staff endpoint (found from the URL conf, so new ones are covered too): a member gets
403 (and the denial is a rate-limited security event), an anonymous caller 401."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from audit.models import AuditLog, EventType
from partners.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def _routes(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def staff_paths() -> list[str]:
    paths = set()
    for route in _routes(get_resolver().url_patterns):
        route = route.replace("^", "").replace("$", "")
        if route.startswith("api/v1/staff/"):
            route = re.sub(r"<(?:int:)?\w+>", "1", route)  # path converters
            route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)  # router regexes
            route = route.replace("\\.", ".").replace("/?", "/")
            if "(?P<format>" in route or "\\" in route or route.endswith("."):
                continue
            paths.add("/" + route)
    return sorted(paths)


STAFF_PATHS = staff_paths()


def test_the_staff_endpoints_were_found():
    assert {"/api/v1/staff/stats/", "/api/v1/staff/commission-stats/", "/api/v1/staff/audit-logs/",
            "/api/v1/staff/payments/1/approve/", "/api/v1/staff/payouts/1/approve/",
            "/api/v1/staff/ton-transfers/1/assign/"} <= set(STAFF_PATHS)


@pytest.mark.parametrize("path", STAFF_PATHS)
def test_members_get_403_and_anonymous_callers_401(path, tma_client, api_client):
    member = PartnerFactory()
    client = tma_client(member)
    method = "get" if path.endswith(("stats/", "audit-logs/")) else "post"
    assert getattr(client, method)(path, {}, format="json").status_code == 403
    assert getattr(api_client, method)(path, {}, format="json").status_code == 401
    assert AuditLog.objects.filter(event_type=EventType.SECURITY_STAFF_DENIED, partner_id=member.pk).count() == 1
