"""Reads of the tree. Every query here is one statement, whatever the depth of the tree."""

from django.conf import settings
from django.db.models import Count, QuerySet

from partners.models import Partner


def partner_ancestor_paths(partner_path: str, *, levels: int) -> list[str]:
    """Paths of the `levels` nearest ancestors, nearest first, derived from the path alone."""
    steplen = Partner.steplen
    depth = len(partner_path) // steplen
    return [partner_path[: steplen * d] for d in range(depth - 1, max(0, depth - 1 - levels), -1)]


def partner_ancestors(partner: Partner, *, levels: int | None = None) -> list[Partner]:
    """Ancestors nearest first (index 0 = the direct referrer, L1). One `path IN` query."""
    levels = settings.REFERRAL_MAX_LEVELS if levels is None else levels
    paths = partner_ancestor_paths(partner.path, levels=levels)
    if not paths:
        return []
    by_path = {p.path: p for p in Partner.objects.filter(path__in=paths)}
    return [by_path[path] for path in paths if path in by_path]


def partner_downline(partner: Partner, *, max_levels: int | None = None) -> QuerySet[Partner]:
    """Descendants within `max_levels` (default 9): a `path LIKE 'x%'` range scan on the path
    index plus a depth bound."""
    max_levels = settings.REFERRAL_MAX_LEVELS if max_levels is None else max_levels
    return Partner.objects.filter(
        path__startswith=partner.path, depth__gt=partner.depth, depth__lte=partner.depth + max_levels
    )


def partner_network_counts(partner: Partner) -> dict:
    """L1..L9 member counts, network size and direct referrals from one grouped query."""
    rows = (
        partner_downline(partner)
        .order_by()
        .values("depth")
        .annotate(members=Count("id"))
        .values_list("depth", "members")
    )
    by_level = {depth - partner.depth: members for depth, members in rows}
    levels = [{"level": level, "count": by_level.get(level, 0)} for level in range(1, settings.REFERRAL_MAX_LEVELS + 1)]
    return {
        "levels": levels,
        "network_size": sum(item["count"] for item in levels),
        "direct_referrals": by_level.get(1, 0),
    }


def partner_network_level(partner: Partner, *, level: int) -> QuerySet[Partner]:
    """Members exactly `level` below the partner, newest first."""
    return (
        Partner.objects.filter(path__startswith=partner.path, depth=partner.depth + level)
        .order_by("-joined_at", "-id")
        .only("id", "username", "first_name", "last_name", "joined_at", "is_pro", "pro_expires_at", "path", "depth")
    )


def partner_get_by_telegram_id(telegram_id: int) -> Partner | None:
    return Partner.objects.filter(telegram_id=telegram_id).first()
