"""Health endpoints, request ids, API schema and production settings."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_ping_answers_without_auth(client):
    response = client.get("/health/ping/")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_health_reports_each_dependency(client):
    body = client.get("/health/").json()
    assert body["status"] in {"healthy", "degraded"}
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_health_is_degraded_when_the_cache_fails(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2}}}
    # (the settings fixture's setting_changed signal rebuilds the cache handlers)
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["cache"]["status"] == "down"


@pytest.mark.django_db
def test_health_is_503_when_the_database_is_down(client, monkeypatch):
    from django.db import connection

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["status"] == "down"


@pytest.mark.django_db
def test_every_response_carries_a_request_id(client):
    generated = client.get("/health/ping/")["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/health/ping/", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    assert client.get("/health/ping/", HTTP_X_REQUEST_ID="bad id\r\nx")["X-Request-ID"] != "bad id\r\nx"
    assert client.get("/api/v1/me/")["X-Request-ID"]  # 401s too


@pytest.mark.django_db
def test_request_id_reaches_audit_rows(tma_client):
    from audit.models import AuditLog, EventType

    client = tma_client(999_001)
    client.get("/api/v1/me/", HTTP_X_REQUEST_ID="trace-42")
    assert AuditLog.objects.get(event_type=EventType.PARTNER_JOINED).request_id == "trace-42"


@pytest.mark.django_db
def test_schema_and_docs_are_public(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/me/network/{level}/" in schema.content
    assert b"TelegramInitData" in schema.content
    assert client.get("/api/docs/").status_code == 200


def _run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEGRAM_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean_env, **env}, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_secret_key():
    result = _run_manage("check", DJANGO_ENV="production", TELEGRAM_BOT_TOKEN="1:x")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY is required" in result.stderr


def test_production_refuses_to_start_without_bot_token():
    result = _run_manage("check", DJANGO_ENV="production", DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode != 0 and "TELEGRAM_BOT_TOKEN is required" in result.stderr


def test_production_settings_pass_the_deploy_checks():
    result = _run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_ENV="production", DJANGO_SECRET_KEY=secrets.token_urlsafe(50), TELEGRAM_BOT_TOKEN="1:x",
        DJANGO_ALLOWED_HOSTS="p2phub.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_landing_and_login_pages_render(client):
    assert b"Open P2PHub in Telegram" in client.get("/").content
    assert b"Sign in to P2PHub" in client.get("/accounts/login/").content


@pytest.mark.django_db
def test_staff_sign_in_lands_in_the_admin(client, django_user_model):
    django_user_model.objects.create_user("ops", password="pw-123456789", is_staff=True)
    response = client.post("/accounts/login/", {"username": "ops", "password": "pw-123456789"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
