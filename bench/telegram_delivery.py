"""Telegram delivery benchmark (`make bench-telegram`): a burst of notifications queued at once,
delivered by real Celery workers on RabbitMQ to a local fake Bot API that enforces Telegram's
limits the way Telegram does (more than 30 messages in any one second, or two messages to one
chat within a second → 429 with retry_after).

Reports: time from the first enqueue to the last message, rows per final state, messages the fake
accepted, duplicates (the same notification text twice to a chat), 429 answers, the peak number
of messages in any one-second window, and the smallest gap between two messages to one chat.

Env: DATABASE_URL (PostgreSQL server; the scratch database `p2phub_bench_telegram_<db>` is dropped
and created), REDIS_URL (shared pacing; keys `p2phub:tg:pace:*` are cleared), BROKER_URL
(amqp://guest:guest@127.0.0.1:5672//), BENCH_NOTIFICATIONS (10000), BENCH_MEMBERS (1000),
BENCH_WORKERS (2 worker processes), BENCH_CONCURRENCY (4 per worker), BENCH_TIMEOUT (1200 s).
"""

import os
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections import Counter, defaultdict
from pathlib import Path

from scratch_db import recreate_database, scratch_database

REPO = Path(__file__).resolve().parent.parent
TOKEN = "42:BENCH"
NOTIFICATIONS = int(os.environ.get("BENCH_NOTIFICATIONS", "10000"))
MEMBERS = int(os.environ.get("BENCH_MEMBERS", "1000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "4"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "1200"))
BROKER = os.environ.get("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")


def main() -> None:
    base = os.environ.get("DATABASE_URL", "")
    maintenance, name, bench_url = scratch_database(base, "telegram")
    recreate_database(maintenance, name)
    os.chdir(REPO)  # Celery puts the working directory first on sys.path: bench/payments.py is no app
    sys.path.insert(0, str(REPO))
    queue = f"p2phub-bench-{uuid.uuid4().hex[:8]}"
    from p2phub.testing.fake_bot_api import FakeBotAPI

    bot = FakeBotAPI(token=TOKEN, enforce_limits=True, global_per_second=30, chat_interval=1.0).__enter__()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "p2phub.settings",
        "DATABASE_URL": bench_url,
        "CELERY_BROKER_URL": BROKER,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": bot.url,
        "TELEGRAM_SEND_ENABLED": "1",
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "0",
    }
    os.environ.update(env)
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from partners.models import Delivery, Notification
    from partners.notifications import Kind, NotificationDraft, notifications_create
    from partners.services import SignupContext, partner_join

    call_command("migrate", verbosity=0)
    if os.environ.get("REDIS_URL"):
        from django_redis import get_redis_connection

        redis = get_redis_connection("default")
        keys = list(redis.scan_iter("p2phub:tg:pace:*"))
        if keys:
            redis.delete(*keys)
    print(f"setup: {MEMBERS} members on {name}; {WORKERS} workers x {CONCURRENCY} on queue {queue}")
    members = [
        partner_join(telegram_id=5_000_000_000 + i, first_name=f"M{i}", signup=SignupContext(channel="seed")).partner.pk
        for i in range(MEMBERS)
    ]
    Notification.objects.all().delete()  # nothing from the setup itself

    workers = [
        subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "p2phub", "worker", "-Q", queue, "-c", str(CONCURRENCY),
                "--without-gossip", "--without-mingle", "-l", "WARNING", "-n", f"bench{n}@%h",
            ],
            cwd=REPO, env=env, start_new_session=True,
        )
        for n in range(WORKERS)
    ]
    try:
        time.sleep(3)  # workers boot; tasks wait in the queue meanwhile anyway
        started = time.monotonic()
        for start in range(0, NOTIFICATIONS, 500):
            with transaction.atomic():
                notifications_create(
                    [
                        NotificationDraft(
                            partner_id=members[i % MEMBERS],
                            kind=Kind.TASK_REWARD,
                            params={"task": f"Bench task {i}", "xp": 25},
                            language="en",
                        )
                        for i in range(start, min(start + 500, NOTIFICATIONS))
                    ]
                )
        queued = time.monotonic() - started
        print(f"queued {NOTIFICATIONS} notifications in {queued:.1f} s")
        open_states = (Delivery.PENDING, Delivery.SENDING)
        deadline = started + TIMEOUT
        last_report = 0.0
        while time.monotonic() < deadline:
            remaining = Notification.objects.filter(delivery__in=open_states).count()
            if remaining == 0:
                break
            if time.monotonic() - last_report > 30:
                last_report = time.monotonic()
                print(f"  {time.monotonic() - started:6.0f} s: {len(bot.sent)} accepted, {remaining} open")
            time.sleep(1)
        finished = time.monotonic()
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        try:
            from kombu import Connection

            with Connection(BROKER, connect_timeout=5) as conn:
                conn.default_channel.queue_delete(queue)
        except Exception as error:  # noqa: BLE001
            print(f"(queue {queue} not deleted: {error})")

    states = Counter(Notification.objects.values_list("delivery", flat=True))
    sent = list(bot.sent)
    duplicates = sum(n - 1 for n in Counter((m.chat_id, m.text) for m in sent).values() if n > 1)
    times = sorted(m.at for m in sent)
    peak, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        peak = max(peak, i - j + 1)
    per_chat = defaultdict(list)
    for m in sent:
        per_chat[m.chat_id].append(m.at)
    gaps = [b - a for ts in per_chat.values() for a, b in zip(sorted(ts), sorted(ts)[1:], strict=False)]
    last = max(times) if times else started
    attempts = Counter(Notification.objects.values_list("attempts", flat=True))
    print("\n== results")
    print(f"notifications: {NOTIFICATIONS} to {MEMBERS} members; rows by state: {dict(states)}")
    print(f"accepted by the fake Bot API: {len(sent)}; duplicates: {duplicates}; 429 answers: {bot.rate_limited}")
    print(f"time from first enqueue to last message: {last - started:.1f} s ({len(sent) / max(last - started, 1e-9):.1f} msg/s)")
    print(f"peak messages in any 1-second window: {peak} (Telegram's limit: 30)")
    print(f"smallest gap between two messages to one chat: {min(gaps) if gaps else float('nan'):.3f} s (limit 1 s)")
    print(f"attempts per row: {dict(sorted(attempts.items()))}; waited for completion {finished - started:.1f} s")
    bot.__exit__(None, None, None)
    ok = states.get(Delivery.SENT, 0) == NOTIFICATIONS and duplicates == 0 and peak <= 30
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
