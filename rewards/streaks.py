"""Streak arithmetic (SPEC §5), pure functions so every rule is testable without a database.

Freeze rule: a member who is PRO at the moment of a check-in, whose previous check-in was two
days earlier (exactly one missed day), continues the streak if no freeze has been used for the
ISO week of the missed day. The bridged day adds nothing to the streak (streak + 1, not + 2) and
the use is recorded on the check-in row (`freeze_week`, unique per member).
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings


def iso_week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class StreakStep:
    streak: int
    freeze_week: str | None  # set when a PRO freeze bridged a missed day


def next_streak(
    *, previous_day: date | None, previous_streak: int, today: date, is_pro: bool, used_freeze_weeks: set[str]
) -> StreakStep:
    """The streak a check-in on `today` produces, given the previous check-in."""
    if previous_day is None or previous_streak <= 0:
        return StreakStep(1, None)
    gap = (today - previous_day).days
    if gap == 1:
        return StreakStep(previous_streak + 1, None)
    if gap == 2 and is_pro:
        week = iso_week_label(today - timedelta(days=1))
        if week not in used_freeze_weeks:
            return StreakStep(previous_streak + 1, week)
    return StreakStep(1, None)


def freeze_available(*, previous_day: date | None, today: date, is_pro: bool, used_freeze_weeks: set[str]) -> bool:
    """True when a check-in today would be bridged by a PRO freeze."""
    return bool(
        previous_day is not None
        and is_pro
        and (today - previous_day).days == 2
        and iso_week_label(today - timedelta(days=1)) not in used_freeze_weeks
    )


def live_streak(
    *, previous_day: date | None, previous_streak: int, today: date, is_pro: bool, used_freeze_weeks: set[str]
) -> int:
    """The streak a member still holds today: the last one if it can still be continued (checked
    in today or yesterday, or a PRO freeze would bridge yesterday), else 0."""
    if previous_day is None:
        return 0
    if (today - previous_day).days <= 1:
        return previous_streak
    if freeze_available(previous_day=previous_day, today=today, is_pro=is_pro, used_freeze_weeks=used_freeze_weeks):
        return previous_streak
    return 0


def checkin_xp(streak: int, *, is_pro: bool) -> tuple[int, int]:
    """(total XP, bonus part) for a check-in producing `streak`: (10 + 150 every 7th day) x5 PRO."""
    multiplier = settings.PRO_XP_MULTIPLIER if is_pro else 1
    bonus = settings.CHECKIN_WEEKLY_BONUS_XP if streak % 7 == 0 else 0
    return (settings.CHECKIN_BASE_XP + bonus) * multiplier, bonus * multiplier


def badges_for_streak(streak: int) -> list[str]:
    """Badge codes whose threshold this streak has reached (the unique constraint and the
    service skip those already earned, so a threshold added later is still awarded)."""
    return [f"streak_{days}" for days in settings.STREAK_BADGES if streak >= days]
