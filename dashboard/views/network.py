"""Network: L1..L9 counts as a chart (partners.profile.network_fields: one grouped
query), members per level, paginated and searchable (partner_network_level), and a tree
explorer of the downline to 9 levels. Downline members show name, username, join date, PRO
and level only: never their balances or codes."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard.access import member_page
from dashboard.selectors import downline_children, downline_node, downline_path, network_level_members
from dashboard.views.common import page, paginate
from partners.profile import member_list_extra_fields, network_fields

TREE_CHILDREN_SHOWN = 50


def _level(request) -> int:
    raw = request.GET.get("level") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= settings.REFERRAL_MAX_LEVELS:
        raise Http404
    return int(raw)


def _rows(members, now, *, with_children: bool = False) -> list[dict]:
    members = list(members)
    extras = member_list_extra_fields(members)  # xp_level: one query for the whole page
    return [
        {
            "id": m.pk,
            "name": m.display_name,
            "username": m.username,
            "joined_at": m.joined_at,
            "is_pro": m.pro_active_at(now),
            "xp_level": extras.get(m.pk, {}).get("xp_level", 1),
            # Only the tree's query loads numchild (reading it elsewhere would cost a query a row).
            "numchild": m.numchild if with_children else 0,
        }
        for m in members
    ]


@require_GET
@member_page
def network(request):
    partner = request.partner
    level = _level(request)
    search = (request.GET.get("q") or "").strip()[:64]
    counts = network_fields(partner)
    biggest = max((item["count"] for item in counts["levels"]), default=0)
    members = paginate(request, network_level_members(partner, level=level, search=search))
    query = urlencode({"level": level, **({"q": search} if search else {})}) + "&"
    context = {
        "counts": counts,
        "biggest": biggest,
        "level": level,
        "levels": range(1, settings.REFERRAL_MAX_LEVELS + 1),
        "search": search,
        "members": members,
        "rows": _rows(members.object_list, timezone.now()),
        "query_prefix": query,
    }
    return page(request, "dashboard/network.html", "network", context)


def _tree_context(request, node_id: int):
    partner = request.partner
    node = downline_node(partner, node_id)
    if node is None:
        raise Http404
    children = list(downline_children(node)[: TREE_CHILDREN_SHOWN + 1])
    more = len(children) > TREE_CHILDREN_SHOWN
    children = children[:TREE_CHILDREN_SHOWN]
    child_level = node.depth + 1 - partner.depth
    return {
        "node": node,
        "node_level": node.depth - partner.depth,
        "child_level": child_level,
        "can_expand": child_level < settings.REFERRAL_MAX_LEVELS,
        "children": _rows(children, timezone.now(), with_children=True),
        "more": more,
        "shown": TREE_CHILDREN_SHOWN,
    }


@require_GET
@member_page
def tree(request, node_id: int | None = None):
    partner = request.partner
    context = _tree_context(request, node_id or partner.pk)
    context["trail"] = downline_path(partner, context["node"])
    return page(request, "dashboard/tree.html", "network", context)


@require_GET
@member_page
def tree_children(request, node_id: int):
    """The children of one downline member as an HTML fragment (the tree's "expand" button)."""
    return render(request, "dashboard/partials/tree_children.html", _tree_context(request, node_id))
