"""Reads of payments, balances and commission figures. USDT balances are always sums of ledger
rows (one aggregate query), never a cached column, so they cannot drift from the ledger."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, DecimalField, Exists, Min, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from audit.models import AuditLog, EventType
from p2phub.ledgers import BalanceMismatch
from partners.member_cache import EXPIRES_AT
from partners.models import Partner
from payments.models import (
    CommissionDay,
    PartnerEarning,
    Payment,
    PaymentDay,
    Payout,
    ProBuyer,
    StatsFold,
    TonTransfer,
    USDTEntry,
)

ZERO = Decimal("0.000000")
RATE = Decimal("0.0000")
COMMISSION_FOLD = "commissions"
_MONEY = DecimalField(max_digits=24, decimal_places=6)
EARNING_KINDS = (USDTEntry.Kind.COMMISSION, USDTEntry.Kind.COMMISSION_REVERSAL)
# Audit events whose signed USDT amount equals the ledger row they record.
LEDGER_AUDIT_EVENTS = (
    EventType.COMMISSION_PAID,
    EventType.COMMISSION_REVERSED,
    EventType.PAYOUT_REQUESTED,
    EventType.PAYOUT_REJECTED,
    EventType.USDT_CORRECTION,
)


def _sum(expression="amount", **filters):
    return Coalesce(Sum(expression, filter=Q(**filters) if filters else None), Value(ZERO), output_field=_MONEY)


@dataclass(frozen=True)
class USDTBalances:
    balance: Decimal  # every row: held commissions included, reservations deducted
    available: Decimal  # rows whose hold has passed: what can be withdrawn
    total_earned: Decimal  # commissions net of reversals
    next_release_at: datetime | None = None  # when the next held row becomes available

    @property
    def held(self) -> Decimal:
        return self.balance - self.available


def usdt_balances(partner_id: int, *, now: datetime | None = None) -> USDTBalances:
    now = now or timezone.now()
    totals = USDTEntry.objects.filter(partner_id=partner_id).aggregate(
        balance=_sum(), available=_sum(available_at__lte=now), earned=_sum(kind__in=EARNING_KINDS),
        next_release_at=Min("available_at", filter=Q(available_at__gt=now)),
    )
    return USDTBalances(
        balance=totals["balance"], available=totals["available"], total_earned=totals["earned"],
        next_release_at=totals["next_release_at"],
    )


def usdt_profile_fields(partner: Partner, *, new_member: bool = False) -> dict:
    balances = USDTBalances(ZERO, ZERO, ZERO) if new_member else usdt_balances(partner.pk)
    return {
        "usdt_balance": balances.balance,
        "usdt_available": balances.available,
        "total_earned_usdt": balances.total_earned,
        # Held commission becomes available at its date without any write.
        EXPIRES_AT: balances.next_release_at,
    }


def usdt_entries_for(partner: Partner) -> QuerySet[USDTEntry]:
    return USDTEntry.objects.filter(partner=partner).order_by("-id")


def usdt_find_mismatches() -> list[BalanceMismatch]:
    """Members whose ledger sum differs from the audited sum of their USDT movements."""
    ledger = dict(
        USDTEntry.objects.order_by().values("partner_id").annotate(total=Sum("amount")).values_list("partner_id", "total")
    )
    audited = dict(
        AuditLog.objects.filter(currency="USDT", event_type__in=LEDGER_AUDIT_EVENTS, partner_id__isnull=False)
        .order_by()
        .values("partner_id")
        .annotate(total=Sum("amount"))
        .values_list("partner_id", "total")
    )
    mismatches = []
    for partner_id in sorted(set(ledger) | set(audited)):
        ledger_sum = Decimal(ledger.get(partner_id) or 0).quantize(ZERO)
        audited_sum = Decimal(audited.get(partner_id) or 0).quantize(ZERO)
        if ledger_sum != audited_sum:
            mismatches.append(BalanceMismatch("USDT", partner_id, ledger_sum, audited_sum, "audit"))
    return mismatches


def payment_list(*, partner: Partner) -> QuerySet[Payment]:
    return Payment.objects.filter(partner=partner).order_by("-id")


def payout_list(*, partner: Partner) -> QuerySet[Payout]:
    return Payout.objects.filter(partner=partner).order_by("-id")


def pro_plan_summary(partner: Partner) -> dict:
    return {
        "plan": settings.PRO_PLAN_CODE,
        "price_usd": Decimal(settings.PRO_PRICE_USD),
        "duration_days": settings.PRO_DURATION_DAYS,
        "is_pro": partner.pro_active_at(timezone.now()),
        "pro_expires_at": partner.pro_expires_at,
    }


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def commission_fold_watermark() -> date | None:
    """The last UTC day folded into CommissionDay / PartnerEarning (None: nothing folded yet)."""
    return StatsFold.objects.filter(name=COMMISSION_FOLD).values_list("through", flat=True).first()


def commission_fold_cutoff() -> datetime | None:
    """Ledger rows created before this instant are in the summary tables; later ones are live."""
    through = commission_fold_watermark()
    return day_start(through + timedelta(days=1)) if through else None


def _live_sum(queryset) -> Decimal:
    return queryset.aggregate(total=_sum())["total"]


def commission_paid_since(start: datetime | None, *, cutoff: datetime | None, tail: Decimal | None = None) -> Decimal:
    """Gross commission paid at or after `start` (None: all time): the folded whole days inside
    the window plus the live rows around them (the window's first partial day, and everything
    after the fold cutoff). Exact whether or not a fold has run."""
    paid = USDTEntry.objects.filter(kind=USDTEntry.Kind.COMMISSION)
    if cutoff is None or (start is not None and start >= cutoff):
        return _live_sum(paid.filter(created_at__gte=start) if start else paid).quantize(ZERO)
    total = _live_sum(paid.filter(created_at__gte=cutoff)) if tail is None else tail
    days = CommissionDay.objects.all()
    if start is not None:
        first_full = _utc(start).date()
        if start != day_start(first_full):
            first_full += timedelta(days=1)
        total += _live_sum(paid.filter(created_at__gte=start, created_at__lt=day_start(first_full)))
        days = days.filter(day__gte=first_full)
    return (total + days.aggregate(total=_sum("paid"))["total"]).quantize(ZERO)


def commission_totals(*, now: datetime, cutoff: datetime | None) -> dict:
    """The four windows. With a fold: the live rows after the cutoff are summed once, each
    window's first partial day and its folded days once per window."""
    windows = {
        "total_paid_24h": now - timedelta(hours=24),
        "total_paid_7d": now - timedelta(days=7),
        "total_paid_30d": now - timedelta(days=30),
        "total_paid_all": None,
    }
    if cutoff is None:
        return {key: commission_paid_since(start, cutoff=None) for key, start in windows.items()}
    paid = USDTEntry.objects.filter(kind=USDTEntry.Kind.COMMISSION)
    tail = _live_sum(paid.filter(created_at__gte=cutoff))
    totals = {}
    for key, start in windows.items():
        if start is not None and start >= cutoff:
            totals[key] = _live_sum(paid.filter(created_at__gte=start)).quantize(ZERO)
        else:
            totals[key] = (commission_paid_since(start, cutoff=cutoff, tail=tail)).quantize(ZERO)
    return totals


def commission_by_level(*, cutoff: datetime | None) -> list[dict]:
    """Per level 1..9: gross paid, reversed (as a positive amount) and the number of commission
    rows, all time: folded days plus live rows."""
    levels = range(1, len(settings.COMMISSION_RATES) + 1)
    totals = {level: {"paid": ZERO, "reversed": ZERO, "count": 0} for level in levels}
    live = USDTEntry.objects.filter(kind__in=EARNING_KINDS)
    if cutoff is not None:
        live = live.filter(created_at__gte=cutoff)
        folded = (
            CommissionDay.objects.order_by()
            .values("level")
            .annotate(paid=_sum("paid"), reversed=_sum("reversed"), count=Sum("paid_count"))
        )
        for row in folded:
            if row["level"] in totals:
                for key in ("paid", "reversed", "count"):
                    totals[row["level"]][key] += row[key] or 0
    for row in (
        live.order_by()
        .values("level")
        .annotate(
            paid=_sum(kind=USDTEntry.Kind.COMMISSION),
            reversed=_sum(kind=USDTEntry.Kind.COMMISSION_REVERSAL),
            count=Count("id", filter=Q(kind=USDTEntry.Kind.COMMISSION)),
        )
    ):
        if row["level"] in totals:
            for key in ("paid", "reversed", "count"):
                totals[row["level"]][key] += row[key]
    return [
        {
            "level": level,
            "total_paid": totals[level]["paid"].quantize(ZERO),
            "total_reversed": (-totals[level]["reversed"]).quantize(ZERO),
            "count": totals[level]["count"],
        }
        for level in levels
    ]


def commission_daily(*, days: list[date], cutoff: datetime | None) -> dict[date, dict]:
    """{day: {"paid", "reversed"}} for each UTC day in `days` (reversed is negative or zero)."""
    result = {day: {"paid": ZERO, "reversed": ZERO} for day in days}
    if not days:
        return result
    live_from = day_start(days[0])
    if cutoff is not None and cutoff > live_from:
        for row in (
            CommissionDay.objects.filter(day__gte=days[0], day__lte=days[-1])
            .order_by()
            .values("day")
            .annotate(paid=_sum("paid"), reversed=_sum("reversed"))
        ):
            result[row["day"]] = {"paid": row["paid"], "reversed": row["reversed"]}
        live_from = cutoff
    live = (
        USDTEntry.objects.filter(
            kind__in=EARNING_KINDS, created_at__gte=live_from, created_at__lt=day_start(days[-1] + timedelta(days=1))
        )
        .order_by()
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(paid=_sum(kind=USDTEntry.Kind.COMMISSION), reversed=_sum(kind=USDTEntry.Kind.COMMISSION_REVERSAL))
    )
    for row in live:
        day = row["day"]
        if isinstance(day, datetime):  # some backends hand back a datetime for TruncDate
            day = day.date()
        if day in result:
            result[day] = {"paid": result[day]["paid"] + row["paid"], "reversed": result[day]["reversed"] + row["reversed"]}
    return {day: {key: value.quantize(ZERO) for key, value in sums.items()} for day, sums in result.items()}


def top_earners(*, top: int, cutoff: datetime | None) -> list[dict]:
    """The `top` members by commissions net of reversals, ties by partner id. With a fold: the
    folded totals plus the live rows; a member touched by live rows may climb or drop, so the
    candidates are every touched member and the top (top + dropped) folded members, where
    `dropped` counts touched members whose total went down — exact."""
    live = USDTEntry.objects.filter(kind__in=EARNING_KINDS).order_by()
    if cutoff is None:
        earners = [
            (row["total"], row["partner_id"])
            for row in live.values("partner_id")
            .annotate(total=Sum("amount"))
            .filter(total__gt=0)
            .order_by("-total", "partner_id")[:top]
        ]
    else:
        delta = {
            row["partner_id"]: row["total"]
            for row in live.filter(created_at__gte=cutoff).values("partner_id").annotate(total=Sum("amount"))
        }
        # Only a member whose total dropped can let one from below the folded top in.
        dropped = sum(1 for total in delta.values() if total < 0)
        folded = dict(
            PartnerEarning.objects.order_by("-total", "partner_id").values_list("partner_id", "total")[: top + dropped]
        )
        folded.update(PartnerEarning.objects.filter(partner_id__in=list(delta)).values_list("partner_id", "total"))
        totals = {pid: Decimal(folded.get(pid) or 0) + Decimal(delta.get(pid) or 0) for pid in set(folded) | set(delta)}
        earners = sorted(((t, pid) for pid, t in totals.items() if t > 0), key=lambda item: (-item[0], item[1]))[:top]
    names = {p.pk: p.display_name for p in Partner.objects.filter(pk__in=[pid for _, pid in earners])}
    return [
        {"partner_id": pid, "name": names.get(pid, ""), "total_earned": Decimal(total).quantize(ZERO)}
        for total, pid in earners
    ]


BOUGHT = (Payment.Status.COMPLETED, Payment.Status.REFUNDED)


def pro_buyer_count(*, cutoff: datetime | None) -> int:
    """Members who ever completed a PRO purchase: folded buyers plus new ones after the cutoff."""
    bought = Payment.objects.filter(status__in=BOUGHT).order_by()
    if cutoff is None:
        return bought.values("partner_id").distinct().count()
    new = (
        bought.filter(completed_at__gte=cutoff)
        # NOT EXISTS, not NOT IN: an anti-join, whatever the size of ProBuyer.
        .filter(~Exists(ProBuyer.objects.filter(partner_id=OuterRef("partner_id"))))
        .values("partner_id")
        .distinct()
        .count()
    )
    return ProBuyer.objects.count() + new


def pro_conversion(*, now: datetime, members: int, cutoff: datetime | None = None) -> dict:
    """Members who ever completed a PRO purchase (refunded ones included), as a share of all."""
    buyers = pro_buyer_count(cutoff=cutoff)
    return {
        "members": members,
        "pro_buyers": buyers,
        "active_pro": Partner.objects.filter(is_pro=True, pro_expires_at__gt=now).count(),
        "pro_conversion_rate": (Decimal(buyers) / Decimal(members)).quantize(RATE) if members else RATE,
    }


def review_queues() -> dict:
    """What waits for staff: USDT payments under review, TON transfers to look at, payouts."""
    return {
        "review_count": Payment.objects.filter(status=Payment.Status.UNDER_REVIEW).count(),
        "transfers_to_review": TonTransfer.objects.filter(
            status__in=TonTransfer.NEEDS_REVIEW, resolved_at__isnull=True
        ).count(),
        "payouts_requested": Payout.objects.filter(status=Payout.Status.REQUESTED).count(),
    }


def pro_purchases_daily(*, days: list[date], cutoff: datetime | None = None) -> dict[date, int]:
    """Completed PRO purchases per UTC day of completion (later refunds still count): folded
    days from PaymentDay, the rest live."""
    result = dict.fromkeys(days, 0)
    if not days:
        return result
    live_from = day_start(days[0])
    if cutoff is not None and cutoff > live_from:
        for day, purchases in PaymentDay.objects.filter(day__gte=days[0], day__lte=days[-1]).values_list("day", "purchases"):
            result[day] = purchases
        live_from = cutoff
    rows = (
        Payment.objects.filter(
            status__in=BOUGHT,
            completed_at__gte=live_from,
            completed_at__lt=day_start(days[-1] + timedelta(days=1)),
        )
        .order_by()
        .annotate(day=TruncDate("completed_at", tzinfo=UTC))
        .values("day")
        .annotate(count=Count("id"))
    )
    for row in rows:
        day = row["day"].date() if isinstance(row["day"], datetime) else row["day"]
        if day in result:
            result[day] += row["count"]
    return result


def commission_stats(*, now: datetime | None = None, top: int = 10) -> dict:
    """Staff figures (SPEC §13), all from the ledger and payments tables (plus the summary
    tables folded from the ledger). Totals are gross commissions paid in the window; reversals
    are reported separately."""
    now = now or timezone.now()
    cutoff = commission_fold_cutoff()
    by_level = commission_by_level(cutoff=cutoff)
    return {
        **commission_totals(now=now, cutoff=cutoff),
        "total_reversed_all": sum((row["total_reversed"] for row in by_level), ZERO),
        "by_level": by_level,
        "top_earners": top_earners(top=top, cutoff=cutoff),
        **review_queues(),
        **pro_conversion(now=now, members=Partner.objects.count(), cutoff=cutoff),
    }
