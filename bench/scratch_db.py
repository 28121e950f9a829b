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
