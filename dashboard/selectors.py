"""Reads the dashboard pages add on top of the apps' selectors. Each is a fixed number of
queries whatever the size of the member's network (tested per page with
django_assert_num_queries at 10 and at 10,000 downline members)."""

from datetime import date, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet

from partners.models import Partner
from partners.selectors import partner_network_level
from referrals.models import ReferralReview
from rewards.models import CheckIn

HELD_REVIEWS_SHOWN = 50


def checkin_days(partner: Partner, *, today: date, days: int = 14) -> list[dict]:
    """The last `days` UTC days, oldest first, each {day, checked_in, streak}: one query."""
    first = today - timedelta(days=days - 1)
    done = dict(
        CheckIn.objects.filter(partner_id=partner.pk, day__gte=first, day__lte=today).values_list("day", "streak")
    )
    return [
        {"day": day, "checked_in": day in done, "streak": done.get(day)}
        for day in (first + timedelta(days=offset) for offset in range(days))
    ]


def network_level_members(partner: Partner, *, level: int, search: str = "") -> QuerySet[Partner]:
    """Members at one level of the downline (partners.selectors.partner_network_level), optionally
    filtered by name or username (case-insensitive)."""
    members = partner_network_level(partner, level=level)
    search = search.strip().lstrip("@")[:64]
    if search:
        members = members.filter(
            Q(username__icontains=search) | Q(first_name__icontains=search) | Q(last_name__icontains=search)
        )
    return members


def downline_node(partner: Partner, node_id: int) -> Partner | None:
    """A member of `partner`'s downline whose referrals are still within the 9 levels (L1-L8),
    or the partner; else None. The tree explorer opens only these."""
    if node_id == partner.pk:
        return partner
    return (
        Partner.objects.filter(
            pk=node_id, path__startswith=partner.path, depth__gt=partner.depth,
            depth__lt=partner.depth + settings.REFERRAL_MAX_LEVELS,
        )
        .only("id", "path", "depth", "numchild", "username", "first_name", "last_name", "joined_at", "is_pro", "pro_expires_at")
        .first()
    )


def downline_path(partner: Partner, node: Partner) -> list[Partner]:
    """The chain from `partner` down to `node` (both included), one `path IN` query."""
    step = Partner.steplen
    paths = [node.path[: step * depth] for depth in range(partner.depth, node.depth + 1)]
    by_path = {p.path: p for p in Partner.objects.filter(path__in=paths).only("id", "path", "depth", "username", "first_name", "last_name")}
    return [by_path[path] for path in paths if path in by_path]


def downline_children(node: Partner) -> QuerySet[Partner]:
    """Direct referrals of a node in the tree, oldest first (the tree's own order)."""
    return (
        Partner.objects.filter(path__startswith=node.path, depth=node.depth + 1)
        .order_by("path")
        .only("id", "path", "depth", "numchild", "username", "first_name", "last_name", "joined_at", "is_pro", "pro_expires_at")
    )


def held_referral_awards(partner: Partner) -> list[dict]:
    """Referral XP of this member that is held for staff review (SPEC §2, fraud score 31-70):
    the newest reviews of signups in their downline, keeping only this member's own award rows.
    One query."""
    reviews = (
        ReferralReview.objects.filter(
            status=ReferralReview.Status.PENDING,
            new_member__path__startswith=partner.path,
            new_member__depth__gt=partner.depth,
            new_member__depth__lte=partner.depth + settings.REFERRAL_MAX_LEVELS,
        )
        .select_related("new_member")
        .order_by("-id")[:HELD_REVIEWS_SHOWN]
    )
    held = []
    for review in reviews:
        for award in review.awards or []:
            if award.get("partner_id") == partner.pk:
                held.append(
                    {
                        "member": review.new_member.display_name,
                        "level": award.get("level"),
                        "amount": award.get("amount"),
                        "created_at": review.created_at,
                    }
                )
    return held
