"""Leaderboards (SPEC §8): all-time XP, this ISO week's XP, this month's XP, current streak.

Redis sorted sets when LEADERBOARD_BACKEND == "redis" (REDIS_URL set), the database
otherwise; both give the same answers (see `redis_board` for the tie-break encoding). When
Redis is unreachable, reads fall back to the database (SPEC §14): members are still served.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from p2phub.token_cache import EXPIRES_AT, token_cached
from partners.models import Partner
from rewards.leaderboards import db, redis_board
from rewards.leaderboards.periods import BOARDS, eligible_q, masked_name
from rewards.leaderboards.sync import rebuild, record_streak, record_xp, redis_enabled, sync_partner

__all__ = [
    "BOARDS", "leaderboard_top", "leaderboard_rank", "record_xp", "record_streak", "rebuild",
    "sync_partner", "redis_enabled",
]


logger = logging.getLogger(__name__)


def _backend():
    return redis_board if settings.LEADERBOARD_BACKEND == "redis" else db


def _redis_unavailable(error: Exception) -> None:
    logger.warning("Leaderboard Redis unavailable, answering from the database: %s", error)


# A cached top list lives at most this long; it is replaced well before by every board write.
TOP_CACHE_SECONDS = 3600


def leaderboard_top(board: str, *, limit: int = 20, now: datetime | None = None) -> list[dict]:
    """The top `limit` ranked members: [{rank, partner_id, name, score, xp_level, is_pro}].
    Three queries whatever the limit (board, partners, XP levels); in Redis mode a member who
    became ineligible since the last sync is skipped here too.

    In Redis mode the answer is cached (p2phub.token_cache) under `redis_board.TOP_TOKEN`, which
    every write to the boards replaces (XP, streaks, a member's sync after a change of status,
    visibility, name or PRO, a rebuild), and it expires when a listed member's PRO period ends:
    a warm top list costs one cache round trip and no query."""
    now = now or timezone.now()
    backend = _backend()
    if backend is redis_board:
        try:
            key, _ = redis_board.board_key(board, now)
            cached = token_cached(
                (redis_board.TOP_TOKEN,), f"leaderboards:top:{key}:{limit}",
                lambda: _top_fields(redis_board, board, limit, now), timeout=TOP_CACHE_SECONDS,
            )
            return cached["rows"]
        except redis_board.REDIS_ERRORS as error:
            _redis_unavailable(error)
            backend = db
    return _top_fields(backend, board, limit, now)["rows"]


def _top_fields(backend, board: str, limit: int, now: datetime) -> dict:
    """{"rows": the top list, EXPIRES_AT: the end of the first listed PRO period (is_pro flips)}."""
    from rewards.levels import level_for_xp
    from rewards.selectors import xp_balances

    picked: list[tuple[Partner, int]] = []
    offset = 0
    while len(picked) < limit:
        wanted = limit - len(picked)
        rows = backend.top(board, wanted, now, offset=offset)
        offset += len(rows)
        partners = Partner.objects.filter(eligible_q()).in_bulk([pid for pid, _ in rows]) if rows else {}
        picked.extend((partners[pid], score) for pid, score in rows if pid in partners)
        if len(rows) < wanted:
            break
    xp = xp_balances(p.pk for p, _ in picked)
    pro_ends = [p.pro_expires_at for p, _ in picked if p.pro_active_at(now)]
    result = []
    for position, (partner, score) in enumerate(picked, start=1):
        name = partner.display_name
        if partner.leaderboard_visibility == Partner.LeaderboardVisibility.MASKED:
            name = masked_name(name)
        result.append(
            {
                "rank": position,
                "partner_id": partner.pk,
                "name": name,
                "score": score,
                "xp_level": level_for_xp(xp.get(partner.pk, 0)),
                "is_pro": partner.pro_active_at(now),
            }
        )
    return {"rows": result, EXPIRES_AT: min(pro_ends, default=None)}


def leaderboard_rank(board: str, *, partner: Partner, now: datetime | None = None) -> dict:
    """{rank, score} of one member; rank is None when they are not ranked on this board."""
    now = now or timezone.now()
    if settings.LEADERBOARD_BACKEND == "redis":
        try:
            rank, score = redis_board.rank_of(board, partner.pk, now)
        except redis_board.REDIS_ERRORS as error:
            _redis_unavailable(error)
            rank, score = db.rank_of(board, partner.pk, now)
            return {"rank": rank, "score": score}
        if rank is not None:
            return {"rank": rank, "score": score}
        mine = db.score_of(board, partner.pk, now)  # not ranked: still show their own score
        return {"rank": None, "score": mine[0] if mine else 0}
    rank, score = db.rank_of(board, partner.pk, now)
    return {"rank": rank, "score": score}
