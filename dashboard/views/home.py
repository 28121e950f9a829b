"""Home: XP and level, rank, streak with the check-in button and the last 14 days, badges,
USDT balances, PRO status, latest notifications."""

from django.contrib import messages
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from dashboard.access import member_page
from dashboard.labels import badge_name, translated
from dashboard.selectors import checkin_days
from dashboard.views.common import back, page
from partners.member_cache import EXPIRES_AT, member_cached
from partners.profile import member_row_stamp, profile_extra_fields
from partners.selectors import notification_list
from payments.selectors import USDTBalances
from rewards.leaderboards.periods import utc_day
from rewards.levels import xp_required_for_level
from rewards.services import checkin_record

LATEST_NOTIFICATIONS = 5


@require_GET
@member_page
def home(request):
    partner = request.partner
    now = timezone.now()
    # The member cache (partners.member_cache) holds what this page reads beyond the member row;
    # every write that changes it replaces the member's token after commit.
    cached = member_cached("dashboard-home", partner.pk, lambda: _home_fields(partner, now), stamp=member_row_stamp(partner))
    profile = cached["profile"]
    balances = USDTBalances(
        balance=profile["usdt_balance"], available=profile["usdt_available"], total_earned=profile["total_earned_usdt"]
    )
    level = profile.get("xp_level", 1)
    level_floor = xp_required_for_level(level)
    context = {
        "profile": profile,
        "rank_name": translated(profile.get("rank", "Beginner")),
        "level_floor": level_floor,
        "level_span": profile.get("xp_for_next_level", 100) - level_floor,
        "level_done": profile.get("xp", 0) - level_floor,
        "badges": [{"name": badge_name(b["code"]), "earned_at": b["earned_at"]} for b in profile.get("badges", [])],
        "days": cached["days"],
        "balances": balances,
        "is_pro": partner.pro_active_at(now),
        "pro_expires_at": partner.pro_expires_at,
        "notifications": cached["notifications"],
    }
    return page(request, "dashboard/home.html", "home", context)


def _home_fields(partner, now) -> dict:
    """The same profile fields as GET /api/v1/me/ (XP and level, streak and badges, balances),
    the last 14 days and the latest notifications; the profile's expiry (next UTC midnight at
    the latest) covers the days too."""
    profile = profile_extra_fields(partner)
    notifications = [
        {"title": n.title, "body": n.body, "created_at": n.created_at, "read_at": n.read_at}
        for n in notification_list(viewer=partner).only("title", "body", "created_at", "read_at")[:LATEST_NOTIFICATIONS]
    ]
    return {
        "profile": profile,
        "days": checkin_days(partner, today=utc_day(now)),
        "notifications": notifications,
        EXPIRES_AT: profile.pop(EXPIRES_AT, None),
    }


@require_POST
@member_page
def checkin(request):
    result = checkin_record(partner=request.partner)
    if result.already_checked_in:
        messages.info(request, _("You already checked in today. Come back tomorrow!"))
    else:
        text = ngettext(
            "Checked in: +%(xp)s XP. Your streak is %(streak)s day.",
            "Checked in: +%(xp)s XP. Your streak is %(streak)s days.",
            result.streak,
        ) % {"xp": result.awarded_xp, "streak": result.streak}
        if result.bonus_xp:
            text += " " + _("Includes a weekly bonus of %(bonus)s XP.") % {"bonus": result.bonus_xp}
        if result.freeze_used:
            text += " " + _("Your PRO streak freeze covered the missed day.")
        for code in result.badges_earned:
            text += " " + _("New badge: %(badge)s!") % {"badge": badge_name(code)}
        messages.success(request, text)
    return back(request, "/dashboard/")
