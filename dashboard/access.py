"""Who may see a dashboard page, in which language, and inside which frames.

`member_page` wraps every dashboard view: anonymous visitors go to /login/ (with ?next=), a
signed-in account without a member profile or a suspended member gets a 403 page. The member is
`request.partner`. The page language is the member's own (`Partner.language`); `?lang=en|ru`
switches it for this browser session (the settings page and the header switch change the
member's language itself, through partner_update_preferences). Dashboard pages may be framed by
Telegram Web (the Mini App iframe), nothing else.
"""

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.clickjacking import xframe_options_exempt

from partners.api.permissions import request_partner
from partners.models import Partner

SESSION_LANGUAGE_KEY = "dashboard_language"
SESSION_IN_TELEGRAM_KEY = "dashboard_in_telegram"
LANGUAGES = {code for code, _name in settings.LANGUAGES}


def frameable_by_telegram(response):
    """Let Telegram Web show the page in its Mini App iframe (CSP frame-ancestors; browsers
    that honour CSP ignore X-Frame-Options then, and the header is dropped for the others)."""
    ancestors = " ".join(["'self'", *settings.DASHBOARD_FRAME_ANCESTORS])
    response["Content-Security-Policy"] = f"frame-ancestors {ancestors}"
    return response


def requested_language(request) -> str | None:
    value = (request.GET.get("lang") or "").strip().lower()[:8]
    return value if value in LANGUAGES else None


def activate_language(request, language: str) -> None:
    translation.activate(language)
    request.LANGUAGE_CODE = language


def page_language(request, partner: Partner | None) -> str:
    """?lang= (kept for the session) > the session's earlier ?lang= > the member's language >
    what LocaleMiddleware chose from the browser."""
    asked = requested_language(request)
    if asked:
        request.session[SESSION_LANGUAGE_KEY] = asked
        return asked
    kept = request.session.get(SESSION_LANGUAGE_KEY)
    if kept in LANGUAGES:
        return kept
    if partner is not None and partner.language in LANGUAGES:
        return partner.language
    return translation.get_language() or settings.LANGUAGE_CODE


def error_page(request, status: int, title: str, message: str):
    response = render(request, "dashboard/error.html", {"title": title, "message": message}, status=status)
    return frameable_by_telegram(response)


def member_page(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        from django.utils.translation import gettext as _

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            activate_language(request, page_language(request, None))
            return redirect(f"/login/?{urlencode({'next': request.get_full_path()})}")
        partner = request_partner(request)
        activate_language(request, page_language(request, partner))
        if partner is None:
            return error_page(
                request, 403, _("No member profile"),
                _("This account has no member profile. Sign in with Telegram to open your dashboard."),
            )
        if partner.status != Partner.Status.ACTIVE:
            return error_page(request, 403, _("Account suspended"), _("This account is suspended. Contact support."))
        request.partner = partner
        request.in_telegram = bool(request.session.get(SESSION_IN_TELEGRAM_KEY))
        response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return frameable_by_telegram(response)

    return xframe_options_exempt(wrapper)
