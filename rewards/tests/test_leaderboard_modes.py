"""Redis and database modes must give the same answers on the same data."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from audit.services import audit_record_many
from partners.models import Partner
from partners.tests.factories import PartnerFactory
from rewards import leaderboards
from rewards.leaderboards import redis_board
from rewards.leaderboards.periods import BOARDS
from rewards.models import XPEntry
from rewards.services import XPAward, checkin_record, xp_award, xp_award_many

pytestmark = [pytest.mark.redis, pytest.mark.django_db]


def snapshot(settings, backend, members):
    settings.LEADERBOARD_BACKEND = backend
    return {
        board: (
            leaderboards.leaderboard_top(board, limit=100),
            [leaderboards.leaderboard_rank(board, partner=m) for m in members],
        )
        for board in BOARDS
    }


@pytest.fixture
def scenario(committed):
    members = [PartnerFactory(first_name=f"M{i}", last_name="Z") for i in range(9)]
    key = iter(range(10_000))
    now = datetime.now(UTC)
    with committed():
        for member, amount in zip(members, (120, 120, 55, 300, 55, 10, 0, 120, 75), strict=True):
            if amount:
                xp_award(XPAward(partner_id=member.pk, amount=amount, kind="correction", idempotency_key=f"m:{next(key)}"))
        # one batch: identical reach time, the lower id wins the tie
        xp_award(XPAward(partner_id=members[5].pk, amount=45, kind="correction", idempotency_key=f"m:{next(key)}"))
        with transaction.atomic():
            result = xp_award_many([
                XPAward(partner_id=members[6].pk, amount=55, kind="correction", idempotency_key=f"m:{next(key)}"),
                XPAward(partner_id=members[8].pk, amount=-20, kind="correction", idempotency_key=f"m:{next(key)}"),
            ])
            audit_record_many(result.audit_entries)
        for n in (2, 1, 0):
            checkin_record(partner=members[0], now=now - timedelta(days=n))
            checkin_record(partner=members[4], now=now - timedelta(days=n + 1))
        Partner.objects.filter(pk=members[2].pk).update(leaderboard_visibility="masked")
        members[3].leaderboard_visibility = "hidden"
        members[3].save(update_fields=["leaderboard_visibility"])
        members[7].status = Partner.Status.BANNED
        members[7].save(update_fields=["status"])
    return members


def test_redis_and_database_modes_agree_live_and_after_rebuild(settings, scenario):
    assert redis_board.client().exists(f"{settings.LEADERBOARD_KEY_PREFIX}:xp")
    database = snapshot(settings, "database", scenario)
    # check-ins add 30 XP to M0 and M4; M2, M5 (10+45), M6 and M8 (75-20) tie at 55
    assert [row["score"] for row in database["xp"][0]] == [150, 120, 85, 55, 55, 55, 55]
    assert database["xp"][1][3]["rank"] is None  # hidden
    assert snapshot(settings, "redis", scenario) == database
    leaderboards.rebuild()
    assert snapshot(settings, "redis", scenario) == database


def test_rebuild_restores_lost_writes_and_ignores_stale_keys(settings, scenario):
    database = snapshot(settings, "database", scenario)
    conn = redis_board.client()
    conn.delete(f"{settings.LEADERBOARD_KEY_PREFIX}:xp")  # e.g. Redis restarted without persistence
    assert snapshot(settings, "redis", scenario)["xp"] != database["xp"]
    counts = leaderboards.rebuild()
    assert counts["xp"] == 7  # the hidden and the banned member are left out
    assert snapshot(settings, "redis", scenario) == database


def test_rebuild_replays_journaled_writes_the_snapshot_did_not_see(settings, scenario):
    settings.LEADERBOARD_BACKEND = "redis"
    _, flag, journal = redis_board.control_keys()
    member = scenario[0]
    before = leaderboards.leaderboard_rank("xp", partner=member)["score"]
    # A write the rebuild's snapshot will contain (journaled during the rebuild) is not replayed…
    conn = redis_board.client()
    conn.set(flag, "1")
    entry = XPEntry.objects.filter(partner=member).order_by("id").first()
    seen = {"op": "incr", "pid": str(member.pk), "amount": "999", "ref": f"xp:{entry.pk}",
            "member": redis_board.encode_member(member.pk, entry.created_at), "boards": []}
    # …while one committed after the snapshot (an id the snapshot cannot see) is.
    unseen = dict(seen, amount="7", ref="xp:999999999",
                  boards=[redis_board.board_spec(redis_board.board_key("xp", datetime.now(UTC)))])
    conn.rpush(journal, json.dumps(seen), json.dumps(unseen))
    counts = leaderboards.rebuild()
    assert counts["replayed"] == 1
    assert leaderboards.leaderboard_rank("xp", partner=member)["score"] == before + 7
    assert not conn.exists(flag) and not conn.exists(journal)


def test_writes_during_a_rebuild_are_journaled(settings, committed):
    member = PartnerFactory()
    _, flag, journal = redis_board.control_keys()
    conn = redis_board.client()
    conn.set(flag, "1")
    with committed():
        xp_award(XPAward(partner_id=member.pk, amount=5, kind="correction", idempotency_key="j:1"))
    ops = [json.loads(raw) for raw in conn.lrange(journal, 0, -1)]
    assert [(op["op"], op["pid"], op["amount"]) for op in ops] == [("incr", str(member.pk), "5")]
