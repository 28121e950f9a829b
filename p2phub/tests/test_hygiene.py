"""Operator hygiene: `.env` only when asked, eager Celery errors propagate, the request id
travels into tasks, error lines are logged once, self-hosted API docs, gunicorn config, the
newcomer's `demo_init_data --curl`."""

import logging
import os
import re
import runpy
import shlex
import subprocess
import sys
import threading
from io import StringIO
from pathlib import Path

import pytest
from celery import Celery
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.test import APIClient

from p2phub.celery import REQUEST_ID_HEADER
from p2phub.celery import app as celery_app
from p2phub.middleware import (
    RequestContext,
    RequestIDLogFilter,
    RequestIDMiddleware,
    bind_request_context,
    current_request_context,
    unbind_request_context,
)

ROOT = Path(__file__).resolve().parents[2]
_seen: list[str] = []
task_logger = logging.getLogger("p2phub.tests.hygiene")


@celery_app.task(name="p2phub.tests.hygiene.record_request_id")
def record_request_id() -> str:
    task_logger.info("running inside a task")
    _seen.append(current_request_context().request_id)
    return current_request_context().request_id


@celery_app.task(name="p2phub.tests.hygiene.fail")
def failing_task() -> None:
    raise ValueError("task failed on purpose")


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEGRAM_", "SITE_URL"))}
    return {**env, **extra}


# --- .env ---------------------------------------------------------------------------------------


def _site_url_with(dot_env: Path, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "import p2phub.settings as s; print(s.SITE_URL)"],
        cwd=ROOT, env=_clean_env(DJANGO_DOT_ENV_FILE=str(dot_env), **env), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_dot_env_is_read_only_when_asked(tmp_path):
    dot_env = tmp_path / ".env"
    dot_env.write_text("SITE_URL=http://from-the-dot-env-file\n")
    assert _site_url_with(dot_env) == "http://127.0.0.1:8000"
    assert _site_url_with(dot_env, DJANGO_READ_DOT_ENV_FILE="false") == "http://127.0.0.1:8000"
    assert _site_url_with(dot_env, DJANGO_READ_DOT_ENV_FILE="true") == "http://from-the-dot-env-file"
    # The real environment wins over the file.
    assert _site_url_with(dot_env, DJANGO_READ_DOT_ENV_FILE="true", SITE_URL="http://env") == "http://env"


# --- Celery: eager errors, request id -----------------------------------------------------------


def test_eager_tasks_propagate_their_errors(settings):
    assert settings.CELERY_TASK_ALWAYS_EAGER and settings.CELERY_TASK_EAGER_PROPAGATES
    assert celery_app.conf.task_eager_propagates is True
    with pytest.raises(ValueError, match="task failed on purpose"):
        failing_task.delay()


_attempts = {"n": 0}


@celery_app.task(name="p2phub.tests.hygiene.flaky", autoretry_for=(ConnectionError,), max_retries=2, retry_backoff=False)
def flaky_task(failures: int) -> int:
    _attempts["n"] += 1
    if _attempts["n"] <= failures:
        raise ConnectionError(f"attempt {_attempts['n']} failed")
    return _attempts["n"]


def test_eager_retries_still_retry_and_only_the_final_error_propagates():
    _attempts["n"] = 0
    # `.result`, not `.get()`: an in-process worker test earlier in the run marks joins as blocking.
    assert flaky_task.delay(2).result == 3  # two transient failures, then success
    _attempts["n"] = 0
    with pytest.raises(ConnectionError, match="attempt 3 failed"):
        flaky_task.delay(5)  # 1 try + 2 retries, all failing
    assert _attempts["n"] == 3
    _attempts["n"] = 0
    assert flaky_task.apply((5,), throw=False).failed()


def test_every_task_has_time_limits(settings):
    assert 0 < settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    assert celery_app.conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
    for limits in settings.CELERY_TASK_ANNOTATIONS.values():
        assert 0 < limits["soft_time_limit"] < limits["time_limit"]


def test_an_eager_task_started_by_a_request_runs_with_its_request_id():
    _seen.clear()
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Collect()
    handler.addFilter(RequestIDLogFilter())
    task_logger.addHandler(handler)
    try:
        middleware = RequestIDMiddleware(lambda request: (record_request_id.delay(), HttpResponse())[1])
        response = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="trace-eager-1"))
    finally:
        task_logger.removeHandler(handler)
    assert response["X-Request-ID"] == "trace-eager-1"
    assert _seen == ["trace-eager-1"]
    assert [r.request_id for r in records] == ["trace-eager-1"]
    assert current_request_context().request_id == ""  # nothing leaks past the request


def _broker_app(name: str) -> Celery:
    """A Celery app on the in-memory broker (no Django fixup: the worker must not touch the test
    database connections). The request-id signals are process-wide, so they apply here too."""
    return Celery(name, broker="memory://", fixups=[], set_as_current=False)


def test_publishing_a_task_puts_the_request_id_in_its_headers():
    app = _broker_app("hygiene-headers")
    token = bind_request_context(RequestContext(request_id="trace-hdr-1"))
    try:
        app.send_task("p2phub.tests.hygiene.anything", queue="hygiene-headers")
    finally:
        unbind_request_context(token)
    app.send_task("p2phub.tests.hygiene.anything", queue="hygiene-headers")  # outside any request
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue("hygiene-headers")
        first, second = queue.get(timeout=5), queue.get(timeout=5)
        first.ack()
        second.ack()
        queue.close()
    assert first.headers[REQUEST_ID_HEADER] == "trace-hdr-1"
    assert REQUEST_ID_HEADER not in second.headers


def test_a_worker_runs_the_task_and_the_tasks_it_starts_with_the_request_id():
    from celery.contrib.testing.worker import start_worker

    app = _broker_app("hygiene-worker")
    app.conf.task_default_queue = "hygiene-worker"
    seen: dict[str, str] = {}
    done = threading.Event()

    @app.task(name="p2phub.tests.hygiene.child")
    def child():
        seen["child"] = current_request_context().request_id
        done.set()

    @app.task(name="p2phub.tests.hygiene.parent")
    def parent():
        seen["parent"] = current_request_context().request_id
        child.delay()  # published from inside the worker: the id goes along

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        token = bind_request_context(RequestContext(request_id="trace-worker-1"))
        try:
            parent.delay()
        finally:
            unbind_request_context(token)
        assert done.wait(timeout=30), "the worker did not run the tasks"
    assert seen == {"parent": "trace-worker-1", "child": "trace-worker-1"}


# --- Logging ------------------------------------------------------------------------------------

_BOOM_SCRIPT = """
import os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "p2phub.settings"
django.setup()
from django.test import Client
from django.test.utils import override_settings
with override_settings(ROOT_URLCONF="p2phub.tests.boom_urls"):
    response = Client(raise_request_exception=False).get(os.environ["BOOM_PATH"], HTTP_X_REQUEST_ID="trace-boom-1")
print("status", response.status_code)
"""


@pytest.mark.parametrize("debug", ["true", "false"])
@pytest.mark.parametrize("path", ["/api/v1/boom/", "/boom/"])
def test_an_unhandled_error_is_logged_once_with_its_traceback(debug, path, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", _BOOM_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=_clean_env(DJANGO_DEBUG=debug, BOOM_PATH=path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"),
    )
    output = result.stdout + result.stderr
    assert "status 500" in result.stdout, output
    error_lines = [line for line in output.splitlines() if re.search(r"\bERROR\b|Internal Server Error", line)]
    assert len(error_lines) == 1, output
    assert "[trace-boom-1]" in error_lines[0]
    assert output.count("Traceback (most recent call last)") == 1, output
    assert output.count("BoomError: boom from the") == 1, output


def test_response_log_lines_written_after_the_middleware_carry_the_request_id():
    request = RequestFactory().get("/missing/")
    request.request_id = "trace-404-1"
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/missing/",), None)
    record.request = request
    RequestIDLogFilter().filter(record)
    assert record.request_id == "trace-404-1"


# --- API docs offline ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_docs_load_their_assets_from_our_own_static_files(client, settings):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert not re.search(r"""(src|href)=["']https?://""", html), "the docs page loads something from outside"
    assets = re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    for asset in assets:
        assert finders.find(asset.removeprefix(settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/static/"))
        response = client.get(asset)
        assert response.status_code == 200, asset
        b"".join(response.streaming_content) if response.streaming else response.content


# --- gunicorn -----------------------------------------------------------------------------------


def test_gunicorn_workers_follow_the_machine_unless_web_concurrency_says(monkeypatch):
    config_file = str(ROOT / "p2phub" / "gunicorn.conf.py")
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    config = runpy.run_path(config_file)
    assert config["workers"] == os.cpu_count() + 1
    assert config["default_workers"](4) == 5
    assert config["accesslog"] == "-" and config["timeout"] > 0
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert runpy.run_path(config_file)["workers"] == 3


# --- demo_init_data --curl ------------------------------------------------------------------------


@pytest.mark.django_db
def test_demo_init_data_curl_prints_a_command_that_the_shell_runs_as_is(settings):
    settings.SITE_URL = "http://127.0.0.1:8123"
    out = StringIO()
    call_command("demo_init_data", "990000000000", "--curl", stdout=out)
    argv = shlex.split(out.getvalue())
    assert argv[:3] == ["curl", "-sS", "-H"]
    assert argv[4] == "http://127.0.0.1:8123/api/v1/me/"
    header = argv[3].removeprefix("Authorization: ")
    assert header.startswith("tma ")
    response = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 200
    assert response.json()["telegram_id"] == 990000000000

    out = StringIO()
    call_command("demo_init_data", "1", "--curl", "--base-url", "http://h:9/", "--path", "me/network/", stdout=out)
    assert shlex.split(out.getvalue())[-1] == "http://h:9/me/network/"
