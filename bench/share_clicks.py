"""Share link benchmark (`make bench-share`, PostgreSQL): the cost of one `GET /r/<code>` through
the full request path (middleware, click recording, cookie, redirect), in SQL statements, CPU
and wall time per click, and the funnel over what was recorded.

BENCH_CLICKS clicks (default 2,000) on one member's link from 50 IPs, every tenth from a
bot-like user agent, through django.test.Client in this process (so the CPU figure is Django's
own: process_time of this process; PostgreSQL's work is in the wall time). Then the funnel
must count exactly the clean clicks, and EXPLAIN shows the repeat-IP probe on its index.

A dedicated database `p2phub_bench_share_<db>` on the server of DATABASE_URL is dropped,
created and migrated on every run; the database the URL names is left alone.
"""

import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p2phub.settings")
os.environ.update(DJANGO_DEBUG="0", LOG_LEVEL="ERROR")
os.environ.pop("REDIS_URL", None)
os.environ.pop("CELERY_BROKER_URL", None)
warnings.filterwarnings("ignore", message="No directory at")

from scratch_db import recreate_database, scratch_database  # noqa: E402

_maintenance_url, _scratch_name, _scratch_url = scratch_database(os.environ.get("DATABASE_URL", ""), "share")
recreate_database(_maintenance_url, _scratch_name)
os.environ["DATABASE_URL"] = _scratch_url

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from partners.services import SignupContext, partner_join  # noqa: E402
from referrals.models import ShareClick  # noqa: E402
from referrals.selectors import share_funnel  # noqa: E402

CLICKS = int(os.environ.get("BENCH_CLICKS", "2000"))
IPS = 50
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile Safari/604.1"
BOTS = ["Mozilla/5.0 (compatible; Googlebot/2.1)", "curl/8.5.0", "facebookexternalhit/1.1", "TelegramBot (like TwitterBot)"]


def click(client, path, i):
    agent = BOTS[i % len(BOTS)] if i % 10 == 0 else BROWSER
    return client.get(path, REMOTE_ADDR=f"198.51.100.{i % IPS}", HTTP_USER_AGENT=agent)


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/share_clicks.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    call_command("migrate", verbosity=0)
    referrer = partner_join(first_name="Bench", signup=SignupContext(channel="seed")).partner
    # Some history on other links, so the probe's index is not trivially small.
    others = [partner_join(referrer=referrer, signup=SignupContext(channel="seed")).partner for _ in range(20)]
    ShareClick.objects.bulk_create(
        ShareClick(referrer=other, platform="x", ip_hash=f"{n:064x}", created_at=timezone.now())
        for other in others
        for n in range(500)
    )
    client = Client()
    path = f"/r/{referrer.referral_code}?p=whatsapp"
    for i in range(20):  # warm up (URL resolver, templates of nothing, connection)
        click(client, f"/r/{others[0].referral_code}", i)

    with CaptureQueriesContext(connection) as ctx:
        response = click(client, path, 1)
    assert response.status_code == 302, response.status_code
    statements = [query["sql"] for query in ctx.captured_queries]

    timings = []
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    for i in range(2, CLICKS + 2):
        started = time.perf_counter()
        response = click(client, path, i)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 302
    cpu, wall = time.process_time() - cpu_started, time.perf_counter() - wall_started

    clean = len({i % IPS for i in range(1, CLICKS + 2) if i % 10 != 0})
    started = time.perf_counter()
    row = next(item for item in share_funnel(partner=referrer) if item["platform"] == "whatsapp")
    funnel_ms = (time.perf_counter() - started) * 1000
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT 1 FROM referrals_shareclick WHERE referrer_id = %s AND ip_hash = %s "
            "AND created_at > now() - interval '1 hour' AND counted LIMIT 1",
            [referrer.pk, "0" * 64],
        )
        plan = " / ".join(line for (line,) in cursor.fetchall())

    print(f"GET /r/<code>: {len(statements)} SQL statements per click")
    for sql in statements:
        print(f"  {sql[:110]}")
    print(
        f"{CLICKS} clicks: {CLICKS / wall:.0f} clicks/s sequential; per click {cpu / CLICKS * 1000:.2f} ms CPU (Django, "
        f"this process), wall median {statistics.median(timings) * 1000:.2f} ms, "
        f"p95 {sorted(timings)[int(len(timings) * 0.95)] * 1000:.2f} ms"
    )
    print(
        f"funnel (whatsapp): clicks {row['clicks']} counted of {row['clicks_total']} recorded "
        f"(expected {clean} clean: first non-bot click per IP in the hour); funnel query {funnel_ms:.1f} ms"
    )
    assert row["clicks"] == clean and row["clicks_total"] == CLICKS + 1, row
    print(f"repeat-IP probe plan: {plan}")


if __name__ == "__main__":
    main()
