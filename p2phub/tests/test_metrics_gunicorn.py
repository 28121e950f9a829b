"""Acceptance (#12): /metrics under real gunicorn with two workers in multiprocess mode.

Every worker is recycled after one request (`GUNICORN_MAX_REQUESTS=1`), so each request of the
scenario runs in a different process, and `/metrics` must sum all of them, dead ones included.
The scenario: a member signs up (Mini App initData) under the bottom of a 9-member chain, buys
PRO with USDT and staff approve it. The referral and commission counters must have moved by
exactly one per level, summed over the processes."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from p2phub.testing.telegram import signed_init_data

ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN = "42:TEST"
TOKEN = "metrics-test-token"
SEED = """
import json
from django.contrib.auth import get_user_model
from partners.tests.factories import make_chain
chain = make_chain(9)
get_user_model().objects.create_user(username="ops", password="ops-pass-123456", is_staff=True)
print(json.dumps({"code": chain[-1].referral_code}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _samples(text: str) -> dict:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def gunicorn_site(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "p2phub.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'site.db'}",
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "USDT_WALLET_ADDRESS": "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE",
        "METRICS_TOKEN": TOKEN,
        "CELERY_BROKER_URL": "",
        "REDIS_URL": "",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # migrate and seed count nothing
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=120)
    seeded = subprocess.run([*manage, "shell", "-c", SEED], env=env, cwd=ROOT, check=True, timeout=120, capture_output=True, text=True)
    code = json.loads(seeded.stdout.strip().splitlines()[-1])["code"]

    prom_dir = tmp_path / "prometheus"
    prom_dir.mkdir()
    port = _free_port()
    server_env = {
        **env,
        "PROMETHEUS_MULTIPROC_DIR": str(prom_dir),
        "WEB_CONCURRENCY": "2",
        "GUNICORN_MAX_REQUESTS": "1",
        "GUNICORN_MAX_REQUESTS_JITTER": "0",
        "GUNICORN_ACCESS_LOG": str(tmp_path / "access.log"),
        "GUNICORN_ERROR_LOG": str(tmp_path / "error.log"),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "p2phub.wsgi", "-c", "p2phub/gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
        env=server_env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if _get(f"{base}/health/ping/").status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not come up: " + (tmp_path / "error.log").read_text())
        yield {"base": base, "code": code, "prom_dir": prom_dir}
    finally:
        process.terminate()
        process.wait(timeout=30)


def _get(url, **kw):
    return requests.get(url, headers={"Connection": "close", **kw.pop("headers", {})}, timeout=10, **kw)


def test_metrics_sum_the_events_of_every_gunicorn_worker(gunicorn_site):
    base = gunicorn_site["base"]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert _get(f"{base}/metrics").status_code == 401
    assert _get(f"{base}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    before = _samples(_get(f"{base}/metrics", headers=auth).text)

    member = {"Authorization": "tma " + signed_init_data(bot_token=BOT_TOKEN, user_id=555001, start_param=gunicorn_site["code"]), "Connection": "close"}
    me = requests.get(f"{base}/api/v1/me/", headers=member, timeout=10)
    assert me.status_code == 200, me.text
    created = requests.post(f"{base}/api/v1/payments/", json={"method": "USDT"}, headers=member, timeout=10)
    assert created.status_code == 201, created.text
    payment_id = created.json()["id"]
    submitted = requests.post(f"{base}/api/v1/payments/{payment_id}/check/", json={"tx_hash": "cd" * 32}, headers=member, timeout=10)
    assert submitted.status_code == 200 and submitted.json()["status"] == "under_review", submitted.text

    staff = requests.Session()
    staff.headers["Connection"] = "close"
    staff.get(f"{base}/accounts/login/", timeout=10)
    signed_in = staff.post(
        f"{base}/accounts/login/",
        data={"username": "ops", "password": "ops-pass-123456", "csrfmiddlewaretoken": staff.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302, signed_in.text
    approved = staff.post(
        f"{base}/api/v1/staff/payments/{payment_id}/approve/",
        json={"note": "seen on chain"},
        headers={"X-CSRFToken": staff.cookies["csrftoken"]},
        timeout=10,
    )
    assert approved.status_code == 200 and approved.json()["status"] == "completed", approved.text

    after = _samples(_get(f"{base}/metrics", headers=auth).text)

    def moved(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert [moved("referral_processed_total", level=str(k)) for k in range(1, 10)] == [1] * 9
    assert [moved("commission_distributed_total", level=str(k)) for k in range(1, 10)] == [1] * 9
    assert moved("referral_processing_seconds_count") == 1
    assert round(moved("commission_amount_usd_sum", level="1"), 6) == 11.7
    assert {s: moved("payments_total", status=s) for s in ("pending", "under_review", "completed")} == {
        "pending": 1, "under_review": 1, "completed": 1
    }
    # The events really came from several processes (each worker served one request).
    pids = {path.stem.rsplit("_", 1)[-1] for path in gunicorn_site["prom_dir"].glob("counter_*.db")}
    assert len(pids) >= 5, pids
