"""Staff stats benchmark (PostgreSQL): builds 1,000,000 members and 5,000,000 USDT ledger rows
(plus payments and check-ins) with COPY and generate_series, then times each figure of
/api/v1/staff/stats/ cold and warm, before and after the summary fold, and the whole endpoint.

Run: make bench-stats (DATABASE_URL=postgres://... .venv/bin/python bench/stats.py)
BENCH_STATS_SKIP_LIVE=1 skips the (slow) measurement before the fold.
Sizes: BENCH_STATS_MEMBERS (1000000), BENCH_STATS_LEDGER_ROWS (5000000), BENCH_STATS_CHECKINS
(1000000). A scratch database (BENCH_SCRATCH_DB, default p2phub_bench_stats_<db>) is dropped,
created and migrated on every run; the database the URL names is left alone.

"Cold" is the first call on a fresh database connection (no plan or catalog cache in the
backend; the data pages may still be in PostgreSQL's and the OS's caches, which are shared with
whatever else runs here); "warm" is the median of the next five calls.
"""

import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p2phub.settings")

from scratch_db import recreate_database, scratch_database  # noqa: E402

_maintenance_url, _scratch_name, _scratch_url = scratch_database(os.environ.get("DATABASE_URL", ""), "stats")
if os.environ.get("BENCH_SCRATCH_DB"):
    _scratch_name = os.environ["BENCH_SCRATCH_DB"]
    _scratch_url = urlunparse(urlparse(_scratch_url)._replace(path=f"/{_scratch_name}"))
# BENCH_STATS_REUSE=1 keeps a scratch database loaded by an earlier run (re-times only).
REUSE = bool(os.environ.get("BENCH_STATS_REUSE"))
if not REUSE:
    recreate_database(_maintenance_url, _scratch_name)
os.environ["DATABASE_URL"] = _scratch_url
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from p2phub.staff import selectors as staff  # noqa: E402
from payments import selectors as pay  # noqa: E402
from payments.services import commission_stats_fold  # noqa: E402

MEMBERS = int(os.environ.get("BENCH_STATS_MEMBERS", "1000000"))
LEDGER_ROWS = int(os.environ.get("BENCH_STATS_LEDGER_ROWS", "5000000"))
CHECKINS = int(os.environ.get("BENCH_STATS_CHECKINS", "1000000"))
ROOTS, FANOUT = 100, 4  # 100 roots, then a 4-ary tree: depths 1..10, most members at 8-10
DAYS = 365
NOW = datetime.now(UTC).replace(microsecond=0)
START = NOW - timedelta(days=DAYS)
RATES = [Decimal(r) for r in ("11.70", "1.95", "1.17", "0.39", "0.39", "0.39", "0.39", "0.39", "0.39")]
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
rng = random.Random(12)


def b36(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = ALPHABET[r] + out
    return out.rjust(4, "0")


def parent_of(i: int) -> int | None:
    return None if i <= ROOTS else (i - ROOTS - 1) // FANOUT + 1


def joined(i: int) -> datetime:
    return START + timedelta(seconds=(DAYS * 86400 - 3600) * i / MEMBERS)


def ts(moment: datetime) -> str:
    return moment.isoformat()


class IndexesDropped:
    """Bulk load without index maintenance: drop a table's secondary indexes and unique/check
    constraints (not the primary key, not foreign keys), then recreate them from their saved
    definitions — the usual way to COPY millions of rows quickly."""

    def __init__(self, cur, table: str):
        self.cur, self.table = cur, table

    def __enter__(self):
        cur, table = self.cur, self.table
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('u', 'c')",
            [table],
        )
        self.constraints = cur.fetchall()
        for name, _ in self.constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cur.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND i.indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p')",
            [table, table],
        )
        self.indexes = cur.fetchall()
        for name, _ in self.indexes:
            cur.execute(f'DROP INDEX "{name}"')
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            for _, definition in self.indexes:
                self.cur.execute(definition)
            for name, definition in self.constraints:
                self.cur.execute(f'ALTER TABLE {self.table} ADD CONSTRAINT "{name}" {definition}')
        return False


def load_members(cur) -> list[int]:
    depth = [0] * (MEMBERS + 1)
    path = [""] * (MEMBERS + 1)
    numchild = [0] * (MEMBERS + 1)
    for i in range(1, MEMBERS + 1):
        p = parent_of(i)
        if p is None:
            depth[i], path[i] = 1, b36(i)
        else:
            depth[i], path[i] = depth[p] + 1, path[p] + b36((i - ROOTS - 1) % FANOUT + 1)
            numchild[p] += 1
    columns = (
        "id, depth, numchild, path, telegram_id, username, first_name, last_name, language, photo_url, referral_code, "
        "is_pro, pro_expires_at, status, fraud_hold, notifications_enabled, leaderboard_visibility, joined_at, updated_at, referrer_id"
    )
    with cur.copy(f"COPY partners_partner ({columns}) FROM STDIN") as copy:
        for i in range(1, MEMBERS + 1):
            pro = i % 20 == 0
            at = joined(i)
            copy.write_row((
                i, depth[i], numchild[i], path[i], 10_000_000_000 + i, f"m{i}", "Member", str(i), "en", "", f"P2P-{i:08X}",
                pro, ts(NOW + timedelta(days=(i % 30) - 10)) if pro else None, "banned" if i % 100 == 0 else "active",
                False, True, "visible", ts(at), ts(at), parent_of(i),
            ))
    cur.execute("SELECT setval(pg_get_serial_sequence('partners_partner', 'id'), %s)", [MEMBERS])
    return depth


def load_payments_and_ledger(cur, depth: list[int]) -> tuple[int, int]:
    """Completed PRO payments of random members with an upline, 9 commission rows each (as
    many levels as the buyer has), 2% refunded (reversal rows), until LEDGER_ROWS rows."""
    payments, rows = [], 0
    while rows < LEDGER_ROWS:
        buyer = rng.randint(ROOTS + 1, MEMBERS)
        levels = min(depth[buyer] - 1, 9)
        refunded = rng.random() < 0.02
        rows += levels * (2 if refunded else 1)
        payments.append((buyer, levels, refunded))
    payment_columns = (
        "id, method, status, plan, duration_days, price_usd, amount, currency, memo, address, expires_at, tx_hash, review_reason, "
        "decision_note, created_at, completed_at, refunded_at, updated_at, partner_id"
    )
    ledger_columns = (
        "amount, kind, level, rate, base_amount, available_at, idempotency_key, metadata, created_at, partner_id, payment_id, "
        "related_partner_id"
    )
    completions = []
    with cur.copy(f"COPY payments_payment ({payment_columns}) FROM STDIN") as copy:
        for pid, (buyer, _, refunded) in enumerate(payments, 1):
            start = joined(buyer)
            done = start + (NOW - start) * rng.random()
            refund_at = done + (NOW - done) * rng.random() if refunded else None
            completions.append((done, refund_at))
            copy.write_row((
                pid, "USDT", "refunded" if refunded else "completed", "PRO_MONTHLY", 30, "39.00", "39.000000000", "USDT",
                f"B{pid:09X}", "T" * 34, ts(done + timedelta(minutes=30)), f"bench{pid}", "", "", ts(done - timedelta(minutes=5)),
                ts(done), ts(refund_at) if refund_at else None, ts(done), buyer,
            ))
        for extra in range(1, 301):  # USDT payments waiting for review
            pid = len(payments) + extra
            copy.write_row((
                pid, "USDT", "under_review", "PRO_MONTHLY", 30, "39.00", "39.000000000", "USDT", f"R{pid:09X}", "T" * 34,
                ts(NOW + timedelta(minutes=30)), f"review{pid}", "usdt_submitted", "", ts(NOW), None, None, ts(NOW),
                rng.randint(1, MEMBERS),
            ))
    cur.execute("SELECT setval(pg_get_serial_sequence('payments_payment', 'id'), %s)", [len(payments) + 300])
    with cur.copy(f"COPY payments_usdtentry ({ledger_columns}) FROM STDIN") as copy:
        for pid, ((buyer, levels, refunded), (done, refund_at)) in enumerate(zip(payments, completions, strict=True), 1):
            recipient = buyer
            for level in range(1, levels + 1):
                recipient = parent_of(recipient)
                amount = RATES[level - 1]
                copy.write_row((
                    amount, "commission", level, f"{amount / 39:.4f}", "39.00", ts(done + timedelta(days=7)), f"c:{pid}:{level}",
                    "{}", ts(done), recipient, pid, buyer,
                ))
                if refunded:
                    copy.write_row((
                        -amount, "commission_reversal", level, None, None, ts(refund_at), f"r:{pid}:{level}", "{}", ts(refund_at),
                        recipient, pid, buyer,
                    ))
    return len(payments), rows


def load_checkins(cur) -> None:
    cur.execute(
        """
        INSERT INTO rewards_checkin (day, streak, xp, bonus_xp, was_pro, created_at, partner_id)
        SELECT (%(today)s::date - (g %% 60)), 1, 10, 0, false, (%(today)s::date - (g %% 60)) + time '08:00',
               1 + (g::bigint * 7919) %% %(members)s
        FROM generate_series(1, %(n)s) AS g
        ON CONFLICT DO NOTHING
        """,
        {"today": NOW.date(), "members": MEMBERS, "n": CHECKINS},
    )


FIGURES = {
    "commission totals 24h/7d/30d/all": lambda cut: pay.commission_totals(now=NOW, cutoff=cut),
    "commissions by level": lambda cut: pay.commission_by_level(cutoff=cut),
    "top earners (10)": lambda cut: pay.top_earners(top=10, cutoff=cut),
    "PRO conversion": lambda cut: pay.pro_conversion(now=NOW, members=MEMBERS, cutoff=cut),
    "review queues": lambda cut: pay.review_queues(),
    "funnel + chain depth (tree shape)": lambda cut: staff.tree_shape(),
    "growth 24h/7d/30d vs previous": lambda cut: staff.member_growth(now=NOW),
    "daily series, 30 days": lambda cut: staff.daily_series(now=NOW, days=30, cutoff=cut),
    "daily series, 14 days": lambda cut: staff.daily_series(now=NOW, days=14, cutoff=cut),
    "whole staff_stats()": lambda cut: staff.staff_stats(now=NOW),
}


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def measure(label: str) -> dict[str, tuple[float, float]]:
    print(f"\n{label}")
    print(f"  {'figure':<36} {'cold ms':>9} {'warm ms':>9}")
    results = {}
    for name, figure in FIGURES.items():
        connection.close()  # a fresh backend: no plan/catalog cache
        cutoff = pay.commission_fold_cutoff()
        cold = timed(lambda f=figure, c=cutoff: f(c))
        warm = statistics.median(timed(lambda f=figure, c=cutoff: f(c)) for _ in range(5))
        results[name] = (cold, warm)
        print(f"  {name:<36} {cold:9.1f} {warm:9.1f}")
    return results


def endpoint(label: str) -> None:
    staff_user = get_user_model().objects.get_or_create(username="bench-staff", defaults={"is_staff": True})[0]
    client = APIClient()
    client.force_authenticate(staff_user)
    connection.close()
    cold = timed(lambda: client.get("/api/v1/staff/stats/"))
    warm = statistics.median(timed(lambda: client.get("/api/v1/staff/stats/")) for _ in range(5))
    response = client.get("/api/v1/staff/stats/")
    assert response.status_code == 200, response.content[:300]
    print(f"  {'GET /api/v1/staff/stats/ (' + label + ')':<36} {cold:9.1f} {warm:9.1f}")


def main() -> None:
    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    with connection.cursor() as wrapper:
        cur = wrapper.cursor
        cur.execute("SET maintenance_work_mem = '256MB'")
        # Summary tables start empty, so the first measurement is the live ledger.
        cur.execute("TRUNCATE payments_commissionday, payments_partnerearning, payments_statsfold, payments_probuyer, payments_paymentday")
        cur.execute("SELECT (SELECT count(*) FROM partners_partner), (SELECT count(*) FROM payments_usdtentry)")
        have_members, have_rows = cur.fetchone()
        t0 = time.perf_counter()
        if have_members < MEMBERS:
            with IndexesDropped(cur, "partners_partner"):
                depth = load_members(cur)
        t1 = time.perf_counter()
        if have_rows < LEDGER_ROWS:
            with IndexesDropped(cur, "payments_payment"), IndexesDropped(cur, "payments_usdtentry"):
                load_payments_and_ledger(cur, depth)
        t2 = time.perf_counter()
        load_checkins(cur)
        t3 = time.perf_counter()
    # As autovacuum would leave a live database: statistics and the visibility map current.
    connection.close()
    with connection.cursor() as wrapper:
        cur = wrapper.cursor
        cur.connection.autocommit = True
        cur.execute("VACUUM ANALYZE")
        cur.execute("SELECT (SELECT count(*) FROM payments_usdtentry), (SELECT count(*) FROM payments_payment)")
        ledger, payments = cur.fetchone()
        cur.execute("SELECT count(*) FROM rewards_checkin")
        checkins = cur.fetchone()[0]
    print(f"scratch database {_scratch_name}")
    print(f"members {MEMBERS:,} (COPY {t1 - t0:.1f} s); payments {payments:,} and USDT ledger rows {ledger:,} "
          f"(COPY {t2 - t1:.1f} s); check-ins {checkins:,} (generate_series {t3 - t2:.1f} s)")

    if not os.environ.get("BENCH_STATS_SKIP_LIVE"):  # the live phase takes minutes at full size
        measure("Live ledger (no fold yet): every figure from the ledger and the partner table")
        endpoint("live")
    t4 = time.perf_counter()
    folded = commission_stats_fold(now=NOW)
    t5 = time.perf_counter()
    print(f"\nfold: {folded} UTC days into the summary tables in {t5 - t4:.1f} s (the first fold; beat then folds one day a day)")
    measure("After the fold: summary tables up to yesterday + live ledger rows since midnight UTC")
    endpoint("folded")
    t6 = time.perf_counter()
    staff.staff_stats_snapshots_refresh()
    print(f"\nbeat snapshot: the default answers (14 and 30 days) computed in {time.perf_counter() - t6:.1f} s "
          f"(beat, every {settings.STATS_SNAPSHOT_SECONDS} s; served while younger than {settings.STATS_SNAPSHOT_MAX_AGE_SECONDS} s)")
    endpoint("beat snapshot")
    print(f"\ntotal {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
