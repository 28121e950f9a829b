"""/api/v1/staff/stats/ against figures computed by hand from the `stats_world` data set
(see conftest.py), before and after the summary fold, and every table as CSV."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from audit.models import AuditLog, EventType
from p2phub.staff.tables import TABLES
from payments.models import CommissionDay, PartnerEarning, PaymentDay, ProBuyer
from payments.services import commission_stats_fold

pytestmark = pytest.mark.django_db
URL = "/api/v1/staff/stats/"

# Commission plan on 39 USD: L1 11.70, L2 1.95, L3 1.17, L4..L9 0.39 (17.16 in all).
# P1 (40 days ago, refunded 5 days ago) and P2 (10 days ago): A10 buys, A9..A1 are L1..L9.
# P3 (2 hours ago): A5 buys, A4..A1 are L1..L4 (11.70 + 1.95 + 1.17 + 0.39 = 15.21).
EXPECTED_COMMISSIONS = {
    "total_paid_24h": "15.210000",  # P3
    "total_paid_7d": "15.210000",  # P3
    "total_paid_30d": "32.370000",  # P2 + P3
    "total_paid_all": "49.530000",  # P1 + P2 + P3
    "total_reversed_all": "17.160000",  # P1
}
EXPECTED_BY_LEVEL = [
    # level, paid (P1 + P2 + P3 where it reaches), reversed (P1), commission rows
    (1, "35.100000", "11.700000", 3),
    (2, "5.850000", "1.950000", 3),
    (3, "3.510000", "1.170000", 3),
    (4, "1.170000", "0.390000", 3),
    (5, "0.780000", "0.390000", 2),
    (6, "0.780000", "0.390000", 2),
    (7, "0.780000", "0.390000", 2),
    (8, "0.780000", "0.390000", 2),
    (9, "0.780000", "0.390000", 2),
]
# Net per member: A4 = 11.70 (L1 of P3) + 0.39 (L6 of P2; P1's cancelled) = 12.09; A9 = 11.70
# (P2); A3 = 1.95 + 0.39 = 2.34; A8 = 1.95; A2 = 1.17 + 0.39 = 1.56; A7 = 1.17; A1 = 0.39 +
# 0.39 = 0.78; A5 and A6 0.39 each (tie: lower id first).
EXPECTED_TOP = [(3, "12.090000"), (8, "11.700000"), (2, "2.340000"), (7, "1.950000"), (1, "1.560000"),
                (6, "1.170000"), (0, "0.780000"), (4, "0.390000"), (5, "0.390000")]
# Depths (roots 1): A1..A10 1..10, B5 11, B1 1, B2 2, B3 2, B4 3. Level k = members deeper than k.
EXPECTED_FUNNEL = [13, 10, 8, 7, 6, 5, 4, 3, 2]
# Uplines 0..9 (A) + 10 (B5) + 0, 1, 1, 2 (B) = 59 over 15 members = 3.9333 -> 3.93.
EXPECTED_DEPTH = {"average": "3.93", "max": 10, "roots": 2}
EXPECTED_GROWTH = [
    {"window": "24h", "current": 2, "previous": 1, "change_pct": "100.00"},  # B3, B4 vs B5
    {"window": "7d", "current": 4, "previous": 0, "change_pct": None},  # B2..B5 vs nobody
    {"window": "30d", "current": 5, "previous": 10, "change_pct": "-50.00"},  # B1..B5 vs A1..A10
]
# Non-zero days of the 30-day series (2026-02-19 .. 2026-03-20).
EXPECTED_DAILY = {
    "2026-02-28": {"signups": 1},  # B1
    "2026-03-10": {"pro_purchases": 1, "commissions_usdt": "17.160000"},  # P2
    "2026-03-14": {"signups": 1},  # B2
    "2026-03-15": {"commission_reversals_usdt": "17.160000"},  # P1 refunded
    "2026-03-18": {"checkins": 1},
    "2026-03-19": {"signups": 1, "checkins": 1},  # B5
    "2026-03-20": {"signups": 2, "pro_purchases": 1, "commissions_usdt": "15.210000", "checkins": 2},
}
# Shares, clean clicks, all clicks, signups, PRO purchases, PRO buyers per platform (non-zero rows).
# B1's WhatsApp link: 4 clicks, the repeat from one IP and the bot not counted. Every join of the
# data set came through a plain code ("direct"): A2..A10, B2..B5; completed PRO: P2 (A10), P3 (A5).
SHARE_COLUMNS = ("shares", "clicks", "clicks_total", "signups", "pro_purchases", "pro_members")
EXPECTED_SHARE = {"whatsapp": (2, 2, 4, 0, 0, 0), "telegram": (1, 0, 0, 0, 0, 0), "direct": (0, 0, 0, 13, 2, 2)}
ZERO_DAY = {"signups": 0, "pro_purchases": 0, "commissions_usdt": "0.000000", "commission_reversals_usdt": "0.000000", "checkins": 0}


def expected_daily(days: int) -> list[dict]:
    start = date(2026, 3, 20) - timedelta(days=days - 1)
    return [
        {"day": (day := start + timedelta(days=i)).isoformat(), **ZERO_DAY, **EXPECTED_DAILY.get(day.isoformat(), {})}
        for i in range(days)
    ]


def assert_hand_computed(data: dict, w, *, days: int = 30) -> None:
    assert data["commissions"] == EXPECTED_COMMISSIONS
    assert [(r["level"], r["total_paid"], r["total_reversed"], r["count"]) for r in data["commission_by_level"]] == EXPECTED_BY_LEVEL
    assert [(r["partner_id"], r["total_earned"]) for r in data["top_earners"]] == [(w.a[i].pk, t) for i, t in EXPECTED_TOP]
    assert data["top_earners"][0]["name"] == w.a[3].display_name
    assert data["pro"] == {"members": 15, "pro_buyers": 2, "active_pro": 2, "pro_conversion_rate": "0.1333"}
    assert data["review_queues"] == {"review_count": 1, "transfers_to_review": 0, "payouts_requested": 0}
    assert data["referral_funnel"] == [{"level": k, "members": n} for k, n in enumerate(EXPECTED_FUNNEL, 1)]
    assert data["chain_depth"] == EXPECTED_DEPTH
    assert data["growth"] == EXPECTED_GROWTH
    assert data["daily"] == expected_daily(days)
    assert data["share_funnel"]["available"] is True
    assert {row["platform"]: tuple(row[k] for k in SHARE_COLUMNS) for row in data["share_funnel"]["platforms"] if any(row[k] for k in SHARE_COLUMNS)} == EXPECTED_SHARE


def test_every_figure_matches_the_hand_computed_values(stats_world, staff_client):
    response = staff_client.get(URL)
    assert response.status_code == 200, response.content
    assert response.json()["summary"]["commissions_folded_through"] is None
    assert_hand_computed(response.json(), stats_world)


def test_the_14_day_series_and_a_shorter_top_list(stats_world, staff_client):
    data = staff_client.get(URL, {"days": 14, "top": 3}).json()
    assert data["daily"] == expected_daily(14)
    assert [r["partner_id"] for r in data["top_earners"]] == [stats_world.a[i].pk for i, _ in EXPECTED_TOP[:3]]


def test_figures_are_the_same_from_the_summary_tables_after_a_fold(stats_world, staff_client):
    # Folds every closed day up to 2026-03-19; P3 (today) and the window edges stay live.
    assert commission_stats_fold() == 40  # 2026-02-08 .. 2026-03-19
    assert commission_stats_fold() == 0  # idempotent
    assert CommissionDay.objects.filter(day=date(2026, 3, 10)).count() == 9
    assert PartnerEarning.objects.get(partner=stats_world.a[8]).total == Decimal("11.700000")
    # PRO buyers folded through yesterday: A10 (P1, P2); A5 bought today (P3) and is live.
    assert list(ProBuyer.objects.values_list("partner_id", flat=True)) == [stats_world.a[9].pk]
    assert dict(PaymentDay.objects.values_list("day", "purchases")) == {date(2026, 2, 8): 1, date(2026, 3, 10): 1}
    data = staff_client.get(URL).json()
    assert data["summary"]["commissions_folded_through"] == "2026-03-19"
    assert_hand_computed(data, stats_world)


def test_commission_stats_endpoint_reuses_the_same_figures(stats_world, staff_client):
    commission_stats_fold()
    data = staff_client.get(reverse("staff-commission-stats")).json()
    assert {k: data[k] for k in EXPECTED_COMMISSIONS} == EXPECTED_COMMISSIONS
    assert data["pro_conversion_rate"] == "0.1333" and data["review_count"] == 1


def parse_csv(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_every_table_as_csv_parses_back_to_the_json_numbers(stats_world, staff_client):
    data = staff_client.get(URL).json()
    tables = {name: parse_csv(staff_client.get(URL, {"format": "csv", "table": name})) for name in TABLES}
    assert {r["window"]: Decimal(r["total_paid_usdt"]) for r in tables["commissions"]} == {
        w: Decimal(data["commissions"][f"total_paid_{w}"]) for w in ("24h", "7d", "30d", "all")
    }
    assert [(int(r["level"]), r["total_paid_usdt"], r["total_reversed_usdt"], int(r["count"])) for r in tables["commission_by_level"]] == EXPECTED_BY_LEVEL
    assert [(int(r["partner_id"]), r["total_earned_usdt"]) for r in tables["top_earners"]] == [
        (stats_world.a[i].pk, t) for i, t in EXPECTED_TOP
    ]
    assert [int(r["rank"]) for r in tables["top_earners"]] == list(range(1, 10))
    assert {r["metric"]: r["value"] for r in tables["pro"]} == {k: str(v) for k, v in data["pro"].items()}
    assert {r["queue"]: int(r["count"]) for r in tables["review_queues"]} == data["review_queues"]
    assert [int(r["members"]) for r in tables["referral_funnel"]] == EXPECTED_FUNNEL
    assert {r["metric"]: r["value"] for r in tables["chain_depth"]} == {"average": "3.93", "max": "10", "roots": "2"}
    assert [
        {"window": r["window"], "current": int(r["current"]), "previous": int(r["previous"]), "change_pct": r["change_pct"] or None}
        for r in tables["growth"]
    ] == EXPECTED_GROWTH
    assert [
        {**r, **{k: int(r[k]) for k in ("signups", "pro_purchases", "checkins")}} for r in tables["daily"]
    ] == expected_daily(30)
    assert {
        r["platform"]: tuple(int(r[k]) for k in SHARE_COLUMNS) for r in tables["share_funnel"] if any(int(r[k]) for k in SHARE_COLUMNS)
    } == EXPECTED_SHARE


def test_csv_cells_that_look_like_formulas_are_defused(stats_world, staff_client):
    from partners.models import Partner

    Partner.objects.filter(pk=stats_world.a[3].pk).update(first_name="=HYPERLINK(1)", last_name="")
    rows = parse_csv(staff_client.get(URL, {"format": "csv", "table": "top_earners"}))
    assert rows[0]["name"] == "'=HYPERLINK(1)" and rows[0]["total_earned_usdt"] == "12.090000"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"days": "7"}, "days"),
        ({"days": "abc"}, "days"),
        ({"top": "0"}, "top"),
        ({"top": "101"}, "top"),
        ({"top": "1e3"}, "top"),
        ({"format": "xml"}, "format"),
        ({"format": "csv"}, "table"),
        ({"format": "csv", "table": "nope"}, "table"),
    ],
)
def test_bad_query_parameters_are_a_400_naming_the_field(staff_client, params, field):
    response = staff_client.get(URL, params)
    assert response.status_code == 400
    assert field in response.json()


def test_a_member_gets_403_and_the_denial_is_audited(tma_client, staff_client):
    from partners.tests.factories import PartnerFactory

    member = PartnerFactory()
    response = tma_client(member).get(URL)
    assert response.status_code == 403
    row = AuditLog.objects.filter(event_type=EventType.SECURITY_STAFF_DENIED).get()
    assert row.partner_id == member.pk and row.metadata["path"] == URL


def test_anonymous_callers_get_401(api_client):
    assert api_client.get(URL).status_code == 401


def test_repeated_denials_write_one_row_per_window_and_count_the_rest(tma_client):
    import time_machine
    from django.utils import timezone

    from partners.tests.factories import PartnerFactory

    member = PartnerFactory()
    client = tma_client(member)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(5):
            assert client.get(URL).status_code == 403
        assert client.get("/api/v1/staff/audit-logs/").status_code == 403
        assert AuditLog.objects.filter(event_type=EventType.SECURITY_STAFF_DENIED).count() == 1
        clock.shift(timedelta(minutes=11))
        assert client.get(URL).status_code == 403
    rows = list(AuditLog.objects.filter(event_type=EventType.SECURITY_STAFF_DENIED).order_by("id"))
    assert len(rows) == 2
    assert rows[0].metadata["suppressed_before"] is None and rows[1].metadata["suppressed_before"] == 5


@pytest.mark.parametrize("top", [1, 3, 9, 20])
def test_top_earners_from_the_fold_equal_the_live_ledger_when_live_rows_lower_a_leader(stats_world, staff_user, top):
    from payments.selectors import commission_fold_cutoff, top_earners
    from payments.services import payment_refund

    commission_stats_fold()
    payment_refund(payment_id=stats_world.p2.pk, actor=staff_user)  # today: A9 falls to 0, others drop
    cutoff = commission_fold_cutoff()
    assert cutoff is not None
    assert top_earners(top=top, cutoff=cutoff) == top_earners(top=top, cutoff=None)
    assert stats_world.a[8].pk not in [row["partner_id"] for row in top_earners(top=20, cutoff=cutoff)]


def test_beats_snapshot_is_served_until_it_is_too_old_and_fresh_computes_now(
    stats_world, staff_client, staff_user, client, settings, monkeypatch
):
    import time_machine
    from django.utils import timezone

    from p2phub.staff import selectors
    from p2phub.staff.tasks import staff_stats_snapshots_refresh_task

    assert staff_client.get(URL).json()["summary"]["source"] == "live"  # no snapshot yet
    assert staff_stats_snapshots_refresh_task() == [14, 30]
    snapshot = staff_client.get(URL).json()
    assert snapshot["summary"]["source"] == "snapshot"
    assert_hand_computed(snapshot, stats_world)  # the same figures as computed live
    assert staff_client.get(URL, {"days": 14}).json()["summary"]["source"] == "snapshot"

    def no_live_answers(**kwargs):
        raise AssertionError("computed live")

    monkeypatch.setattr(selectors, "staff_stats", no_live_answers)
    assert staff_client.get(URL, {"format": "csv", "table": "daily"}).status_code == 200  # CSV from it too
    client.force_login(staff_user)
    assert "49.53" in client.get("/staff/").content.decode()  # the dashboard reads it as well
    monkeypatch.undo()
    assert staff_client.get(URL, {"fresh": "true"}).json()["summary"]["source"] == "live"
    assert staff_client.get(URL, {"top": 3}).json()["summary"]["source"] == "live"  # not a default answer
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.STATS_SNAPSHOT_MAX_AGE_SECONDS + 1), tick=False):
        assert staff_client.get(URL).json()["summary"]["source"] == "live"  # too old: never served
