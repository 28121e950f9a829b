"""Levels and ranks from total XP (SPEC §7). Total XP needed for level L is 50·(L−1)·L."""

from math import isqrt

RANKS: tuple[tuple[int, str], ...] = (
    (1, "Beginner"), (3, "Novice"), (6, "Apprentice"), (9, "Contributor"), (12, "Pioneer"),
    (15, "Pathbreaker"), (18, "Adventurer"), (21, "Voyager"), (24, "Ambassador"), (27, "Leader"),
    (30, "Senior Leader"), (33, "Executive"), (36, "Director"), (40, "President"),
    (44, "Global Partner"), (48, "World Partner"), (52, "Elite"), (56, "Master"),
    (60, "Grandmaster"), (64, "Legend"), (68, "VIP"), (72, "VIP II"), (76, "VIP III"),
    (80, "VIP Elite"), (84, "Premium"), (88, "Premium Plus"), (92, "PRO"), (96, "PRO Max"),
    (100, "Immortal"), (110, "Eternal"),
)


def xp_required_for_level(level: int) -> int:
    return 50 * (level - 1) * level


def level_for_xp(xp: int) -> int:
    if xp <= 0:
        return 1
    # Largest L with 50·L·(L−1) <= xp; isqrt gives a first guess, the loops make it exact.
    level = max(1, (1 + isqrt(1 + (2 * xp) // 25)) // 2)
    while xp_required_for_level(level + 1) <= xp:
        level += 1
    while level > 1 and xp_required_for_level(level) > xp:
        level -= 1
    return level


def rank_for_level(level: int) -> str:
    name = RANKS[0][1]
    for minimum, rank in RANKS:
        if level >= minimum:
            name = rank
        else:
            break
    return name


def level_summary(xp: int) -> dict:
    level = level_for_xp(xp)
    return {
        "xp": xp,
        "xp_level": level,
        "rank": rank_for_level(level),
        # Total XP at which the next level starts (a progress bar runs xp → this), and what is left.
        "xp_for_next_level": xp_required_for_level(level + 1),
        "xp_to_next_level": xp_required_for_level(level + 1) - xp,
    }
