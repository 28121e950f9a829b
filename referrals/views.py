"""`GET /r/<code>` (click, attribution cookie, redirect) and the landing page it leads to."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from p2phub.middleware import client_ip
from partners import links
from partners.models import Partner
from referrals.share_services import share_click_record


@require_safe
def referral_link(request, code: str):
    """Record the click (when the code is known), keep the attribution for
    REFERRAL_COOKIE_DAYS in the REFERRAL_COOKIE_NAME cookie (`CODE` or `CODE_tag`, the compact
    form partners.links parses) and answer 302 to the landing page. An unknown or malformed
    code redirects there without a click or a cookie. Last click wins: a newer link's click
    replaces the cookie of an older one."""
    if request.method == "HEAD":
        # Link checkers and preview fetchers probe with HEAD; nobody clicked, so nothing is
        # recorded or attributed.
        return HttpResponseRedirect(reverse("share-landing"))
    result = share_click_record(
        code=code,
        platform=request.GET.get("p"),
        ip=client_ip(request.META),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    target = reverse("share-landing")
    compact = result.ref.compact
    if compact:
        target += "?" + urlencode({"ref": compact})
    response = HttpResponseRedirect(target)
    response["Cache-Control"] = "no-store"  # every click must reach us to be counted
    if compact:
        response.set_cookie(
            settings.REFERRAL_COOKIE_NAME,
            compact,
            max_age=settings.REFERRAL_COOKIE_DAYS * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


@require_safe
def landing(request):
    """The invitation: join through the bot, the Mini App or the web sign-in, carrying the code
    (and platform) from the link, or from the attribution cookie when the query has none."""
    ref = links.parse_referral_ref(request.GET.get("ref"))
    if not ref.code:
        ref = links.parse_referral_ref(request.COOKIES.get(settings.REFERRAL_COOKIE_NAME))
    referrer = (
        Partner.objects.active().filter(referral_code=ref.code).only("first_name", "last_name", "username").first()
        if ref.code
        else None
    )
    context = {
        "referrer_name": referrer.display_name if referrer else "",
        "bot_link": links.bot_link(ref.code, ref.platform)
        if referrer
        else f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}",
        "mini_app_link": (
            links.mini_app_link(ref.code, ref.platform)
            if referrer
            else f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}/{settings.TELEGRAM_MINI_APP_NAME}"
        ),
        "web_login_url": "/login/",
        "code": ref.code if referrer else "",  # the code alone: the tag means nothing to a visitor
    }
    return render(request, "referrals/landing.html", context)
