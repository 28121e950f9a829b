"""Payments benchmark (PostgreSQL): SQL statements per payment completion with the buyer at
depth 9 and depth 60, and completions per second under one hot leader (sequential and with
parallel workers). Run: DATABASE_URL=postgres://... .venv/bin/python bench/payments.py

A dedicated database `p2phub_bench_payments_<db>` on the server of DATABASE_URL is dropped,
created and migrated on every run; the database the URL names is left alone.
"""

import multiprocessing
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p2phub.settings")

from scratch_db import recreate_database, scratch_database  # noqa: E402

_maintenance_url, _scratch_name, _scratch_url = scratch_database(os.environ.get("DATABASE_URL", ""), "payments")
recreate_database(_maintenance_url, _scratch_name)
os.environ["DATABASE_URL"] = _scratch_url

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from partners.services import SignupContext, partner_join  # noqa: E402
from payments.models import USDTEntry  # noqa: E402
from payments.services import payment_complete, payment_create  # noqa: E402

SEQUENTIAL = int(os.environ.get("BENCH_COMPLETIONS", "300"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "8"))
_ids = iter(range(9_000_000_000 + secrets.randbelow(10**8) * 1000, 10**12))


def join(referrer):
    return partner_join(referrer=referrer, telegram_id=next(_ids), first_name="Bench", signup=SignupContext(channel="seed")).partner


def chain(length, top=None):
    node = top
    for _ in range(length):
        node = join(node)
    return node


def statements_per_completion(buyer) -> tuple[int, int]:
    payment = payment_create(partner=buyer, method="USDT")
    with CaptureQueriesContext(connection) as ctx:
        payment_complete(payment_id=payment.pk)
    return len(ctx.captured_queries), USDTEntry.objects.filter(payment=payment).count()


def complete_all(payment_ids) -> list[float]:
    timings = []
    for pk in payment_ids:
        started = time.perf_counter()
        payment_complete(payment_id=pk)
        timings.append(time.perf_counter() - started)
    return timings


def _worker(payment_ids) -> list[float]:
    # Forked processes (not threads: the GIL would measure Python, not the database) must not
    # share the parent's connection.
    connection.close()
    try:
        return complete_all(payment_ids)
    finally:
        connection.close()


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/payments.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    settings.USDT_WALLET_ADDRESS = settings.USDT_WALLET_ADDRESS or "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"
    call_command("migrate", verbosity=0)

    deep_buyer = chain(61)  # 60 ancestors
    shallow_buyer = chain(10)  # 9 ancestors
    for label, buyer in (("depth 9", shallow_buyer), ("depth 60", deep_buyer)):
        statements, rows = statements_per_completion(buyer)
        print(f"statements per completion, buyer with {label:>8} ancestors: {statements} ({rows} commission rows)")

    # Hot leader: every buyer sits under the same 9-level chain, so the top member is an
    # ancestor (L9) of every single completion.
    leader_chain_end = chain(9)
    buyers = [join(leader_chain_end) for _ in range(SEQUENTIAL * 2)]
    payments = [payment_create(partner=b, method="USDT").pk for b in buyers]
    sequential, parallel = payments[:SEQUENTIAL], payments[SEQUENTIAL:]

    started = time.perf_counter()
    timings = complete_all(sequential)
    elapsed = time.perf_counter() - started
    print(
        f"sequential: {len(sequential)} completions in {elapsed:.2f}s = {len(sequential) / elapsed:.0f}/s "
        f"(median {statistics.median(timings) * 1000:.1f} ms)"
    )

    shards = [parallel[i::WORKERS] for i in range(WORKERS)]
    connection.close()
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        timings = [t for shard in pool.map(_worker, shards) for t in shard]
    elapsed = time.perf_counter() - started
    print(
        f"{WORKERS} workers: {len(parallel)} completions in {elapsed:.2f}s = {len(parallel) / elapsed:.0f}/s "
        f"(median {statistics.median(timings) * 1000:.1f} ms), all under one hot leader"
    )
    paid = USDTEntry.objects.filter(payment_id__in=payments).count()
    print(f"commission rows written: {paid} (expected {len(payments) * 9})")


if __name__ == "__main__":
    main()
