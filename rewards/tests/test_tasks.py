from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from audit.models import AuditLog, EventType
from p2phub.testing.concurrency import raised, returned, run_concurrently
from p2phub.testing.fake_http import FakeResponse
from partners.tests.factories import PartnerFactory, make_pro
from rewards.models import Task, TaskProgress, XPEntry
from rewards.services import checkin_record, task_claim, task_start, tasks_cleanup_stale

pytestmark = pytest.mark.django_db
MEMBER_PATH = "/bot42:TEST/getChatMember"

SEEDED = [
    "telegram_bot", "banking_app", "community_chat", "ambassador_hub", "daily_checkin_5",
    "invite_1_friend", "invite_3_friends", "invite_5_friends", "invite_10_friends", "invite_25_friends",
    "invite_50_friends", "invite_100_friends", "invite_250_friends", "invite_500_friends",
]


def task_xp(partner, task_id):
    return list(XPEntry.objects.filter(partner=partner, kind="task", metadata__task=task_id).values_list("amount", flat=True))


def test_data_migration_seeds_the_fourteen_spec_tasks():
    tasks = {t.id: t for t in Task.objects.all()}
    assert list(tasks) == SEEDED
    assert [tasks[f"invite_{n}_friend{'s' if n > 1 else ''}"].reward_xp for n in (1, 3, 5, 10, 25, 50, 100, 250, 500)] == [
        100, 150, 200, 350, 500, 700, 1200, 2500, 5000,
    ]
    assert (tasks["daily_checkin_5"].reward_xp, tasks["daily_checkin_5"].requirement) == (100, 5)
    assert {tasks[t].reward_xp for t in SEEDED[:4]} == {25}


def test_task_list_reports_status_progress_and_pro_reward(tma_client, django_assert_num_queries):
    partner = make_pro(PartnerFactory())
    client = tma_client(partner)
    client.post("/api/v1/tasks/invite_3_friends/start/")
    client.post("/api/v1/tasks/daily_checkin_5/start/")
    client.post("/api/v1/tasks/telegram_bot/start/")
    client.post("/api/v1/tasks/telegram_bot/claim/")
    PartnerFactory(referrer=partner)
    response = client.get("/api/v1/tasks/")
    assert response.status_code == 200
    body = {row["id"]: row for row in response.json()}
    assert (body["invite_3_friends"]["status"], body["invite_3_friends"]["progress"], body["invite_3_friends"]["requirement"]) == ("started", 1, 3)
    assert body["invite_3_friends"]["reward_xp"] == 750
    assert (body["telegram_bot"]["status"], body["telegram_bot"]["awarded_xp"]) == ("completed", 125)
    assert (body["invite_5_friends"]["status"], body["invite_5_friends"]["progress"]) == ("available", 0)
    assert body["community_chat"]["verifies_membership"] is True

    from rewards.selectors import task_states

    # catalogue, progress rows, one referral count, check-ins of the started check-in task
    with django_assert_num_queries(4):
        task_states(partner)
    PartnerFactory(referrer=partner)
    task_start(partner=partner, task_id="invite_10_friends")
    with django_assert_num_queries(4):
        task_states(partner)


def test_start_is_idempotent_and_keeps_the_first_snapshot(tma_client):
    partner = PartnerFactory()
    client = tma_client(partner)
    first = client.post("/api/v1/tasks/invite_1_friend/start/")
    started_at = TaskProgress.objects.get(partner=partner).started_at
    second = client.post("/api/v1/tasks/invite_1_friend/start/")
    assert first.status_code == second.status_code == 200
    assert second.json()["status"] == "started"
    assert TaskProgress.objects.get(partner=partner).started_at == started_at


def test_invite_3_friends_needs_three_direct_referrals_after_start(tma_client):
    partner = PartnerFactory()
    PartnerFactory(referrer=partner)  # before start: does not count
    client = tma_client(partner)
    client.post("/api/v1/tasks/invite_3_friends/start/")
    for _ in range(2):
        PartnerFactory(referrer=partner)
    PartnerFactory(referrer=PartnerFactory())  # someone else's referral
    early = client.post("/api/v1/tasks/invite_3_friends/claim/")
    assert early.status_code == 400
    assert early.json() == {"detail": "Requirement not met. Progress: 2/3", "code": "requirement_not_met"}
    PartnerFactory(referrer=partner)
    paid = client.post("/api/v1/tasks/invite_3_friends/claim/")
    assert paid.status_code == 200
    assert (paid.json()["awarded_xp"], paid.json()["task"]["status"]) == (150, "completed")
    again = client.post("/api/v1/tasks/invite_3_friends/claim/")
    assert (again.status_code, again.json()["code"]) == (409, "already_claimed")
    assert task_xp(partner, "invite_3_friends") == [150]
    assert AuditLog.objects.filter(partner_id=partner.pk, event_type=EventType.TASK_COMPLETED).count() == 1


def test_invite_3_friends_pays_750_to_pro():
    partner = make_pro(PartnerFactory())
    task_start(partner=partner, task_id="invite_3_friends")
    for _ in range(3):
        PartnerFactory(referrer=partner)
    awarded, state = task_claim(partner=partner, task_id="invite_3_friends")
    assert (awarded, state.status) == (750, "completed")


def test_fraud_held_referrals_do_not_count():
    partner = PartnerFactory()
    task_start(partner=partner, task_id="invite_1_friend")
    held = PartnerFactory(referrer=partner)
    type(held).objects.filter(pk=held.pk).update(fraud_hold=True)
    with pytest.raises(Exception, match="Progress: 0/1"):
        task_claim(partner=partner, task_id="invite_1_friend")


def test_claim_before_start_unknown_task_and_inactive_task(tma_client):
    client = tma_client(PartnerFactory())
    not_started = client.post("/api/v1/tasks/invite_1_friend/claim/")
    assert (not_started.status_code, not_started.json()["code"]) == (400, "task_not_started")
    assert client.post("/api/v1/tasks/no_such_task/claim/").status_code == 404
    assert client.post("/api/v1/tasks/no_such_task/start/").status_code == 404
    Task.objects.filter(pk="banking_app").update(is_active=False)
    assert client.post("/api/v1/tasks/banking_app/start/").status_code == 404
    assert "banking_app" not in {row["id"] for row in client.get("/api/v1/tasks/").json()}


def test_social_task_without_chat_pays_after_start():
    partner = PartnerFactory()
    task_start(partner=partner, task_id="banking_app")
    assert task_claim(partner=partner, task_id="banking_app")[0] == 25


@pytest.fixture
def bot_api(settings, fake_http_server):
    settings.TELEGRAM_API_BASE_URL = fake_http_server.url
    settings.HTTP_CLIENT_TIMEOUT_SECONDS = 2.0
    return fake_http_server


def chat_member(status):
    return {"ok": True, "result": {"user": {"id": 1, "is_bot": False, "first_name": "A"}, "status": status}}


def test_chat_task_pays_when_the_bot_api_says_member(tma_client, bot_api):
    partner = PartnerFactory()
    bot_api.respond_json("POST", MEMBER_PATH, chat_member("member"))
    client = tma_client(partner)
    client.post("/api/v1/tasks/community_chat/start/")
    response = client.post("/api/v1/tasks/community_chat/claim/")
    assert (response.status_code, response.json()["awarded_xp"]) == (200, 25)
    assert bot_api.requests[0].json == {"chat_id": "@p2phub_community", "user_id": partner.telegram_id}


def test_chat_task_refuses_non_members(tma_client, bot_api):
    partner = PartnerFactory()
    bot_api.respond_json("POST", MEMBER_PATH, chat_member("left"))
    client = tma_client(partner)
    client.post("/api/v1/tasks/community_chat/start/")
    response = client.post("/api/v1/tasks/community_chat/claim/")
    assert (response.status_code, response.json()["code"]) == (400, "not_a_chat_member")
    assert task_xp(partner, "community_chat") == []


@pytest.mark.parametrize(
    ("status", "payload", "code"),
    [
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, "telegram_unavailable"),
        (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot is not a member of the supergroup chat"}, "verification_unavailable"),
    ],
)
def test_chat_task_bot_api_failure_answers_503_without_paying(tma_client, bot_api, status, payload, code):
    partner = PartnerFactory()
    bot_api.add_route("POST", MEMBER_PATH, lambda _r: FakeResponse(status=status, json=payload))
    client = tma_client(partner)
    client.post("/api/v1/tasks/ambassador_hub/start/")
    response = client.post("/api/v1/tasks/ambassador_hub/claim/")
    assert (response.status_code, response.json()["code"]) == (503, code)
    assert TaskProgress.objects.get(partner=partner, task_id="ambassador_hub").completed_at is None


def _checkin_days(partner, start, offsets):
    for n in offsets:
        checkin_record(partner=partner, now=start + timedelta(days=n))


def test_daily_checkin_5_counts_consecutive_checkins_after_start_and_restarts_after_a_break():
    partner = PartnerFactory()
    # Days from today on: the run must still be alive relative to the real clock.
    start = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    _checkin_days(partner, start - timedelta(days=2), [0, 1])  # before start
    TaskProgress.objects.create(partner=partner, task_id="daily_checkin_5", started_at=start - timedelta(hours=1))
    _checkin_days(partner, start, [0, 1, 2])  # run of 3 (the streak is 5, but 2 came before start)
    with pytest.raises(Exception, match="Progress: 3/5"):
        task_claim(partner=partner, task_id="daily_checkin_5")
    _checkin_days(partner, start, [4, 5])  # missed a day: the count restarts
    with pytest.raises(Exception, match="Progress: 2/5"):
        task_claim(partner=partner, task_id="daily_checkin_5")
    assert task_start(partner=partner, task_id="daily_checkin_5").progress == 2
    _checkin_days(partner, start, [6, 7, 8])
    assert task_claim(partner=partner, task_id="daily_checkin_5")[0] == 100


def test_daily_checkin_5_progress_is_zero_once_the_run_is_broken():
    partner = PartnerFactory()
    long_ago = datetime.now(UTC) - timedelta(days=10)
    TaskProgress.objects.create(partner=partner, task_id="daily_checkin_5", started_at=long_ago - timedelta(hours=1))
    _checkin_days(partner, long_ago, [0, 1, 2])
    assert task_start(partner=partner, task_id="daily_checkin_5").progress == 0


def test_cleanup_removes_only_stale_uncompleted_tasks():
    partner = PartnerFactory()
    old = datetime.now(UTC) - timedelta(days=31)
    stale = TaskProgress.objects.create(partner=partner, task_id="invite_1_friend", started_at=old, touched_at=old)
    fresh = TaskProgress.objects.create(partner=partner, task_id="invite_3_friends", started_at=old, touched_at=datetime.now(UTC))
    done = TaskProgress.objects.create(partner=partner, task_id="banking_app", started_at=old, touched_at=old, completed_at=old)
    call_command("cleanup_stale_tasks")
    assert set(TaskProgress.objects.values_list("pk", flat=True)) == {fresh.pk, done.pk}
    assert not TaskProgress.objects.filter(pk=stale.pk).exists()
    assert tasks_cleanup_stale() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_claims_pay_once():
    # Transactional tests may run after another one flushed the seeded catalogue.
    Task.objects.get_or_create(pk="banking_app", defaults={"type": "social", "title": "Bank", "reward_xp": 25})
    partner = PartnerFactory()
    task_start(partner=partner, task_id="banking_app")
    outcomes = run_concurrently(lambda _: task_claim(partner=partner, task_id="banking_app")[0], 50)
    paid = returned(outcomes)
    conflicts = [exc for exc in raised(outcomes) if getattr(exc, "code", "") == "already_claimed"]
    assert [exc for exc in raised(outcomes) if exc not in conflicts] == []
    assert (paid, len(conflicts)) == ([25], 49)
    assert task_xp(partner, "banking_app") == [25]
