import hashlib
import hmac
import time

import pytest

from dashboard.services import member_web_user
from partners.tests.factories import PartnerFactory

WIDGET_BOT_TOKEN = "42:TEST"  # the root conftest's test bot token


def signed_widget_data(*, user_id: int, bot_token: str = WIDGET_BOT_TOKEN, auth_date: int | None = None, **fields) -> dict:
    """Login Widget fields signed like Telegram does (SPEC §15: secret = SHA-256(bot token))."""
    data = {"id": str(user_id), "first_name": "Ann", "auth_date": str(int(time.time()) if auth_date is None else auth_date)}
    data.update({key: str(value) for key, value in fields.items()})
    check = "\n".join(f"{key}={value}" for key, value in sorted(data.items()))
    data["hash"] = hmac.new(hashlib.sha256(bot_token.encode()).digest(), check.encode(), hashlib.sha256).hexdigest()
    return data


@pytest.fixture
def widget_data():
    return signed_widget_data


@pytest.fixture
def member(db):
    return PartnerFactory(first_name="Mia", last_name="Stone", username="mia")


@pytest.fixture
def member_client(client, member):
    """A Django test client signed in to the dashboard as `member`."""
    client.force_login(member_web_user(partner=member))
    return client


@pytest.fixture
def sign_in(client):
    def build(partner):
        client.force_login(member_web_user(partner=partner))
        return client

    return build


# The payments app's fake rate source + TON indexer (a local HTTP server speaking their wire format).
from payments.tests.conftest import ton_env, wallets  # noqa: E402, F401
