"""My-rank on a Redis leaderboard of 10k / 100k / 1,000,000 members.

Loads members into the all-time XP board under a dedicated key prefix (pipelined ZADD + HSET,
the exact layout `rewards.leaderboards.redis_board` uses), then times the real my-rank code
path (`redis_board.rank_of`: HGET + ZREVRANK + ZSCORE in one read script) for random members.
A sorted set is a skip list, so ZREVRANK is O(log n): the per-call time should barely move
from 10k to 1M members. Keys are deleted afterwards.

    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/leaderboard.py [--lookups 3000]
"""

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p2phub.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from rewards.leaderboards import redis_board  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
BATCH = 10_000


def load(conn, key: str, start: int, stop: int, now: datetime) -> None:
    rng = random.Random(start)
    pipe = conn.pipeline(transaction=False)
    for first in range(start, stop, BATCH):
        members = {}
        mapping = {}
        for pid in range(first, min(first + BATCH, stop)):
            member = redis_board.encode_member(pid, now - timedelta(seconds=rng.randrange(10_000_000)))
            # Skewed like real XP: most members have little, a few have a lot (and many tie).
            members[member] = int(rng.paretovariate(1.2) * 10)
            mapping[str(pid)] = member
        pipe.zadd(key, members)
        pipe.hset(f"{key}:m", mapping=mapping)
        pipe.execute()


def percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lookups", type=int, default=3000)
    args = parser.parse_args()
    if not settings.REDIS_URL:
        sys.exit("Set REDIS_URL (e.g. REDIS_URL=redis://127.0.0.1:6379/14).")
    settings.LEADERBOARD_KEY_PREFIX = f"bench:lb:{uuid.uuid4().hex[:8]}"
    conn = redis_board.client()
    now = datetime.now(UTC)
    key, _ = redis_board.board_key("xp", now)
    print(f"Redis {settings.REDIS_URL} · key {key} · {args.lookups} my-rank lookups per size")
    print(f"{'members':>10} {'load s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    loaded = 0
    try:
        for size in SIZES:
            started = time.perf_counter()
            load(conn, key, loaded, size, now)
            load_seconds = time.perf_counter() - started
            loaded = size
            assert conn.zcard(key) == size
            rng = random.Random(size)
            for _ in range(200):  # warm up (script registration, connection, CPU caches)
                redis_board.rank_of("xp", rng.randrange(size), now)
            timings = []
            for _ in range(args.lookups):
                pid = rng.randrange(size)
                t0 = time.perf_counter()
                rank, score = redis_board.rank_of("xp", pid, now)
                timings.append((time.perf_counter() - t0) * 1000)
                assert rank is not None and 1 <= rank <= size
            timings.sort()
            print(
                f"{size:>10,} {load_seconds:>7.1f} {statistics.median(timings):>7.3f} {percentile(timings, 0.95):>7.3f} "
                f"{percentile(timings, 0.99):>7.3f} {timings[-1]:>7.3f}"
            )
    finally:
        conn.delete(key, f"{key}:m")
    print("ZREVRANK walks a skip list: O(log n). Keys removed.")


if __name__ == "__main__":
    main()
