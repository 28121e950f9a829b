"""SPEC §15: initData and Login Widget verification, byte for byte."""

import pytest

from p2phub.testing.telegram import signed_init_data
from partners.telegram_auth import TelegramAuthError, verify_init_data, verify_login_widget

SPEC_VECTOR = (
    "auth_date=1650385342&user=%7B%22id%22%3A42%2C%22first_name%22%3A%22Test%22%7D&query_id=test"
    "&hash=46d2ea5e32911ec8d30999b56247654460c0d20949b6277af519e76271182803"
)
NOW = 1650385342


def verify(raw, *, token="42:TEST", now=NOW, max_age=3600):
    return verify_init_data(raw, bot_token=token, now=now, max_age_seconds=max_age)


def test_spec_vector_is_valid_with_its_token():
    data = verify(SPEC_VECTOR)
    assert data.user.id == 42
    assert data.user.first_name == "Test"
    assert data.query_id == "test"


def test_spec_vector_fails_with_another_token():
    with pytest.raises(TelegramAuthError, match="does not match"):
        verify(SPEC_VECTOR, token="42:INVALID")


@pytest.mark.parametrize(
    "raw, reason",
    [
        (SPEC_VECTOR.replace("query_id=test", "query_id=tesT"), "does not match"),
        (SPEC_VECTOR.replace("%22Test%22", "%22Evil%22"), "does not match"),
        (SPEC_VECTOR.split("&hash=")[0], "hash is missing"),
        (SPEC_VECTOR.replace("hash=46d2", "hash=zzzz"), "not a hex"),
        (SPEC_VECTOR.replace("hash=46d2ea5e", "hash=46D2EA5E"), "not a hex"),
        (SPEC_VECTOR + "&query_id=again", "repeats a key"),
        (SPEC_VECTOR + "&hash=46d2ea5e32911ec8d30999b56247654460c0d20949b6277af519e76271182803", "repeats a key"),
        ("", "empty or too large"),
        ("auth_date=1&user=" + "A" * 20 * 1024, "empty or too large"),
        ("no-equals-sign&&&", "not a valid query string"),
    ],
)
def test_malformed_or_tampered_init_data_is_rejected(raw, reason):
    with pytest.raises(TelegramAuthError, match=reason):
        verify(raw)


def test_stale_init_data_is_rejected():
    with pytest.raises(TelegramAuthError, match="too old"):
        verify(SPEC_VECTOR, now=NOW + 3601)


def test_init_data_just_within_max_age_is_accepted():
    assert verify(SPEC_VECTOR, now=NOW + 3600).user.id == 42


def test_future_dated_init_data_is_rejected():
    raw = signed_init_data(bot_token="42:TEST", user_id=7, auth_date=NOW + 600)
    with pytest.raises(TelegramAuthError, match="future"):
        verify(raw)


def test_signature_field_is_part_of_the_data_check_string():
    raw = signed_init_data(bot_token="42:TEST", user_id=7, auth_date=NOW, extra={"signature": "abc"})
    assert verify(raw).user.id == 7
    with pytest.raises(TelegramAuthError, match="does not match"):
        verify(raw.replace("signature=abc", "signature=abd"))


def test_start_param_is_returned():
    raw = signed_init_data(bot_token="42:TEST", user_id=7, auth_date=NOW, start_param="P2P-ABCDEF12")
    assert verify(raw).start_param == "P2P-ABCDEF12"


def test_user_without_integer_id_is_rejected():
    raw = signed_init_data(bot_token="42:TEST", user_id=7, auth_date=NOW, extra={"user": '{"id":"7"}'})
    with pytest.raises(TelegramAuthError, match="user.id"):
        verify(raw)


def test_login_widget_spec_vector():
    data = {
        "id": "42",
        "first_name": "John",
        "last_name": "Smith",
        "username": "username",
        "photo_url": "https://t.me/i/userpic/320/picname.jpg",
        "auth_date": "1565810688",
        "hash": "c303db2b5a06fe41d23a9b14f7c545cfc11dcc7473c07c9c5034ae60062461ce",
    }
    user = verify_login_widget(data, bot_token="123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", now=1565810688, max_age_seconds=None)
    assert (user.id, user.username) == (42, "username")
    with pytest.raises(TelegramAuthError):
        verify_login_widget({**data, "first_name": "Jon"}, bot_token="123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11", now=1565810688, max_age_seconds=None)
