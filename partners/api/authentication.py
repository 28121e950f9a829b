"""`Authorization: tma <initData>` for the Telegram Mini App (SPEC §15, API.md).

The first valid request of an unknown Telegram user creates their partner through the signup use
case (`partner_join`), attached to the referrer named by start_param (or the bot's pending /start
attribution)."""

import logging
import time

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from p2phub.middleware import current_request_context
from partners.models import Partner
from partners.selectors import partner_get_by_telegram_id
from partners.services import SignupContext, partner_join, partner_sync_telegram_profile
from partners.signals import partner_authenticated
from partners.telegram_auth import TelegramAuthError, verify_init_data

logger = logging.getLogger(__name__)


class TelegramPrincipal:
    """request.user for Mini App requests: a member without a Django user account."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True

    def __init__(self, partner: Partner):
        self.partner = partner
        # Throttles key on pk; keep it apart from Django user ids.
        self.pk = self.id = f"tg{partner.pk}"

    def __str__(self) -> str:
        return f"telegram:{self.partner.telegram_id}"


class TelegramInitDataAuthentication(BaseAuthentication):
    keyword = "tma"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != self.keyword:
            return None
        try:
            verified = verify_init_data(
                raw.strip(),
                bot_token=settings.TELEGRAM_BOT_TOKEN,
                now=int(time.time()),
                max_age_seconds=settings.INIT_DATA_MAX_AGE,
                max_bytes=settings.INIT_DATA_MAX_BYTES,
            )
        except TelegramAuthError as error:
            logger.info("Rejected Telegram initData: %s", error)
            raise exceptions.AuthenticationFailed(f"Invalid Telegram initData: {error}.") from None

        partner = partner_get_by_telegram_id(verified.user.id, with_referrer=True)
        if partner is None:
            context = current_request_context()
            telegram_user = verified.user
            # The one signup use case; it applies the bot's pending /start code when start_param
            # is missing.
            result = partner_join(
                referral_code=verified.start_param,
                telegram_id=telegram_user.id,
                username=telegram_user.username,
                first_name=telegram_user.first_name,
                last_name=telegram_user.last_name,
                language="ru" if telegram_user.language_code.startswith("ru") else "en",
                photo_url=telegram_user.photo_url,
                signup=SignupContext(
                    ip=context.ip,
                    user_agent=context.user_agent,
                    device_fingerprint=request.META.get("HTTP_X_DEVICE_FINGERPRINT", "")[:128],
                    channel="mini_app",
                    client_started_at=float(verified.auth_date),
                ),
            )
            partner = result.partner
            request.partner_join_result = result
        else:
            partner_sync_telegram_profile(partner=partner, telegram_user=verified.user)
        partner_authenticated.send(sender=Partner, partner=partner, request=request)
        return TelegramPrincipal(partner), verified

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing or wrong.
        return self.keyword
