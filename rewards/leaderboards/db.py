"""Leaderboards answered by the database (no Redis configured). Same ordering as Redis:
score descending, then whoever reached the score first, then the lower partner id."""

from datetime import datetime, timedelta

from django.db.models import F, Max, Q, QuerySet, Sum

from partners.models import Partner
from rewards.leaderboards.periods import eligible_q, utc_day, xp_window
from rewards.models import Streak, XPEntry


def board_rows(board: str, now: datetime, *, eligible_only: bool = True) -> QuerySet:
    """Rows of {partner_id, score, reached} for a board, ordered best first."""
    if board == "streak":
        qs = Streak.objects.filter(current__gt=0, last_checkin_date__gte=utc_day(now) - timedelta(days=1))
        if eligible_only:
            qs = qs.filter(partner__in=Partner.objects.filter(eligible_q()).values("pk"))
        qs = qs.annotate(score=F("current"), reached=F("last_checkin_at")).values("partner_id", "score", "reached")
    else:
        qs = XPEntry.objects.all()
        window = xp_window(board, now)
        if window:
            qs = qs.filter(created_at__gte=window[0], created_at__lt=window[1])
        if eligible_only:
            qs = qs.filter(partner__in=Partner.objects.filter(eligible_q()).values("pk"))
        qs = qs.values("partner_id").annotate(score=Sum("amount"), reached=Max("created_at"))
    return qs.order_by("-score", "reached", "partner_id")


def top(board: str, limit: int, now: datetime, offset: int = 0) -> list[tuple[int, int]]:
    rows = board_rows(board, now)[offset : offset + limit]
    return [(row["partner_id"], int(row["score"])) for row in rows]


def score_of(board: str, partner_id: int, now: datetime) -> tuple[int, datetime | None] | None:
    row = board_rows(board, now, eligible_only=False).filter(partner_id=partner_id).first()
    return (int(row["score"]), row["reached"]) if row else None


def rank_of(board: str, partner_id: int, now: datetime) -> tuple[int | None, int]:
    mine = score_of(board, partner_id, now)
    if mine is None:
        return None, 0
    score, reached = mine
    if not Partner.objects.filter(eligible_q(), pk=partner_id).exists():
        return None, score
    before = board_rows(board, now).filter(
        Q(score__gt=score) | Q(score=score, reached__lt=reached) | Q(score=score, reached=reached, partner_id__lt=partner_id)
    )
    return before.count() + 1, score
