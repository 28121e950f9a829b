"""End to end with real parts: a real `celery worker` process on this machine's RabbitMQ, a signup
committed by another real process (broker configured, so its after-commit delivery is a real
message), and the worker delivering the L1 notification to a local fake Bot API speaking
Telegram's JSON. Runs in the PostgreSQL pass of CI (both processes share the test database),
only when CELERY_TEST_BROKER_URL is set (e.g. amqp://guest:guest@127.0.0.1:5672//).

The worker reads a queue of its own (a fresh name per run, deleted afterwards), so it cannot
take anybody else's tasks; it runs the solo pool without gossip, mingle or heartbeats, and
every wait is bounded: start, delivery (30 s), shutdown (SIGTERM, then SIGKILL after 10 s).
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from p2phub.testing.fake_bot_api import FakeBotAPI
from partners.models import Delivery, Notification
from partners.notifications import Kind
from partners.tests.factories import PartnerFactory

BROKER_URL = os.environ.get("CELERY_TEST_BROKER_URL", "")
REPO = Path(__file__).resolve().parents[2]
TOKEN = "42:E2E"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not BROKER_URL, reason="SKIPPED: set CELERY_TEST_BROKER_URL=amqp://... to run the real worker"),
]


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _environment(bot: FakeBotAPI, queue: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "p2phub.settings",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": bot.url,
        "TELEGRAM_SEND_ENABLED": "1",
        "TELEGRAM_PER_CHAT_INTERVAL_SECONDS": "0",
        "DATABASE_CONN_MAX_AGE": "0",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


def _stop(worker: subprocess.Popen, log) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)  # warm shutdown: the solo pool finishes at once
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=5)
    log.close()


def _delete_queue(queue: str) -> None:
    from kombu import Connection

    try:
        with Connection(BROKER_URL, connect_timeout=5) as conn:
            conn.default_channel.queue_delete(queue)
    except Exception:  # noqa: BLE001 - a leftover empty queue is harmless
        pass


def test_a_real_worker_delivers_the_l1_notification_of_a_committed_signup(tmp_path):
    leader = PartnerFactory(first_name="Lena", last_name="")  # committed: a transactional test
    queue = f"p2phub-e2e-{uuid.uuid4().hex[:12]}"
    with FakeBotAPI(token=TOKEN) as bot:
        env = _environment(bot, queue)
        log = open(tmp_path / "worker.log", "w+")  # noqa: SIM115 - closed in _stop
        worker = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "p2phub", "worker", "-Q", queue, "-P", "solo",
                "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
            ],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            signup = subprocess.run(
                [
                    sys.executable, "-c",
                    "import django; django.setup()\n"
                    "from partners.models import Partner\n"
                    "from partners.services import SignupContext, partner_join\n"
                    f"leader = Partner.objects.get(pk={leader.pk})\n"
                    "result = partner_join(referrer=leader, telegram_id=990001, first_name='Anna',\n"
                    "                      signup=SignupContext(channel='seed'))\n"
                    "print(result.partner.pk)\n",
                ],
                cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
            )
            assert signup.returncode == 0, signup.stderr
            deadline = time.monotonic() + 30
            note = None
            while time.monotonic() < deadline:
                note = Notification.objects.filter(partner=leader, kind=Kind.REFERRAL_L1).first()
                if note is not None and note.delivery not in (Delivery.PENDING, Delivery.SENDING):
                    break
                if worker.poll() is not None:
                    break
                time.sleep(0.2)
            log.seek(0)
            worker_log = log.read()
            assert note is not None, worker_log
            assert note.delivery == Delivery.SENT, worker_log
            assert note.attempts == 1 and note.telegram_message_id == 1
            (message,) = bot.messages_to(leader.telegram_id)
            assert message["text"] == "<b>New referral: Anna</b>\nAnna joined with your link. You earned 35 XP."
            assert "partners.tasks.notifications_deliver" in worker_log
        finally:
            _stop(worker, log)
            _delete_queue(queue)
    assert worker.returncode is not None  # shut down within the bounds above
