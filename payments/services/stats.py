"""Folding the commission ledger and PRO purchases into the staff summary tables (CommissionDay,
PartnerEarning, PaymentDay, ProBuyer).

Celery beat runs `commission_stats_fold` every few minutes. It folds whole UTC days, oldest
first, each in its own transaction that also moves the `StatsFold` watermark, so a day is folded
exactly once whatever retries or overlapping runs happen (the watermark row is locked). A day is
folded only once it has been over for `STATS_FOLD_GRACE_MINUTES`, so a transaction that was
still open at midnight has committed its rows by then. The selectors add the live ledger rows
after the watermark, so every figure is exact at any moment, folded or not.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from payments.models import CommissionDay, PartnerEarning, Payment, PaymentDay, ProBuyer, StatsFold, USDTEntry
from payments.selectors import COMMISSION_FOLD as FOLD_NAME
from payments.selectors import EARNING_KINDS, day_start
from payments.services.common import usdt


def _last_closed_day(now: datetime) -> date:
    grace = timedelta(minutes=settings.STATS_FOLD_GRACE_MINUTES)
    return (now - grace).astimezone(UTC).date() - timedelta(days=1)


BOUGHT = (Payment.Status.COMPLETED, Payment.Status.REFUNDED)


def _fold_purchases(day: date) -> None:
    bought = Payment.objects.filter(
        status__in=BOUGHT, completed_at__gte=day_start(day), completed_at__lt=day_start(day + timedelta(days=1))
    ).order_by()
    buyers = list(bought.values_list("partner_id", flat=True).distinct())
    if buyers:
        PaymentDay.objects.create(day=day, purchases=bought.count())
        for start in range(0, len(buyers), 5000):
            ProBuyer.objects.bulk_create(
                [ProBuyer(partner_id=pid, first_purchase_day=day) for pid in buyers[start : start + 5000]],
                ignore_conflicts=True,  # bought before: the first day stays
            )


def _fold_day(day: date) -> None:
    _fold_purchases(day)
    rows = USDTEntry.objects.filter(
        kind__in=EARNING_KINDS, created_at__gte=day_start(day), created_at__lt=day_start(day + timedelta(days=1))
    ).order_by()
    per_level = rows.values("level").annotate(
        paid=Sum("amount", filter=Q(kind=USDTEntry.Kind.COMMISSION)),
        reversed=Sum("amount", filter=Q(kind=USDTEntry.Kind.COMMISSION_REVERSAL)),
        paid_count=Count("id", filter=Q(kind=USDTEntry.Kind.COMMISSION)),
    )
    CommissionDay.objects.bulk_create(
        [
            CommissionDay(
                day=day,
                level=row["level"],
                paid=usdt(row["paid"] or 0),
                reversed=usdt(row["reversed"] or 0),
                paid_count=row["paid_count"],
            )
            for row in per_level
            if row["level"] is not None
        ]
    )
    per_partner = {row["partner_id"]: row["total"] for row in rows.values("partner_id").annotate(total=Sum("amount"))}
    ids = sorted(per_partner)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        known = dict(PartnerEarning.objects.filter(partner_id__in=chunk).values_list("partner_id", "total"))
        PartnerEarning.objects.bulk_create(
            [
                PartnerEarning(partner_id=pid, total=usdt(known.get(pid, Decimal(0)) + usdt(per_partner[pid])))
                for pid in chunk
            ],
            update_conflicts=True,
            unique_fields=["partner"],
            update_fields=["total"],
        )


def commission_stats_fold(*, now: datetime | None = None, max_days: int = 400) -> int:
    """Fold every closed, not yet folded UTC day (at most `max_days` per run); returns how many
    days were folded. Idempotent and safe to run concurrently (the watermark row is locked)."""
    now = now or timezone.now()
    last_closed = _last_closed_day(now)
    folded = 0
    while folded < max_days:
        with transaction.atomic():
            fold = StatsFold.objects.select_for_update().filter(name=FOLD_NAME).first()
            if fold is None:
                firsts = [
                    USDTEntry.objects.filter(kind__in=EARNING_KINDS).aggregate(first=Min("created_at"))["first"],
                    Payment.objects.filter(status__in=BOUGHT).aggregate(first=Min("completed_at"))["first"],
                ]
                first = min((moment for moment in firsts if moment is not None), default=None)
                if first is None:
                    return folded
                first_day = first.astimezone(UTC).date()
                if first_day > last_closed:
                    return folded
                # Created, then locked: a concurrent first run waits here and re-reads it.
                StatsFold.objects.get_or_create(name=FOLD_NAME, defaults={"through": first_day - timedelta(days=1)})
                fold = StatsFold.objects.select_for_update().get(name=FOLD_NAME)
            day = fold.through + timedelta(days=1)
            if day > last_closed:
                return folded
            _fold_day(day)
            fold.through, fold.folded_at = day, timezone.now()
            fold.save(update_fields=["through", "folded_at"])
        folded += 1
    return folded

