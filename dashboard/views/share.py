"""Share: the member's three links with copy buttons, share buttons for the eight platforms,
the QR code, the filled message templates and the member's own funnel. Built on the same reads
and write as /api/v1/share/: referrals.selectors.share_kit and share_funnel, and
referrals.share_services.share_event_record behind the share buttons (the API's `share_events`
throttle)."""

from django.http import Http404, HttpResponseRedirect
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import member_page
from dashboard.labels import platform_label, share_tone
from dashboard.views.common import page
from p2phub.api.throttling import ScopedRateThrottle
from referrals.models import SHARE_PLATFORMS
from referrals.selectors import share_funnel, share_kit
from referrals.share_services import share_event_record

FUNNEL_COLUMNS = ("shares", "clicks", "signups", "pro_purchases")


class _Scope:
    throttle_scope = "share_events"  # the API's limit for POST /api/v1/share/events/


class ShareRedirect(HttpResponseRedirect):
    """303 to a platform's share URL; mailto: and sms: are share URLs too."""

    status_code = 303
    allowed_schemes = ["https", "http", "mailto", "sms"]


@require_GET
@member_page
def share(request):
    partner = request.partner
    kit = share_kit(partner)
    funnel = share_funnel(partner=partner)
    links = kit["links"]
    context = {
        "kit": kit,
        "links": [
            {"id": "link-web", "label": platform_label("web"), "url": links["web"]},
            {"id": "link-bot", "label": platform_label("bot"), "url": links["bot"]},
            {"id": "link-mini-app", "label": platform_label("mini_app"), "url": links["mini_app"]},
        ],
        "platforms": [
            {**p, "label": platform_label(p["platform"]), "new_tab": p["url"].startswith("https://")}
            for p in kit["platforms"]
        ],
        "templates": [
            {**t, "tone_label": share_tone(t["tone"]), "platform_label": platform_label(t["platform"]) if t["platform"] else ""}
            for t in kit["templates"]
        ],
        "funnel": [{**row, "label": platform_label(row["platform"])} for row in funnel],
        "funnel_total": {column: sum(row[column] for row in funnel) for column in (*FUNNEL_COLUMNS, "clicks_total")},
    }
    return page(request, "dashboard/share.html", "share", context)


@require_POST
@member_page
def share_platform(request, platform: str):
    """A share button: record the share (within the throttle) and send the member on to the
    platform with the message filled in. Over the limit the share is not recorded, but the
    member still gets to the platform: sharing itself is never blocked."""
    if platform not in SHARE_PLATFORMS:
        raise Http404
    if ScopedRateThrottle().allow_request(request, _Scope()):
        share_event_record(partner=request.partner, platform=platform)
    target = next(p["url"] for p in share_kit(request.partner)["platforms"] if p["platform"] == platform)
    return ShareRedirect(target)
