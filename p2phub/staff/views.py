"""`/staff/`: the staff dashboard (server-rendered). Anonymous visitors are sent to sign in;
signed-in non-staff get 403 (and a rate-limited security audit row, p2phub.staff.security)."""

from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from p2phub.staff import charts
from p2phub.staff.security import staff_access_denied
from p2phub.staff.selectors import SERIES_DAYS, staff_stats_current
from p2phub.staff.serializers import StatsQuerySerializer
from p2phub.staff.tables import TABLES

TABLE_TITLES = {
    "commissions": "Commissions paid",
    "commission_by_level": "Commissions by level",
    "top_earners": "Top earners",
    "pro": "PRO conversion",
    "review_queues": "Waiting for staff",
    "referral_funnel": "Referral funnel",
    "chain_depth": "Chain depth",
    "growth": "Growth",
    "daily": "Daily series",
    "share_funnel": "Share funnel per platform",
}


def _admin_links() -> dict[str, str]:
    return {
        "review_count": reverse("admin:payments_payment_changelist") + "?status__exact=under_review",
        "transfers_to_review": reverse("admin:payments_tontransfer_changelist") + "?resolved_at__isempty=1",
        "payouts_requested": reverse("admin:payments_payout_changelist") + "?status__exact=requested",
    }


def _charts(stats: dict) -> dict:
    daily = stats["daily"]
    days = [row["day"].strftime("%m-%d") for row in daily]
    levels = [f"L{row['level']}" for row in stats["commission_by_level"]]
    return {
        "activity": charts.line_chart(
            title="Signups, PRO purchases and check-ins per day",
            x_labels=days,
            series=[
                ("signups", [row["signups"] for row in daily]),
                ("PRO purchases", [row["pro_purchases"] for row in daily]),
                ("check-ins", [row["checkins"] for row in daily]),
            ],
        ),
        "commissions_daily": charts.bar_chart(
            title="Commissions paid per day (USDT)",
            labels=days,
            series=[("commissions USDT", [row["commissions_usdt"] for row in daily])],
        ),
        "by_level": charts.bar_chart(
            title="Commissions by level, all time (USDT)",
            labels=levels,
            series=[
                ("paid", [row["total_paid"] for row in stats["commission_by_level"]]),
                ("reversed", [row["total_reversed"] for row in stats["commission_by_level"]]),
            ],
        ),
        "funnel": charts.bar_chart(
            title="Referral funnel: members with an upline at each level",
            labels=[f"L{row['level']}" for row in stats["referral_funnel"]],
            series=[("members", [row["members"] for row in stats["referral_funnel"]])],
        ),
        "share_funnel": charts.bar_chart(
            title="Share funnel per platform, all time",
            labels=[row["label"] for row in stats["share_funnel"]["platforms"]],
            series=[
                (name, [row[key] for row in stats["share_funnel"]["platforms"]])
                for name, key in (("shares", "shares"), ("clicks", "clicks"), ("signups", "signups"), ("PRO", "pro_purchases"))
            ],
        ),
        "growth": charts.bar_chart(
            title="New members: this window against the previous one",
            labels=[row["window"] for row in stats["growth"]],
            series=[
                ("this window", [row["current"] for row in stats["growth"]]),
                ("previous window", [row["previous"] for row in stats["growth"]]),
            ],
        ),
    }


@require_GET
def dashboard(request):
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not user.is_staff:
        staff_access_denied(user=user, path=request.path, method=request.method)
        return render(request, "staff/forbidden.html", status=403)
    query = StatsQuerySerializer(data={key: request.GET[key] for key in ("days", "top") if key in request.GET})
    if not query.is_valid():
        return render(request, "staff/bad_request.html", {"errors": query.errors, "choices": SERIES_DAYS}, status=400)
    days = query.validated_data["days"]
    stats = staff_stats_current(days=days, top=query.validated_data["top"])
    api = reverse("staff-stats")
    tables = []
    for name, build in TABLES.items():
        columns, rows = build(stats)
        tables.append(
            {
                "name": name,
                "title": TABLE_TITLES[name],
                "columns": columns,
                "rows": rows,
                "csv": f"{api}?{urlencode({'format': 'csv', 'table': name, 'days': days})}",
            }
        )
    earners = [
        {**row, "admin_url": reverse("admin:partners_partner_change", args=[row["partner_id"]])}
        for row in stats["top_earners"]
    ]
    context = {
        "stats": stats,
        "days": days,
        "day_choices": SERIES_DAYS,
        "tables": {table["name"]: table for table in tables},
        "charts": _charts(stats),
        "earners": earners,
        "admin_links": _admin_links(),
        "json_url": f"{api}?{urlencode({'days': days})}",
        "conversion_pct": (stats["pro"]["pro_conversion_rate"] * 100).quantize(Decimal("0.01")),
    }
    return render(request, "staff/dashboard.html", context)
