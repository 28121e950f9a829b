"""Keeping the Redis boards equal to the database: after-commit writes, eligibility changes,
and a full rebuild from the ledger. All of it is a no-op in database mode."""

import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from partners.models import Partner
from rewards.leaderboards import db, redis_board
from rewards.leaderboards.periods import XP_BOARDS, eligible_q, utc_day
from rewards.models import Streak, XPEntry

logger = logging.getLogger(__name__)
_BATCH = 10_000


def redis_enabled() -> bool:
    return settings.LEADERBOARD_BACKEND == "redis"


def _safe_write(ops: list[dict]) -> None:
    """After commit, the change is durable in the database whatever Redis says; a failed write
    is logged and repaired by `rebuild_leaderboards`, never raised into the request."""
    try:
        redis_board.write(ops)
    except Exception:  # noqa: BLE001 — Redis down must not turn a committed action into an error
        logger.exception("Leaderboard write failed (%s ops); run rebuild_leaderboards to repair", len(ops))


def _xp_boards(at: datetime) -> list[list]:
    return [redis_board.board_spec(redis_board.board_key(board, at)) for board in XP_BOARDS]


def _streak_boards(day) -> list[list]:
    # A check-in on `day` keeps the streak alive on `day` and `day + 1`.
    return [redis_board.board_spec(redis_board.streak_key(day + timedelta(days=n))) for n in (0, 1)]


def record_xp(gains: list[tuple[int, int, datetime, int]]) -> None:
    """(partner_id, amount, created_at, an entry id of that commit) per recipient. Registered with
    transaction.on_commit by xp_award_many."""
    if not redis_enabled() or not gains:
        return
    _safe_write(
        [
            {
                "op": "incr", "pid": str(pid), "amount": str(amount), "ref": f"xp:{entry_id}",
                "member": redis_board.encode_member(pid, at), "boards": _xp_boards(at),
            }
            for pid, amount, at, entry_id in gains
        ]
    )


def record_streak(partner_id: int, streak: int, day, at: datetime) -> None:
    if not redis_enabled():
        return
    _safe_write(
        [{"op": "set", "pid": str(partner_id), "amount": str(streak),
          "member": redis_board.encode_member(partner_id, at), "boards": _streak_boards(day)}]
    )


def sync_partner(partner_id: int) -> None:
    """Re-derive one member's presence on every current board from the database (after a
    change of visibility, status or fraud hold). Call it after commit."""
    if not redis_enabled():
        return
    now = timezone.now()
    today = utc_day(now)
    xp_boards = _xp_boards(now)
    streak_boards = [redis_board.board_spec(redis_board.streak_key(today + timedelta(days=n))) for n in (0, 1)]
    if not Partner.objects.filter(eligible_q(), pk=partner_id).exists():
        _safe_write([{"op": "exclude", "pid": str(partner_id), "boards": xp_boards + streak_boards}])
        return
    ops: list[dict] = [{"op": "include", "pid": str(partner_id), "boards": []}]
    for board, spec in zip(XP_BOARDS, xp_boards, strict=True):
        mine = db.score_of(board, partner_id, now)
        if mine:
            ops.append({"op": "set", "pid": str(partner_id), "amount": str(mine[0]),
                        "member": redis_board.encode_member(partner_id, mine[1]), "boards": [spec]})
    streak = Streak.objects.filter(partner_id=partner_id, current__gt=0).first()
    if streak and streak.last_checkin_date and streak.last_checkin_date >= today - timedelta(days=1):
        ops.append({"op": "set", "pid": str(partner_id), "amount": str(streak.current),
                    "member": redis_board.encode_member(partner_id, streak.last_checkin_at),
                    "boards": _streak_boards(streak.last_checkin_date)})
    _safe_write(ops)


def on_partner_saved(sender, instance: Partner, created: bool, update_fields=None, **kwargs) -> None:
    watched = {"status", "fraud_hold", "leaderboard_visibility"}
    if not redis_enabled() or (update_fields is not None and not watched & set(update_fields)):
        return
    eligible = (
        instance.status == Partner.Status.ACTIVE
        and not instance.fraud_hold
        and instance.leaderboard_visibility != Partner.LeaderboardVisibility.HIDDEN
    )
    if created and eligible:
        return  # a new eligible member has nothing on any board yet (and signups stay query-free)
    transaction.on_commit(lambda: sync_partner(instance.pk), robust=True)


def rebuild(now: datetime | None = None) -> dict[str, int]:
    """Rebuild every current board from the ledger and streak table into fresh keys, then swap
    them in atomically. Writes committed while the rebuild reads are journaled by the write
    script and replayed at the swap, except those the rebuild's snapshot already counted
    (checked inside the same REPEATABLE READ snapshot on PostgreSQL)."""
    now = now or timezone.now()
    conn = redis_board.client()
    excluded_key, flag_key, journal_key = redis_board.control_keys()
    conn.set(flag_key, now.isoformat(), ex=3600)
    counts: dict[str, int] = {}
    renames: list[list[str]] = []
    try:
        with transaction.atomic():
            _repeatable_read()
            for board in XP_BOARDS:
                key, expiry = redis_board.board_key(board, now)
                counts[board] = _load(conn, key, expiry, db.board_rows(board, now).iterator(chunk_size=_BATCH), renames)
            key, expiry = redis_board.board_key("streak", now)
            counts["streak"] = _load(conn, key, expiry, db.board_rows("streak", now).iterator(chunk_size=_BATCH), renames)
            tomorrow = db.board_rows("streak", now).filter(last_checkin_date=utc_day(now))
            key, expiry = redis_board.streak_key(utc_day(now) + timedelta(days=1))
            _load(conn, key, expiry, tomorrow.iterator(chunk_size=_BATCH), renames)
            counts["excluded"] = _load_excluded(conn, excluded_key, renames)
            visible = _visible_refs([raw.decode() for raw in conn.lrange(journal_key, 0, -1)])
        counts["replayed"] = redis_board.swap({"renames": renames, "visible": visible}, conn)
    except BaseException:
        conn.delete(flag_key, *[tmp for tmp, _ in renames])
        raise
    return counts


def _repeatable_read() -> None:
    # Only possible as the transaction's first statement (not inside an outer atomic block,
    # e.g. in tests); elsewhere the surrounding transaction already fixes what we read.
    if connection.vendor == "postgresql" and len(connection.savepoint_ids) == 0 and not connection.needs_rollback:
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _load(conn, key: str, expiry: int, rows, renames: list) -> int:
    tmp = f"{key}:rebuild"
    conn.delete(tmp, f"{tmp}:m")
    count = 0
    pipe = conn.pipeline(transaction=False)
    for row in rows:
        member = redis_board.encode_member(row["partner_id"], row["reached"])
        pipe.zadd(tmp, {member: int(row["score"])})
        pipe.hset(f"{tmp}:m", str(row["partner_id"]), member)
        count += 1
        if count % _BATCH == 0:
            pipe.execute()
    if expiry:
        pipe.expireat(tmp, expiry)
        pipe.expireat(f"{tmp}:m", expiry)
    pipe.execute()
    renames.extend([[tmp, key], [f"{tmp}:m", f"{key}:m"]])
    return count


def _load_excluded(conn, key: str, renames: list) -> int:
    tmp = f"{key}:rebuild"
    conn.delete(tmp)
    ids = Partner.objects.exclude(eligible_q()).order_by().values_list("pk", flat=True).iterator(chunk_size=_BATCH)
    count, batch = 0, []
    for pk in ids:
        batch.append(str(pk))
        if len(batch) == _BATCH:
            conn.sadd(tmp, *batch)
            count, batch = count + len(batch), []
    if batch:
        conn.sadd(tmp, *batch)
        count += len(batch)
    renames.append([tmp, key])
    return count


def _visible_refs(refs_json: list[str]) -> list[str]:
    refs = [json.loads(raw).get("ref") for raw in refs_json]
    ids = {int(ref.split(":", 1)[1]) for ref in refs if ref and ref.startswith("xp:")}
    if not ids:
        return []
    return [f"xp:{pk}" for pk in XPEntry.objects.filter(pk__in=ids).values_list("pk", flat=True)]
