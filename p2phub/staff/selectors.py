"""The staff figures (SPEC §13) as one dict, and the member/tree/check-in figures it needs.

Query plan (PostgreSQL, see `make bench-stats`): commission figures come from the summary tables
folded by Celery beat plus the live ledger rows after the fold watermark (payments.selectors);
member counts per depth are one GROUP BY over the partner table; windows and daily series are
range scans on indexed timestamps (`partner.joined_at`, `payment (status, completed_at)`,
check-in days)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from partners.models import Partner
from payments.selectors import (
    commission_by_level,
    commission_daily,
    commission_fold_cutoff,
    commission_fold_watermark,
    commission_totals,
    day_start,
    pro_conversion,
    pro_purchases_daily,
    review_queues,
    top_earners,
)
from referrals.selectors import share_funnel
from rewards.models import CheckIn

SERIES_DAYS = (14, 30)
GROWTH_WINDOWS = (("24h", timedelta(hours=24)), ("7d", timedelta(days=7)), ("30d", timedelta(days=30)))
PERCENT = Decimal("0.01")
SHARE_FUNNEL_DETAIL = (
    "All time, platform-wide: shares recorded from the share buttons, clean clicks on /r/ links (bot "
    "user agents and repeat clicks from one hashed IP within an hour are recorded but not counted), "
    "signups attributed to the platform and their completed PRO purchases."
)


@dataclass(frozen=True)
class TreeShape:
    members: int
    per_depth: dict[int, int]  # treebeard depth (roots are 1) -> members

    def funnel(self, levels: int) -> list[dict]:
        """Level k: members who have a k-th level upline (depth > k), i.e. the referral
        relationships at that level across the whole network."""
        return [
            {"level": k, "members": sum(n for depth, n in self.per_depth.items() if depth > k)}
            for k in range(1, levels + 1)
        ]

    def chain_depth(self) -> dict:
        """Uplines per member (0 for a root): average (2 places, rounded half-even) and max."""
        uplines = sum((depth - 1) * n for depth, n in self.per_depth.items())
        average = (Decimal(uplines) / Decimal(self.members)).quantize(PERCENT) if self.members else Decimal("0.00")
        return {
            "average": average,
            "max": max((depth - 1 for depth in self.per_depth), default=0),
            "roots": self.per_depth.get(1, 0),
        }


def tree_shape() -> TreeShape:
    per_depth = dict(Partner.objects.order_by().values("depth").annotate(n=Count("id")).values_list("depth", "n"))
    return TreeShape(members=sum(per_depth.values()), per_depth=per_depth)


def _change_pct(current: int, previous: int) -> Decimal | None:
    if not previous:
        return None  # growth from nothing has no percentage
    return (Decimal(current - previous) * 100 / Decimal(previous)).quantize(PERCENT)


def member_growth(*, now: datetime) -> list[dict]:
    """New members per window against the window before it ([now-2w, now-w))."""
    rows = []
    for name, width in GROWTH_WINDOWS:
        current = Partner.objects.filter(joined_at__gte=now - width, joined_at__lt=now).count()
        previous = Partner.objects.filter(joined_at__gte=now - 2 * width, joined_at__lt=now - width).count()
        rows.append({"window": name, "current": current, "previous": previous, "change_pct": _change_pct(current, previous)})
    return rows


def _per_day(queryset, field: str, days: list[date]) -> dict[date, int]:
    result = dict.fromkeys(days, 0)
    rows = (
        queryset.order_by()
        .annotate(bucket=TruncDate(field, tzinfo=UTC))
        .values("bucket")
        .annotate(n=Count("pk"))
        .values_list("bucket", "n")
    )
    for bucket, n in rows:
        bucket = bucket.date() if isinstance(bucket, datetime) else bucket
        if bucket in result:
            result[bucket] += n
    return result


def series_days(*, now: datetime, days: int) -> list[date]:
    """The last `days` UTC calendar days, today included, oldest first."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def daily_series(*, now: datetime, days: int, cutoff: datetime | None) -> list[dict]:
    span = series_days(now=now, days=days)
    start, end = day_start(span[0]), day_start(span[-1] + timedelta(days=1))
    signups = _per_day(Partner.objects.filter(joined_at__gte=start, joined_at__lt=end), "joined_at", span)
    checkins = dict.fromkeys(span, 0)
    for day, n in (
        CheckIn.objects.filter(day__gte=span[0], day__lte=span[-1])
        .order_by()
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    ):
        checkins[day] = n
    purchases = pro_purchases_daily(days=span, cutoff=cutoff)
    commissions = commission_daily(days=span, cutoff=cutoff)
    return [
        {
            "day": day,
            "signups": signups[day],
            "pro_purchases": purchases[day],
            "commissions_usdt": commissions[day]["paid"],
            "commission_reversals_usdt": -commissions[day]["reversed"],
            "checkins": checkins[day],
        }
        for day in span
    ]


def staff_stats(*, now: datetime | None = None, days: int = 30, top: int = 10) -> dict:
    """Every SPEC §13 figure. `days` (14 or 30) is the length of the daily series."""
    now = now or timezone.now()
    cutoff = commission_fold_cutoff()
    shape = tree_shape()
    by_level = commission_by_level(cutoff=cutoff)
    return {
        "generated_at": now,
        "days": days,
        "commissions": {
            **commission_totals(now=now, cutoff=cutoff),
            "total_reversed_all": sum((row["total_reversed"] for row in by_level), Decimal("0.000000")),
        },
        "commission_by_level": by_level,
        "top_earners": top_earners(top=top, cutoff=cutoff),
        "pro": pro_conversion(now=now, members=shape.members, cutoff=cutoff),
        "review_queues": review_queues(),
        "referral_funnel": shape.funnel(settings.REFERRAL_MAX_LEVELS),
        "chain_depth": shape.chain_depth(),
        "growth": member_growth(now=now),
        "daily": daily_series(now=now, days=days, cutoff=cutoff),
        "share_funnel": {"available": True, "detail": SHARE_FUNNEL_DETAIL, "platforms": share_funnel()},
        "summary": {
            "commissions_folded_through": commission_fold_watermark(),
            "fold_grace_minutes": settings.STATS_FOLD_GRACE_MINUTES,
            "source": "live",
        },
    }


# The default answers (14 and 30 days, top 10): what /staff/ opens with and dashboards poll.
SNAPSHOT_TOP = 10


def _snapshot_key(days: int) -> str:
    return f"staff-stats:snapshot:v1:{days}"


def staff_stats_snapshots_refresh() -> list[int]:
    """Beat, every STATS_SNAPSHOT_SECONDS: compute the default answers and keep them in the cache
    for at most STATS_SNAPSHOT_MAX_AGE_SECONDS, so staff requests read a finished answer instead
    of scanning millions of rows each time. Returns the series lengths refreshed."""
    for days in SERIES_DAYS:
        stats = staff_stats(days=days, top=SNAPSHOT_TOP)
        stats["summary"]["source"] = "snapshot"
        cache.set(_snapshot_key(days), stats, timeout=settings.STATS_SNAPSHOT_MAX_AGE_SECONDS)
    return list(SERIES_DAYS)


def staff_stats_current(*, days: int = 30, top: int = SNAPSHOT_TOP, fresh: bool = False) -> dict:
    """The stats answer staff get: the beat's snapshot of a default answer while it is younger
    than STATS_SNAPSHOT_MAX_AGE_SECONDS (`generated_at` says when it was computed), else, and for
    other parameters or `fresh`, computed now. A cache that is down reads as a miss."""
    if not fresh and top == SNAPSHOT_TOP and days in SERIES_DAYS:
        snapshot = cache.get(_snapshot_key(days))
        oldest = timezone.now() - timedelta(seconds=settings.STATS_SNAPSHOT_MAX_AGE_SECONDS)
        if snapshot is not None and snapshot["generated_at"] >= oldest:
            return snapshot
    return staff_stats(days=days, top=top)
