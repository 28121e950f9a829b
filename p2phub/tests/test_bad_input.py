"""Issue 8, defect 9: bad input never answers 500 (API.md, Errors), and under /api/ every error
is JSON, with DEBUG on or off."""

import json

import pytest
from django.db import OperationalError

from p2phub.testing.telegram import signed_init_data

DEEP = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000

# Endpoints that read a JSON body: a body nested too deep is a 400 like any malformed JSON.
JSON_WRITES = [
    ("patch", "/api/v1/me/"),
    ("post", "/api/v1/payments/"),
    ("post", "/api/v1/payouts/"),
    ("post", "/api/v1/share/events/"),
]
# Endpoints that ignore their body: whatever it holds, they answer as usual (never a 5xx).
BODY_IGNORED = [
    ("post", "/api/v1/me/checkin/"),
    ("post", "/api/v1/tasks/daily_checkin/start/"),
    ("post", "/api/v1/me/notifications/read/"),
]


def _is_json_error(response) -> bool:
    return response["Content-Type"].startswith("application/json") and "detail" in response.json()


@pytest.fixture
def member(tma_client, db):
    client = tma_client(880001, username="bad")
    assert client.get("/api/v1/me/").status_code == 200
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
@pytest.mark.parametrize(("method", "path"), JSON_WRITES)
def test_json_nested_too_deep_is_a_400(member, method, path, body):
    response = getattr(member, method)(path, data=body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert _is_json_error(response)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), BODY_IGNORED)
def test_json_nested_too_deep_on_a_body_ignoring_endpoint_is_no_500(member, method, path):
    response = getattr(member, method)(path, data=DEEP, content_type="application/json")
    assert response.status_code < 500, response.content[:300]


@pytest.mark.django_db
def test_json_moderately_nested_is_still_parsed(member):
    # The parser's depth limit is far above anything an API client sends.
    body = {"method": "USDT", "extra": json.loads("[" * 20 + "]" * 20)}
    assert member.post("/api/v1/payments/", data=body, format="json").status_code == 201


@pytest.mark.django_db
def test_init_data_user_nested_too_deep_is_refused_not_500(api_client):
    raw = signed_init_data(bot_token="42:TEST", user_id=1, extra={"user": '{"id":1,"x":' + DEEP + "}"})
    api_client.credentials(HTTP_AUTHORIZATION=f"tma {raw}")
    response = api_client.get("/api/v1/me/")
    assert response.status_code in (400, 401, 403), response.content[:300]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/me/network/%00/",
        "/api/v1/tasks/%00/start/",
        "/api/v1/payments/%00/",
        "/api/v1/leaderboard/?board=%00",
        "/api/v1/leaderboard/?board=xp&limit=%00",
        "/api/v1/me/ledger/?currency=%00",
        "/api/v1/me/?x=%00",
    ],
)
def test_nul_byte_in_path_or_query_is_a_4xx(member, path):
    response = member.post(path) if "/start/" in path else member.get(path)
    assert response.status_code in (400, 404), response.content[:300]
    assert _is_json_error(response)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/admin/partners/partner/?q=%00",
        "/admin/payments/payment/?q=a%00b",
        "/admin/audit/auditlog/?q=%00",
        "/admin/partners/partner/%00/change/",
        "/r/%00",
        "/%00/",
    ],
)
def test_nul_byte_outside_the_api_is_a_4xx(client, staff_user, path):
    client.force_login(staff_user)
    response = client.get(path)
    assert response.status_code in (400, 404), response.content[:300]


@pytest.mark.django_db
def test_staff_audit_log_filters_with_nul_are_a_400(staff_client):
    response = staff_client.get("/api/v1/staff/audit-logs/?event_type=%00&partner=%00")
    assert response.status_code in (400, 404)
    assert _is_json_error(response)


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_api_unknown_path_is_a_json_404(client, settings, debug):
    settings.DEBUG = debug
    for path in ("/api/nope/", "/api/v1/nope/", "/api/v1/me/network/10/x/"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_api_wrong_method_is_a_json_405(member, settings, debug):
    settings.DEBUG = debug
    for path in ("/api/v1/me/", "/api/schema/", "/api/v1/leaderboard/"):
        response = member.delete(path)
        assert response.status_code == 405
        assert _is_json_error(response)


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_api_oversized_body_is_a_json_413(member, settings, debug):
    settings.DEBUG = debug
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"method": "USDT", "pad": "x" * 20_000})
    for method, path in (("post", "/api/v1/payments/"), ("patch", "/api/v1/me/")):
        response = getattr(member, method)(path, data=body, content_type="application/json")
        assert response.status_code == 413, response.content[:300]
        assert response.json()["code"] == "request_too_large"
    form = member.post("/api/v1/payments/", data={"method": "USDT", "pad": "x" * 20_000})
    assert form.status_code == 413


@pytest.mark.django_db
def test_api_body_within_the_limit_is_served(member, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = member.post("/api/v1/payments/", data={"method": "USDT"}, format="json")
    assert response.status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True])
def test_api_server_error_is_json(settings, debug):
    from django.test import Client

    settings.ROOT_URLCONF = "p2phub.tests.boom_urls"
    settings.DEBUG = debug
    response = Client(raise_request_exception=False).get("/api/v1/boom/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Server error.", "code": "server_error"}
    assert "boom" not in response.content.decode()


@pytest.mark.django_db
def test_pages_outside_the_api_keep_html_errors(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_health_does_not_show_raw_database_errors(client, monkeypatch, caplog):
    from django.db import connection

    secret = 'FATAL: password authentication failed for user "p2phub" at host "db.internal"'

    def refuse(*args, **kwargs):
        raise OperationalError(secret)

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["status"] == "down"
    assert "db.internal" not in response.content.decode()
    assert "password" not in response.content.decode()
    assert "db.internal" in caplog.text  # the details are logged for operators
