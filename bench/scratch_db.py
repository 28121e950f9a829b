"""A dedicated PostgreSQL database per benchmark, derived from DATABASE_URL: dropped and created
on each run, so a benchmark never writes into the database the URL names."""

import sys
from urllib.parse import urlparse, urlunparse


def scratch_database(base_url: str, label: str) -> tuple[str, str, str]:
    """(maintenance URL, scratch database name, scratch database URL)."""
    parsed = urlparse(base_url)
    if not parsed.scheme.startswith("postgres"):
        sys.exit(f"bench/{label}.py needs a PostgreSQL DATABASE_URL (postgres://user@host:port/db)")
    source_db = parsed.path.lstrip("/") or "postgres"
    name = f"p2phub_bench_{label}_{source_db}"[:63]
    # The given database need not exist: create/drop from the server's maintenance database.
    return urlunparse(parsed._replace(path="/postgres")), name, urlunparse(parsed._replace(path=f"/{name}"))


def recreate_database(maintenance_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def bench_environment(database_url: str, *, bot_token: str, broker_url: str = "") -> None:
    """The environment a benchmark's Django processes run with: the scratch database, DEBUG off,
    throttles out of the way, quiet logs, the benchmark's bot token and no Telegram sending (eager
    delivery would otherwise call the Bot API inside the request). Celery is eager (tasks run
    inline) unless a broker_url is given, e.g. memory:// to publish tasks and never run them."""
    import os
    import warnings

    os.environ.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="p2phub.settings",
        DJANGO_DEBUG="0",
        TELEGRAM_BOT_TOKEN=bot_token,
        THROTTLE_USER="100000000/min",
        THROTTLE_ANON="100000000/min",
        LOG_LEVEL="ERROR",
        TELEGRAM_SEND_ENABLED="0",
    )
    if broker_url:
        os.environ["CELERY_BROKER_URL"] = broker_url
    else:
        os.environ.pop("CELERY_BROKER_URL", None)
    # whitenoise warns once per process about the (uncollected) static root.
    warnings.filterwarnings("ignore", message="No directory at")
