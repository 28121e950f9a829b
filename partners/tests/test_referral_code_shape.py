"""A start_param that is not exactly a code is an unknown code: never truncated into someone
else's code (SPEC §1: unknown code → root, said in the response). Plain codes stay
case-insensitive."""

import pytest
from rest_framework.test import APIClient

from audit.models import AuditLog, EventType
from partners.models import Partner, PendingAttribution
from partners.services import partner_find_by_code, partner_join, pending_attribution_record
from partners.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def _me(raw: str):
    return APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"tma {raw}")


# `_wa` / `_WA` are no longer here: since #11 a `_<tag>` suffix is the platform tag of a code
# (partners.links.parse_referral_ref), tested below and in referrals/tests/test_links.py.
@pytest.mark.parametrize("suffix", ["0", "X", "-TELEGRAM", "-wa", "0" * 50])
def test_start_param_longer_than_a_code_is_unknown_not_truncated(init_data, suffix):
    referrer = PartnerFactory()
    start_param = referrer.referral_code + suffix

    response = _me(init_data(601, start_param=start_param))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["referrer"] is None
    assert "not found" in body["referral_notice"]
    member = Partner.objects.get(telegram_id=601)
    assert member.is_root() and member.referrer_id is None
    unknown = AuditLog.objects.get(event_type=EventType.REFERRAL_ATTRIBUTION_UNKNOWN_CODE, partner_id=member.pk)
    assert unknown.metadata["code"] == start_param.upper()


@pytest.mark.parametrize("suffix", ["_wa", "_WA", "_whatsapp"])
def test_start_param_with_a_platform_tag_joins_under_the_code(init_data, suffix):
    referrer = PartnerFactory()
    body = _me(init_data(605, start_param=referrer.referral_code + suffix)).json()
    assert body["referrer"]["referral_code"] == referrer.referral_code and body["referral_notice"] is None


def test_join_with_a_code_plus_extras_makes_a_root_and_says_so():
    referrer = PartnerFactory()
    result = partner_join(referral_code=f"{referrer.referral_code}1", telegram_id=602)
    assert result.created and result.unknown_referral_code and result.referrer is None
    assert result.partner.is_root()


@pytest.mark.parametrize("transform", [str.lower, str.upper, lambda c: f"  {c.lower()}\n", lambda c: c[:4].lower() + c[4:]])
def test_plain_codes_still_match_case_insensitively(init_data, transform):
    referrer = PartnerFactory()
    assert partner_find_by_code(transform(referrer.referral_code)) == referrer
    response = _me(init_data(603, start_param=transform(referrer.referral_code).strip()))
    assert response.json()["referrer"]["referral_code"] == referrer.referral_code
    assert response.json()["referral_notice"] is None


@pytest.mark.parametrize(
    "value",
    ["", "P2P-", "P2P-7F3A9C2", "P2P-7F3A9C2G", "P2P 7F3A9C21", "X2P-7F3A9C21", "7F3A9C21", "P2P-7F3A 9C21"],
)
def test_values_not_shaped_like_a_code_find_nobody(value):
    assert partner_find_by_code(value) is None


def test_pending_bot_attribution_ignores_a_value_that_is_not_a_code():
    referrer = PartnerFactory()
    pending_attribution_record(telegram_id=604, referral_code=f"{referrer.referral_code}0")
    assert not PendingAttribution.objects.filter(telegram_id=604).exists()
    pending_attribution_record(telegram_id=604, referral_code=referrer.referral_code.lower())
    assert PendingAttribution.objects.get(telegram_id=604).referral_code == referrer.referral_code
