from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditLog, EventType
from partners.login_tokens import WebLoginTokenInvalid, web_login_token_issue, web_login_token_redeem
from partners.models import Partner, WebLoginToken
from partners.services import partner_set_status
from partners.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_a_login_token_signs_in_once_and_is_stored_hashed():
    member = PartnerFactory()
    raw = web_login_token_issue(partner=member)

    stored = WebLoginToken.objects.get(partner=member)
    assert raw not in stored.token_hash and len(stored.token_hash) == 64
    assert web_login_token_redeem(raw_token=raw) == member
    with pytest.raises(WebLoginTokenInvalid):
        web_login_token_redeem(raw_token=raw)
    assert AuditLog.objects.filter(event_type=EventType.WEB_LOGIN_LINK_ISSUED, partner_id=member.pk).count() == 1


def test_a_login_token_expires_after_ten_minutes():
    member = PartnerFactory()
    issued_at = timezone.now()
    raw = web_login_token_issue(partner=member, now=issued_at)

    with pytest.raises(WebLoginTokenInvalid):
        web_login_token_redeem(raw_token=raw, now=issued_at + timedelta(minutes=10, seconds=1))
    assert web_login_token_redeem(raw_token=raw, now=issued_at + timedelta(minutes=9)) == member


@pytest.mark.parametrize("raw", ["", "nope", "x" * 500, "\x00bad\udcff"])
def test_unknown_or_malformed_tokens_are_refused(raw):
    with pytest.raises(WebLoginTokenInvalid):
        web_login_token_redeem(raw_token=raw)


def test_a_banned_member_cannot_use_an_earlier_link(staff_user):
    member = PartnerFactory()
    raw = web_login_token_issue(partner=member)
    partner_set_status(partner=member, status=Partner.Status.BANNED, actor=staff_user, reason="fraud")

    with pytest.raises(WebLoginTokenInvalid):
        web_login_token_redeem(raw_token=raw)
