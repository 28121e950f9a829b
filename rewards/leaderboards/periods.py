"""Boards, their time windows, and who may appear on them (SPEC §8)."""

from datetime import UTC, date, datetime, timedelta

from django.db.models import Q

BOARDS = ("xp", "week", "month", "streak")
XP_BOARDS = ("xp", "week", "month")


def week_window(now: datetime) -> tuple[datetime, datetime, str]:
    """[Monday 00:00 UTC, next Monday) of the ISO week containing `now`, and its label."""
    day = now.astimezone(UTC).date()
    monday = day - timedelta(days=day.weekday())
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC)
    year, week, _ = day.isocalendar()
    return start, start + timedelta(days=7), f"{year}-W{week:02d}"


def month_window(now: datetime) -> tuple[datetime, datetime, str]:
    day = now.astimezone(UTC).date()
    start = datetime(day.year, day.month, 1, tzinfo=UTC)
    end = datetime(day.year + (day.month == 12), day.month % 12 + 1, 1, tzinfo=UTC)
    return start, end, f"{day.year}-{day.month:02d}"


def xp_window(board: str, now: datetime) -> tuple[datetime, datetime] | None:
    if board == "week":
        return week_window(now)[:2]
    if board == "month":
        return month_window(now)[:2]
    return None


def utc_day(now: datetime) -> date:
    return now.astimezone(UTC).date()


def end_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def eligible_q(prefix: str = "") -> Q:
    """Members who may be ranked: active, not fraud-held, not opted out. Masked members are
    ranked (only their name is masked)."""
    from partners.models import Partner

    return (
        Q(**{f"{prefix}status": Partner.Status.ACTIVE, f"{prefix}fraud_hold": False})
        & ~Q(**{f"{prefix}leaderboard_visibility": Partner.LeaderboardVisibility.HIDDEN})
    )


def masked_name(name: str) -> str:
    """"Alice Smith" → "A***h": first and last character only."""
    name = name.strip()
    if len(name) <= 1:
        return f"{name or '?'}***"
    return f"{name[0]}***{name[-1]}"
