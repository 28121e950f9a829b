"""Reads of the tree. Every query here is one statement, whatever the depth of the tree (the
integrity check for reconciliation: four set-based statements over the whole tree)."""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Count, QuerySet

from partners.models import Notification, Partner


def partner_ancestor_paths(partner_path: str, *, levels: int) -> list[str]:
    """Paths of the `levels` nearest ancestors, nearest first, derived from the path alone."""
    steplen = Partner.steplen
    depth = len(partner_path) // steplen
    return [partner_path[: steplen * d] for d in range(depth - 1, max(0, depth - 1 - levels), -1)]


class TreeIntegrityError(RuntimeError):
    """A path prefix that must exist does not: the tree is damaged (or the caller holds a stale
    path). Raised instead of silently paying level N+1 as level N."""


def partner_ancestors(partner: Partner, *, levels: int | None = None) -> list[Partner]:
    """Ancestors nearest first (index 0 = the direct referrer, L1). One `path IN` query.

    Every prefix of a node's path is a node, so a missing one means a damaged tree or a stale
    `partner.path` (read before a staff move committed). Either way the levels would shift and
    money would go to the wrong people, so this raises `TreeIntegrityError` instead. Callers that
    pay along the path hold the member's row lock (or the tree lock), which keeps it current."""
    levels = settings.REFERRAL_MAX_LEVELS if levels is None else levels
    paths = partner_ancestor_paths(partner.path, levels=levels)
    if not paths:
        return []
    by_path = {p.path: p for p in Partner.objects.filter(path__in=paths)}
    missing = [path for path in paths if path not in by_path]
    if missing:
        raise TreeIntegrityError(
            f"Partner {partner.pk} (path {partner.path!r}): ancestor path(s) {missing} do not exist."
        )
    return [by_path[path] for path in paths]


@dataclass
class TreeProblems:
    """Violations of the tree invariants of SPEC §1 (lists of partner ids)."""

    orphans: list[int] = field(default_factory=list)  # the parent path is no node
    wrong_depth: list[int] = field(default_factory=list)  # depth does not match the path length
    wrong_numchild: list[int] = field(default_factory=list)  # numchild differs from the real children
    referrer_mismatch: list[int] = field(default_factory=list)  # referrer is not the tree parent

    @property
    def is_clean(self) -> bool:
        return not (self.orphans or self.wrong_depth or self.wrong_numchild or self.referrer_mismatch)

    def items(self) -> list[tuple[str, list[int]]]:
        return [
            ("orphan (parent missing)", self.orphans),
            ("depth does not match path", self.wrong_depth),
            ("numchild wrong", self.wrong_numchild),
            ("referrer is not the tree parent", self.referrer_mismatch),
        ]


def partner_tree_problems() -> TreeProblems:
    """Check the whole tree in four set-based statements (hash joins, no per-node queries), so
    it runs in the daily reconciliation whatever the size of the network. Read-only."""
    table = connection.ops.quote_name(Partner._meta.db_table)
    step = Partner.steplen
    parent_path = "substr(c.path, 1, length(c.path) - %(step)s)"
    queries = {
        "orphans": (
            f"SELECT c.id FROM {table} c LEFT JOIN {table} p ON p.path = {parent_path} "
            "WHERE c.depth > 1 AND p.id IS NULL ORDER BY c.id"
        ),
        "wrong_depth": f"SELECT c.id FROM {table} c WHERE length(c.path) <> c.depth * %(step)s ORDER BY c.id",
        "wrong_numchild": (
            f"SELECT c.id FROM {table} c LEFT JOIN ("
            f"  SELECT substr(k.path, 1, length(k.path) - %(step)s) AS parent_path, count(*) AS n"
            f"  FROM {table} k WHERE length(k.path) > %(step)s GROUP BY 1"
            ") kids ON kids.parent_path = c.path "
            "WHERE c.numchild <> coalesce(kids.n, 0) ORDER BY c.id"
        ),
        "referrer_mismatch": (
            f"SELECT c.id FROM {table} c LEFT JOIN {table} p ON c.depth > 1 AND p.path = {parent_path} "
            "WHERE (c.depth = 1 AND c.referrer_id IS NOT NULL) "
            "OR (c.depth > 1 AND p.id IS NOT NULL AND (c.referrer_id IS NULL OR c.referrer_id <> p.id)) "
            "ORDER BY c.id"
        ),
    }
    problems = TreeProblems()
    with connection.cursor() as cursor:
        for name, sql in queries.items():
            cursor.execute(sql, {"step": step})
            getattr(problems, name).extend(row[0] for row in cursor.fetchall())
    return problems


def partner_downline(partner: Partner, *, max_levels: int | None = None) -> QuerySet[Partner]:
    """Descendants within `max_levels` (default 9): a `path LIKE 'x%'` range scan on the path
    index plus a depth bound."""
    max_levels = settings.REFERRAL_MAX_LEVELS if max_levels is None else max_levels
    return Partner.objects.filter(
        path__startswith=partner.path, depth__gt=partner.depth, depth__lte=partner.depth + max_levels
    )


def partner_network_counts(partner: Partner, *, known_empty: bool = False) -> dict:
    """L1..L9 member counts, network size and direct referrals from one grouped query (none when
    the caller knows the downline is empty: a member created by this request)."""
    rows = () if known_empty else (
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


def partner_get_by_telegram_id(telegram_id: int, *, with_referrer: bool = False) -> Partner | None:
    members = Partner.objects.select_related("referrer") if with_referrer else Partner.objects
    return members.filter(telegram_id=telegram_id).first()


def notification_list(*, viewer: Partner) -> QuerySet:
    """The member's in-app notifications, newest first (index notification_partner_newest)."""
    return Notification.objects.filter(partner_id=viewer.pk).order_by("-id")
