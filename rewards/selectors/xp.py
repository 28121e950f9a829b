"""Exact XP balances: folded balance + unfolded deltas, read in one statement so a concurrent
fold (which moves deltas into the balance in one transaction) can never be half-seen."""

from django.db import connection
from django.db.models import BigIntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from partners.models import Partner
from rewards.levels import level_for_xp, level_summary
from rewards.models import XPBalance, XPDelta, XPEntry


def _xp_expression():
    folded = Subquery(XPBalance.objects.filter(partner_id=OuterRef("pk")).values("xp")[:1])
    unfolded = Subquery(
        XPDelta.objects.filter(partner_id=OuterRef("pk"))
        .order_by()
        .values("partner_id")
        .annotate(total=Sum("amount"))
        .values("total")[:1]
    )
    return Coalesce(folded, Value(0), output_field=BigIntegerField()) + Coalesce(
        unfolded, Value(0), output_field=BigIntegerField()
    )


def partners_with_xp(queryset: QuerySet[Partner] | None = None) -> QuerySet[Partner]:
    """Annotates `xp` (exact) on any partner queryset."""
    return (queryset if queryset is not None else Partner.objects.all()).annotate(xp=_xp_expression())


def xp_balance(partner_id: int) -> int:
    return xp_balances([partner_id]).get(partner_id, 0)


def xp_balances(partner_ids) -> dict[int, int]:
    """{partner_id: exact XP} in one statement (so a concurrent fold is seen whole or not at
    all). Hand-written SQL: this read sits on every award and profile, and building the
    equivalent ORM subquery annotation cost more than running it."""
    ids = sorted({int(pk) for pk in partner_ids})
    if not ids:
        return {}
    placeholders = ", ".join(["%s"] * len(ids))
    balance, delta = XPBalance._meta.db_table, XPDelta._meta.db_table
    sql = (
        f"SELECT partner_id, SUM(xp) FROM ("
        f"SELECT partner_id, xp FROM {balance} WHERE partner_id IN ({placeholders}) "
        f"UNION ALL SELECT partner_id, amount FROM {delta} WHERE partner_id IN ({placeholders})"
        f") AS parts GROUP BY partner_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ids + ids)
        found = {pk: int(total) for pk, total in cursor.fetchall()}
    return {pk: found.get(pk, 0) for pk in ids}


def xp_ledger_sum(partner_id: int) -> int:
    return XPEntry.objects.filter(partner_id=partner_id).aggregate(total=Sum("amount"))["total"] or 0


def xp_profile_fields(partner: Partner, *, new_member: bool = False) -> dict:
    return level_summary(0 if new_member else xp_balance(partner.pk))


def xp_member_list_fields(partners: list[Partner]) -> dict[int, dict]:
    return {pk: {"xp_level": level_for_xp(xp)} for pk, xp in xp_balances(p.pk for p in partners).items()}


def xp_entries_for(partner: Partner) -> QuerySet[XPEntry]:
    return XPEntry.objects.filter(partner=partner).order_by("-id")
