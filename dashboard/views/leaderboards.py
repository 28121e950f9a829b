"""Leaderboards: the four boards of SPEC §8 (rewards.leaderboards, as GET /api/v1/leaderboard/)
one at a time, with the member's own rank on each."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from dashboard.access import member_page
from dashboard.views.common import page
from rewards.leaderboards import BOARDS, leaderboard_rank, leaderboard_top

TOP = 20
BOARD_LABELS = {
    "xp": _("All-time XP"),
    "week": _("XP this week"),
    "month": _("XP this month"),
    "streak": _("Current streak"),
}


@require_GET
@member_page
def leaderboard(request):
    board = (request.GET.get("board") or "xp").strip().lower()
    if board not in BOARDS:
        raise Http404
    partner = request.partner
    rows = leaderboard_top(board, limit=TOP)
    mine = leaderboard_rank(board, partner=partner)
    context = {
        "board": board,
        "boards": [(key, BOARD_LABELS[key]) for key in BOARDS],
        "board_label": BOARD_LABELS[board],
        "rows": rows,
        "mine": mine,
        "me_id": partner.pk,
        "hidden": partner.leaderboard_visibility == "hidden",
        "unit": "days" if board == "streak" else "XP",
    }
    return page(request, "dashboard/leaderboard.html", "leaderboard", context)
