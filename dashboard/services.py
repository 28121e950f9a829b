"""Web sign-in (API.md, "Web sign-in and pages"): every way into a Django session for a member.

Sessions are Django's own: a member signed in on the web is a Django `User` (unusable password,
never staff) linked one-to-one to their `Partner` (`Partner.user`, SPEC §1: web members may also
have a Django user). That keeps one session mechanism for members and staff, so DRF's
SessionAuthentication, CSRF, `logout()` and session rotation on sign-in all work unchanged, and
`request_partner()` finds the member for the JSON API and for the pages alike. The user is
created the first time the member signs in on the web, here, never elsewhere.

A Telegram identity that is not a member yet joins through the one signup path (`partner_join`,
channel "web"), attributed by the bot's pending `/start <code>` (partner_join looks it up for the
Telegram id) or else by the `/r/<code>` attribution cookie.
"""

import logging
import secrets

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from audit.models import EventType
from audit.services import audit_record
from partners.models import Partner, PendingAttribution
from partners.services import JoinResult, SignupContext, partner_join, partner_sync_telegram_profile
from partners.telegram_auth import TelegramUser

logger = logging.getLogger(__name__)


def referral_code_from_cookie(value: str | None) -> str:
    """The code in an attribution cookie: `<code>` or `<code>_<platform>` (the platform tag is
    the sharing issue's; only the code matters for the signup). Bounded and trimmed; the lookup
    in partner_join decides whether it is a real code."""
    code, _, _platform = (value or "").strip()[:64].partition("_")
    return code


def member_web_user(*, partner: Partner) -> "object":
    """The Django user of `partner`'s web sessions, created on first use (unusable password,
    not staff). Concurrent first sign-ins of one member end with one user: the partner row is
    locked while it is linked."""
    User = get_user_model()
    if partner.user_id:
        return User.objects.get(pk=partner.user_id)
    with transaction.atomic():
        locked = Partner.objects.select_for_update().only("pk", "user_id").get(pk=partner.pk)
        if locked.user_id:
            partner.user_id = locked.user_id
            return User.objects.get(pk=locked.user_id)
        user = None
        for attempt in range(4):
            # A staff account could already be called "member-12": never reuse someone else's.
            username = f"member-{partner.pk}" if attempt == 0 else f"member-{partner.pk}-{secrets.token_hex(3)}"
            try:
                with transaction.atomic():
                    user = User(username=username, is_staff=False, is_superuser=False)
                    user.set_unusable_password()
                    user.save()
                break
            except IntegrityError:
                continue
        if user is None:
            raise RuntimeError(f"Could not create a web user for partner {partner.pk}")
        Partner.objects.filter(pk=partner.pk).update(user=user)
        partner.user_id = user.pk
        partner.user = user
    return user


def member_join_or_get_telegram(
    *, telegram_user: TelegramUser, referral_code: str, signup: SignupContext, language: str = ""
) -> JoinResult:
    """The member behind a verified Telegram identity; a new one joins through `partner_join`.
    `referral_code` (start_param, or the /r/ cookie) counts only when the bot holds no pending
    `/start <code>` for this Telegram user: the bot's deep link is the stronger signal."""
    existing = Partner.objects.filter(telegram_id=telegram_user.id).first()
    if existing is not None:
        partner_sync_telegram_profile(partner=existing, telegram_user=telegram_user)
        return JoinResult(partner=existing, created=False, referrer=None)
    if PendingAttribution.objects.filter(telegram_id=telegram_user.id).exists():
        referral_code = ""  # partner_join applies the pending attribution when no code is given
    if not language:
        language = "ru" if telegram_user.language_code.startswith("ru") else "en"
    return partner_join(
        referral_code=referral_code,
        telegram_id=telegram_user.id,
        username=telegram_user.username,
        first_name=telegram_user.first_name,
        last_name=telegram_user.last_name,
        language=language,
        photo_url=telegram_user.photo_url,
        signup=signup,
    )


def member_signed_in_record(*, partner: Partner, method: str, created: bool) -> None:
    """The audited sign-in: which way in (widget, link, mini_app) and whether it created the member."""
    audit_record(EventType.WEB_SIGNED_IN, partner_id=partner.pk, metadata={"method": method, "joined": created})
