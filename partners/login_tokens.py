"""One-time sign-in links from the bot's `/login` into the web dashboard (API.md, Web sign-in).

The raw token exists only in the message sent to the member; the database keeps its SHA-256
digest. Redeeming is one conditional UPDATE (unused and unexpired → used), so two clicks racing
on the same link sign in at most once.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from audit.models import EventType
from audit.services import audit_record
from p2phub.errors import DomainError
from partners.models import Partner, WebLoginToken


class WebLoginTokenInvalid(DomainError):
    status_code = 403
    code = "login_link_invalid"


def _digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode("utf-8", "surrogatepass")).hexdigest()


def web_login_token_issue(*, partner: Partner, now: datetime | None = None) -> str:
    """A new single-use token for `partner`, valid WEB_LOGIN_TOKEN_MINUTES; returns the raw value
    for the link (`/login/telegram/<token>/`)."""
    now = now or timezone.now()
    raw_token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(minutes=settings.WEB_LOGIN_TOKEN_MINUTES)
    WebLoginToken.objects.create(partner=partner, token_hash=_digest(raw_token), created_at=now, expires_at=expires_at)
    audit_record(EventType.WEB_LOGIN_LINK_ISSUED, partner_id=partner.pk, metadata={"expires_at": expires_at.isoformat()})
    return raw_token


def web_login_token_redeem(*, raw_token: str, now: datetime | None = None) -> Partner:
    """The member a valid token belongs to, marking it used. Unknown, used, expired or malformed
    tokens, and tokens of members who are no longer active, raise WebLoginTokenInvalid."""
    now = now or timezone.now()
    refusal = WebLoginTokenInvalid("This sign-in link is invalid, expired or already used. Send /login to the bot again.")
    if not raw_token or len(raw_token) > 128:
        raise refusal
    digest = _digest(raw_token)
    claimed = WebLoginToken.objects.filter(token_hash=digest, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
    if not claimed:
        raise refusal
    partner = Partner.objects.get(web_login_tokens__token_hash=digest)
    if not partner.is_active_member:
        raise refusal
    return partner
