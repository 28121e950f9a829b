"""Reads of payments, balances and commission figures. USDT balances are always sums of ledger
rows (one aggregate query), never a cached column, so they cannot drift from the ledger."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.models import AuditLog, EventType
from p2phub.ledgers import BalanceMismatch
from partners.models import Partner
from payments.models import Payment, Payout, TonTransfer, USDTEntry

ZERO = Decimal("0.000000")
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

    @property
    def held(self) -> Decimal:
        return self.balance - self.available


def usdt_balances(partner_id: int, *, now: datetime | None = None) -> USDTBalances:
    now = now or timezone.now()
    totals = USDTEntry.objects.filter(partner_id=partner_id).aggregate(
        balance=_sum(), available=_sum(available_at__lte=now), earned=_sum(kind__in=EARNING_KINDS)
    )
    return USDTBalances(balance=totals["balance"], available=totals["available"], total_earned=totals["earned"])


def usdt_profile_fields(partner: Partner) -> dict:
    balances = usdt_balances(partner.pk)
    return {
        "usdt_balance": balances.balance,
        "usdt_available": balances.available,
        "total_earned_usdt": balances.total_earned,
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


def commission_stats(*, now: datetime | None = None, top: int = 10) -> dict:
    """Staff figures (SPEC §13), all from the ledger and payments tables. Totals are gross
    commissions paid in the window; reversals are reported separately."""
    now = now or timezone.now()
    commission = USDTEntry.objects.filter(kind=USDTEntry.Kind.COMMISSION)
    totals = commission.aggregate(
        total_paid_24h=_sum(created_at__gte=now - timedelta(hours=24)),
        total_paid_7d=_sum(created_at__gte=now - timedelta(days=7)),
        total_paid_30d=_sum(created_at__gte=now - timedelta(days=30)),
        total_paid_all=_sum(),
    )
    reversed_all = USDTEntry.objects.filter(kind=USDTEntry.Kind.COMMISSION_REVERSAL).aggregate(total=_sum())["total"]
    per_level = {
        row["level"]: row
        for row in USDTEntry.objects.filter(kind__in=EARNING_KINDS)
        .order_by()
        .values("level")
        .annotate(
            paid=_sum(kind=USDTEntry.Kind.COMMISSION),
            reversed=_sum(kind=USDTEntry.Kind.COMMISSION_REVERSAL),
            count=Count("id", filter=Q(kind=USDTEntry.Kind.COMMISSION)),
        )
    }
    by_level = [
        {
            "level": level,
            "total_paid": per_level.get(level, {}).get("paid", ZERO),
            "total_reversed": -per_level.get(level, {}).get("reversed", ZERO),
            "count": per_level.get(level, {}).get("count", 0),
        }
        for level in range(1, len(settings.COMMISSION_RATES) + 1)
    ]
    earners = list(
        USDTEntry.objects.filter(kind__in=EARNING_KINDS)
        .order_by()
        .values("partner_id")
        .annotate(total=Sum("amount"))
        .filter(total__gt=0)
        .order_by("-total", "partner_id")[:top]
    )
    names = {p.pk: p.display_name for p in Partner.objects.filter(pk__in=[e["partner_id"] for e in earners])}
    members = Partner.objects.count()
    buyers = (
        Payment.objects.filter(status__in=(Payment.Status.COMPLETED, Payment.Status.REFUNDED))
        .values("partner_id")
        .distinct()
        .count()
    )
    return {
        **totals,
        "total_reversed_all": -reversed_all,
        "by_level": by_level,
        "top_earners": [
            {"partner_id": e["partner_id"], "name": names.get(e["partner_id"], ""), "total_earned": e["total"]}
            for e in earners
        ],
        "review_count": Payment.objects.filter(status=Payment.Status.UNDER_REVIEW).count(),
        "transfers_to_review": TonTransfer.objects.filter(
            status__in=TonTransfer.NEEDS_REVIEW, resolved_at__isnull=True
        ).count(),
        "payouts_requested": Payout.objects.filter(status=Payout.Status.REQUESTED).count(),
        "members": members,
        "pro_buyers": buyers,
        "active_pro": Partner.objects.filter(is_pro=True, pro_expires_at__gt=now).count(),
        # Share of all members who ever completed a PRO purchase.
        "pro_conversion_rate": (Decimal(buyers) / Decimal(members)).quantize(Decimal("0.0001")) if members else Decimal("0.0000"),
    }
