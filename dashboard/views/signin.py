"""Web sign-in at the paths of API.md: the Telegram Login Widget and its callback, the bot's
one-time link, the Mini App entry and its initData exchange, and sign-out. Each view checks its
input, calls the services in dashboard.services, and answers; bad or stale data is a 400 (401
for the Mini App exchange) and never leaves a session behind."""

import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import (
    SESSION_IN_TELEGRAM_KEY,
    SESSION_LANGUAGE_KEY,
    activate_language,
    frameable_by_telegram,
    page_language,
)
from dashboard.services import (
    member_join_or_get_telegram,
    member_signed_in_record,
    member_web_user,
    referral_code_from_cookie,
)
from p2phub.middleware import current_request_context
from partners.api.permissions import request_partner
from partners.login_tokens import WebLoginTokenInvalid, web_login_token_redeem
from partners.models import Partner
from partners.services import SignupContext
from partners.telegram_auth import TelegramAuthError, verify_init_data, verify_login_widget

logger = logging.getLogger(__name__)

NEXT_SESSION_KEY = "dashboard_next"
DASHBOARD_URL = "/dashboard/"
_WIDGET_MAX_FIELDS = 16
_WIDGET_MAX_VALUE = 1024


def _signup_context(request, channel: str, started_at: float | None) -> SignupContext:
    context = current_request_context()
    return SignupContext(
        ip=context.ip, user_agent=context.user_agent, channel=channel, client_started_at=started_at
    )


def _safe_next(request, value: str | None) -> str | None:
    if value and value.startswith("/dashboard/") and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return None


def _start_session(request, partner: Partner, *, method: str, created: bool, in_telegram: bool = False) -> None:
    language = request.session.get(SESSION_LANGUAGE_KEY)
    next_url = request.session.get(NEXT_SESSION_KEY)
    login(request, member_web_user(partner=partner), backend="django.contrib.auth.backends.ModelBackend")
    # login() flushes a session that belonged to someone else; keep what the visitor chose.
    if language:
        request.session[SESSION_LANGUAGE_KEY] = language
    if next_url:
        request.session[NEXT_SESSION_KEY] = next_url
    request.session[SESSION_IN_TELEGRAM_KEY] = in_telegram
    member_signed_in_record(partner=partner, method=method, created=created)


def _refusal(request, status: int, title: str, message: str):
    response = render(request, "login/refused.html", {"title": title, "message": message}, status=status)
    return frameable_by_telegram(response)


def _landing_after_sign_in(request):
    return redirect(request.session.pop(NEXT_SESSION_KEY, None) or DASHBOARD_URL)


@require_GET
@never_cache
@ensure_csrf_cookie
def login_page(request):
    partner = request_partner(request)
    activate_language(request, page_language(request, partner))
    next_url = _safe_next(request, request.GET.get("next"))
    if next_url:
        request.session[NEXT_SESSION_KEY] = next_url
    if partner is not None and partner.status == Partner.Status.ACTIVE:
        return _landing_after_sign_in(request)
    context = {
        "bot_username": settings.TELEGRAM_BOT_USERNAME,
        "auth_url": f"{settings.SITE_URL}/login/telegram/",
        "lang_links": True,
    }
    return render(request, "login/login.html", context)


@require_GET
@never_cache
def login_widget_callback(request):
    """The Login Widget redirects here with its signed fields (SPEC §15, Login Widget check)."""
    activate_language(request, page_language(request, None))
    title = _("Sign-in failed")
    if len(request.GET) > _WIDGET_MAX_FIELDS or any(len(request.GET.getlist(key)) != 1 for key in request.GET):
        return _refusal(request, 400, title, _("The sign-in data from Telegram is malformed. Please try again."))
    data = dict(request.GET.items())
    if any(len(value) > _WIDGET_MAX_VALUE for value in data.values()):
        return _refusal(request, 400, title, _("The sign-in data from Telegram is malformed. Please try again."))
    try:
        telegram_user = verify_login_widget(
            data, bot_token=settings.TELEGRAM_BOT_TOKEN, now=int(time.time()), max_age_seconds=settings.INIT_DATA_MAX_AGE
        )
    except TelegramAuthError as error:
        logger.info("Rejected Login Widget data: %s", error)
        return _refusal(
            request, 400, title,
            _("Telegram's sign-in data could not be verified or is too old. Please sign in again."),
        )
    if not 0 < telegram_user.id < 2**63:
        return _refusal(request, 400, title, _("The sign-in data from Telegram is malformed. Please try again."))
    result = member_join_or_get_telegram(
        telegram_user=telegram_user,
        referral_code=referral_code_from_cookie(request.COOKIES.get(settings.REFERRAL_COOKIE_NAME)),
        signup=_signup_context(request, "web", float(data.get("auth_date") or 0) or None),
        language=request.LANGUAGE_CODE,  # the widget sends no language: ?lang= or the browser's
    )
    if result.partner.status != Partner.Status.ACTIVE:
        return _refusal(request, 403, _("Account suspended"), _("This account is suspended. Contact support."))
    _start_session(request, result.partner, method="login_widget", created=result.created)
    if result.unknown_referral_code:
        messages.info(request, _("The referral code was not found, so you joined without a referrer."))
    return _landing_after_sign_in(request)


@require_GET
@never_cache
def login_token(request, token: str):
    """The bot's `/login` link: single use, 10 minutes."""
    activate_language(request, page_language(request, None))
    try:
        partner = web_login_token_redeem(raw_token=token)
    except WebLoginTokenInvalid:
        return _refusal(
            request, 400, _("This sign-in link does not work"),
            _("This sign-in link is invalid, expired or already used. Send /login to the bot again."),
        )
    _start_session(request, partner, method="login_link", created=False)
    return _landing_after_sign_in(request)


@require_GET
@never_cache
@ensure_csrf_cookie
@xframe_options_exempt
def mini_app_entry(request):
    """The Mini App's start page: its script trades Telegram.WebApp.initData for a session."""
    activate_language(request, page_language(request, None))
    response = render(request, "login/mini_app.html", {"dashboard_url": DASHBOARD_URL})
    return frameable_by_telegram(response)


@require_POST
@never_cache
@xframe_options_exempt
def mini_app_sign_in(request):
    """POST init_data → 204 with a session cookie, 401 when the initData is not genuine or stale."""
    activate_language(request, page_language(request, None))
    raw = request.POST.get("init_data", "")
    try:
        verified = verify_init_data(
            raw, bot_token=settings.TELEGRAM_BOT_TOKEN, now=int(time.time()),
            max_age_seconds=settings.INIT_DATA_MAX_AGE, max_bytes=settings.INIT_DATA_MAX_BYTES,
        )
    except TelegramAuthError as error:
        logger.info("Rejected Mini App initData: %s", error)
        return JsonResponse(
            {"detail": _("Telegram's data could not be verified. Close and reopen the app."), "code": "invalid_init_data"},
            status=401,
        )
    current = request_partner(request)
    if current is not None and current.telegram_id == verified.user.id and current.status == Partner.Status.ACTIVE:
        request.session[SESSION_IN_TELEGRAM_KEY] = True
        return HttpResponse(status=204)
    result = member_join_or_get_telegram(
        telegram_user=verified.user,
        referral_code=verified.start_param
        or referral_code_from_cookie(request.COOKIES.get(settings.REFERRAL_COOKIE_NAME)),
        signup=_signup_context(request, "mini_app", float(verified.auth_date)),
    )
    if result.partner.status != Partner.Status.ACTIVE:
        return JsonResponse({"detail": _("This account is suspended. Contact support."), "code": "suspended"}, status=403)
    _start_session(request, result.partner, method="mini_app", created=result.created, in_telegram=True)
    return HttpResponse(status=204)


@require_POST
def logout_view(request):
    partner = request_partner(request)
    language = page_language(request, partner)  # the signed-out pages keep the member's language
    logout(request)
    if language:
        request.session[SESSION_LANGUAGE_KEY] = language
    activate_language(request, page_language(request, None))
    messages.success(request, _("You are signed out."))
    return redirect("/login/")
