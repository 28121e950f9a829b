"""Production refuses to start with a blank, whitespace-only or malformed bot token."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _check(token: str) -> subprocess.CompletedProcess:
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEGRAM_"))}
    env = {
        **clean_env,
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "p2phub.example.com",
        "TELEGRAM_BOT_TOKEN": token,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("token", ["", "   ", "\t\n"])
def test_production_refuses_a_blank_bot_token(token):
    result = _check(token)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "TELEGRAM_BOT_TOKEN is required" in result.stderr


@pytest.mark.parametrize(
    "token",
    ["changeme", "123456", "123456:", ":ABC-def", "abc:DEF", "123456:ABC DEF", "123456:ABC:DEF", "12 34:ABC"],
)
def test_production_refuses_a_malformed_bot_token(token):
    result = _check(token)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "TELEGRAM_BOT_TOKEN is malformed" in result.stderr


@pytest.mark.parametrize("token", ["123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", " 42:TEST\n"])
def test_production_accepts_a_well_formed_bot_token(token):
    result = _check(token)
    assert result.returncode == 0, result.stderr

