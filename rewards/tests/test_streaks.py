from datetime import date

import pytest

from rewards.streaks import badges_for_streak, checkin_xp, iso_week_label, live_streak, next_streak

MON = date(2025, 3, 3)  # a Monday (ISO week 2025-W10)


def step(previous_day, previous_streak, today, *, pro=False, used=()):
    return next_streak(previous_day=previous_day, previous_streak=previous_streak, today=today, is_pro=pro, used_freeze_weeks=set(used))


def test_first_checkin_starts_at_one():
    assert step(None, 0, MON).streak == 1


def test_next_day_continues_and_gap_resets():
    assert step(date(2025, 3, 2), 4, MON).streak == 5
    assert step(date(2025, 3, 1), 4, MON).streak == 1


def test_pro_freeze_bridges_one_missed_day_and_names_its_iso_week():
    result = step(date(2025, 3, 1), 4, MON, pro=True)  # missed Sunday 2 March = 2025-W09
    assert (result.streak, result.freeze_week) == (5, "2025-W09")


def test_freeze_is_refused_when_used_that_iso_week_or_not_pro_or_two_days_missed():
    assert step(date(2025, 3, 1), 4, MON, pro=True, used=["2025-W09"]).streak == 1
    assert step(date(2025, 3, 1), 4, MON, pro=False).streak == 1
    assert step(date(2025, 2, 28), 4, MON, pro=True).streak == 1


@pytest.mark.parametrize(("streak", "pro", "expected"), [(1, False, (10, 0)), (1, True, (50, 0)), (7, False, (160, 150)), (7, True, (800, 750)), (14, False, (160, 150))])
def test_checkin_xp(streak, pro, expected):
    assert checkin_xp(streak, is_pro=pro) == expected


def test_thirty_day_streak_totals_900_and_4500_for_pro():
    assert sum(checkin_xp(day, is_pro=False)[0] for day in range(1, 31)) == 900
    assert sum(checkin_xp(day, is_pro=True)[0] for day in range(1, 31)) == 4500


def test_live_streak_drops_to_zero_once_it_cannot_continue():
    assert live_streak(previous_day=date(2025, 3, 2), previous_streak=6, today=MON, is_pro=False, used_freeze_weeks=set()) == 6
    assert live_streak(previous_day=date(2025, 3, 1), previous_streak=6, today=MON, is_pro=False, used_freeze_weeks=set()) == 0
    assert live_streak(previous_day=date(2025, 3, 1), previous_streak=6, today=MON, is_pro=True, used_freeze_weeks=set()) == 6


def test_badges_and_week_labels():
    assert badges_for_streak(6) == []
    assert badges_for_streak(30) == ["streak_7", "streak_30"]
    assert iso_week_label(date(2024, 12, 30)) == "2025-W01"
