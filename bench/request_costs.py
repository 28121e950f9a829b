"""Request-cost benchmark (`make bench-requests`): server CPU and SQL statements per request for
the Mini App's hot paths, side by side with two floors, in one process on PostgreSQL + Redis.

Floors: `/health/ping/` (the framework: middleware, URL routing, a JSON response) and an
authenticated view that does nothing but authenticate (`/bench/auth-floor/`, routed only in this
benchmark's URLconf): what every member request pays before its own work. Every other row is
shown as a multiple of both.

Each request goes through Django's full stack with `django.test.Client` (no socket: the
figures are the server's own work plus the test client's small request-building cost, which
the floors carry too). CPU is `time.process_time()` per request, median of BENCH_REPEAT runs
after a warm-up; queries are counted for one request with CaptureQueriesContext.

Rows: /health/ping/, auth floor, GET /api/v1/me/, a signup (a new member's first /me with
start_param, at depth 9 and 60), a check-in (each a different member's first of the day),
/me/network/ (a member with BENCH_DOWNLINE members below), /leaderboard/, /tasks/, and the
dashboard home page when the dashboard is installed.

Env: DATABASE_URL (server; a scratch database `p2phub_bench_requests_<db>` is dropped and
created each run), REDIS_URL (Redis mode for cache, throttles and leaderboards), BENCH_REPEAT
(200), BENCH_DOWNLINE (2000), BENCH_SQL (0; N > 0 prints each row's statements cut to N characters).
"""

import itertools
import os
import statistics
import sys
import time
from pathlib import Path

from scratch_db import bench_environment, recreate_database, scratch_database

REPO = Path(__file__).resolve().parent.parent
BOT_TOKEN = "42:BENCH"
USER_AGENT = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36 Telegram-Android/11.2"
REPEAT = int(os.environ.get("BENCH_REPEAT", "200"))
DOWNLINE = int(os.environ.get("BENCH_DOWNLINE", "2000"))
WARMUP = 20
REFERRERS = 12
SHOW_SQL = int(os.environ.get("BENCH_SQL", "0"))  # >0: print each row's statements, cut to this many characters


def _environment() -> None:
    base = os.environ.get("DATABASE_URL", "postgres://root@127.0.0.1:5432/test")
    maintenance_url, name, bench_url = scratch_database(base, "requests")
    recreate_database(maintenance_url, name)
    # After-commit tasks are published to an in-memory broker and not run: in production a worker
    # runs them, outside the request this benchmark measures.
    bench_environment(bench_url, bot_token=BOT_TOKEN, broker_url="memory://localhost/")
    sys.path.insert(0, str(REPO))


_environment()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import NoReverseMatch, include, path, reverse  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from p2phub.testing.telegram import signed_init_data  # noqa: E402


class AuthFloorView(APIView):
    """Authenticates (the default classes: initData, session) and answers; nothing else."""

    def get(self, request):
        return Response({"id": request.partner.pk})


urlpatterns = [
    path("bench/auth-floor/", AuthFloorView.as_view()),
    path("", include("p2phub.urls")),
]


def _join(referrer=None, *, telegram_id=None, awards=True):
    from unittest import mock

    from partners.services import SignupContext, partner_join

    def run():
        return partner_join(referrer=referrer, telegram_id=telegram_id, first_name="Bench", signup=SignupContext(channel="seed")).partner

    if awards:
        return run()
    with mock.patch("referrals.services.referral_awards_for_join", return_value=[]):
        return run()


def _chain(length: int, top=None):
    node = top
    for _ in range(length):
        node = _join(node, awards=False)
    return node


def _auth(telegram_id: int, start_param: str = "") -> dict:
    """Signed initData headers; each member comes from an address of its own, as members do (one
    shared address would make fraud scoring hold every signup's awards for review)."""
    header = f"tma {signed_init_data(bot_token=BOT_TOKEN, user_id=telegram_id, first_name='Bench', start_param=start_param)}"
    address = f"10.{telegram_id >> 16 & 255}.{telegram_id >> 8 & 255}.{telegram_id & 255}"
    return {"HTTP_AUTHORIZATION": header, "HTTP_USER_AGENT": USER_AGENT, "REMOTE_ADDR": address}


def _measure(label, make_request, *, repeat=REPEAT):
    """(label, median CPU ms, queries of one request, status) for a callable issuing a request."""
    for _ in range(min(WARMUP, repeat)):
        make_request()
    samples = []
    status = None
    for _ in range(repeat):
        started = time.process_time()
        response = make_request()
        samples.append(time.process_time() - started)
        status = response.status_code
    with CaptureQueriesContext(connection) as captured:
        response = make_request()
    if SHOW_SQL:
        print(f"\n  -- {label}: {len(captured.captured_queries)} statements")
        for number, query in enumerate(captured.captured_queries, 1):
            print(f"  {number:3d}. {query['sql'][:SHOW_SQL]}")
    return label, statistics.median(samples) * 1000, len(captured.captured_queries), status or response.status_code


def main() -> None:
    print(f"bench-requests: database {connection.settings_dict['NAME']} ({connection.vendor}), "
          f"cache {'redis' if settings.REDIS_URL else 'local memory'}, {REPEAT} requests per row")
    call_command("migrate", verbosity=0)
    from django.core.cache import cache

    cache.clear()

    # A member 9 levels deep with a downline of DOWNLINE under it, some XP, a streak.
    print(f"  seeding: a 9-level upline, a member with {DOWNLINE} members below, {REPEAT * 2 + 60} check-in members")
    member = _chain(9)
    member.telegram_id = 8_000_000_000
    member.save(update_fields=["telegram_id"])
    level = [member]
    built = 0
    while built < DOWNLINE:
        next_level = []
        for parent in level:
            for _ in range(5):
                if built >= DOWNLINE:
                    break
                next_level.append(_join(parent, awards=False))
                built += 1
        level = next_level
    # Signups rotate over REFERRERS referrers at each depth, so none passes the velocity limit
    # (REFERRAL_HOURLY_LIMIT, 20/h) and every signup takes the ordinary path: awards paid.
    referrers_d9 = [member] + [_join(member.get_parent(), awards=False) for _ in range(REFERRERS - 1)]
    deep_parent = _chain(50, top=member)
    referrers_d60 = [_join(deep_parent, awards=False) for _ in range(REFERRERS)]
    checkers = [_join(member, telegram_id=8_100_000_000 + i, awards=False) for i in range(REPEAT + WARMUP + 1)]

    client = Client()
    me = _auth(member.telegram_id)
    signup_ids = iter(range(8_200_000_000, 8_300_000_000))
    checkin_ids = iter(c.telegram_id for c in checkers)

    def signup_under(referrers):
        referrer = next(referrers)
        return client.get("/api/v1/me/", **_auth(next(signup_ids), referrer.referral_code))

    d9, d60 = itertools.cycle(referrers_d9), itertools.cycle(referrers_d60)

    rows = [
        _measure("/health/ping/", lambda: client.get("/health/ping/")),
        _measure("auth floor", lambda: client.get("/bench/auth-floor/", **me)),
        _measure("GET /api/v1/me/", lambda: client.get("/api/v1/me/", **me)),
        _measure("signup (depth 9)", lambda: signup_under(d9), repeat=REPEAT // 2),
        _measure("signup (depth 60)", lambda: signup_under(d60), repeat=REPEAT // 2),
        _measure("POST /api/v1/me/checkin/", lambda: client.post("/api/v1/me/checkin/", **_auth(next(checkin_ids)))),
        _measure("GET /api/v1/me/network/", lambda: client.get("/api/v1/me/network/", **me)),
        _measure("GET /api/v1/leaderboard/", lambda: client.get("/api/v1/leaderboard/?board=xp", **me)),
        _measure("GET /api/v1/tasks/", lambda: client.get("/api/v1/tasks/", **me)),
    ]
    try:
        home = reverse("dashboard-home")
    except NoReverseMatch:
        print("  dashboard home: not installed (no URL named 'dashboard-home')")
    else:
        web = Client()
        web.post("/login/telegram/mini-app/", {"init_data": me["HTTP_AUTHORIZATION"][4:]})
        rows.append(_measure("dashboard home", lambda: web.get(home)))

    ping_cpu, auth_cpu = rows[0][1], rows[1][1]
    print(f"\n  {'request':28} {'CPU ms':>8} {'queries':>8} {'x ping':>8} {'x auth':>8}  status")
    for label, cpu, queries, status in rows:
        print(f"  {label:28} {cpu:8.2f} {queries:8d} {cpu / ping_cpu:8.1f} {cpu / auth_cpu:8.2f}  {status}")


if __name__ == "__main__":
    with override_settings(ROOT_URLCONF=__name__):
        main()
