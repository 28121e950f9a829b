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
from partners.profile import profile_extra_fields
from partners.selectors import notification_list
from payments.selectors import usdt_balances
from rewards.leaderboards.periods import utc_day
from rewards.levels import xp_required_for_level
from rewards.services import checkin_record

LATEST_NOTIFICATIONS = 5


@require_GET
@member_page
def home(request):
    partner = request.partner
    now = timezone.now()
    # The same profile fields as GET /api/v1/me/ (XP and level, streak and badges, balances).
    profile = profile_extra_fields(partner)
    balances = usdt_balances(partner.pk, now=now)
    level = profile.get("xp_level", 1)
    level_floor = xp_required_for_level(level)
    notifications = list(notification_list(viewer=partner)[:LATEST_NOTIFICATIONS])
    context = {
        "profile": profile,
        "rank_name": translated(profile.get("rank", "Beginner")),
        "level_floor": level_floor,
        "level_span": profile.get("xp_for_next_level", 100) - level_floor,
        "level_done": profile.get("xp", 0) - level_floor,
        "badges": [{"name": badge_name(b["code"]), "earned_at": b["earned_at"]} for b in profile.get("badges", [])],
        "days": checkin_days(partner, today=utc_day(now)),
        "balances": balances,
        "is_pro": partner.pro_active_at(now),
        "pro_expires_at": partner.pro_expires_at,
        "notifications": notifications,
    }
    return page(request, "dashboard/home.html", "home", context)


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
