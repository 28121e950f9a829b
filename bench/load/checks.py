"""Correctness checks after each write scenario, in the orchestrator (Django, same database).

Balances are checked the way the product defines them: the exact XP of a member is the folded
`XPBalance` plus the unfolded `XPDelta` rows (`rewards.selectors.xp.xp_balances`), and it must
equal the sum of the member's XP ledger rows. The checks fold first (as beat's fold task would),
then compare ledger, balance and the expected figure computed from SPEC's rules.

Every check returns a list of human-readable failures; empty means it passed.
"""

from collections import Counter, defaultdict

# SPEC §2 and §5, written out here rather than read from settings: the checks must not share a
# mistake with the code under test.
REFERRAL_XP_BY_LEVEL = (35, 10, 1, 1, 1, 1, 1, 1, 1)
FIRST_CHECKIN_XP = 10  # day 1 of a streak, not PRO: 10 + 0 bonus, x1
REFERRAL_HOURLY_LIMIT = 20  # the default the servers run with; the run keeps every referrer under it

_SHOWN = 5


def _ledger_sums(pks) -> dict[int, int]:
    from django.db.models import Sum

    from rewards.models import XPEntry

    rows = (
        XPEntry.objects.filter(partner_id__in=list(pks)).order_by().values("partner_id").annotate(total=Sum("amount"))
    )
    return {row["partner_id"]: row["total"] for row in rows}


def _fold() -> int:
    from rewards.services import xp_fold_all

    return xp_fold_all()


def _compare(label: str, expected: dict[int, int], actual: dict[int, int]) -> list[str]:
    wrong = [(pk, want, actual.get(pk, 0)) for pk, want in expected.items() if actual.get(pk, 0) != want]
    if not wrong:
        return []
    shown = ", ".join(f"partner {pk}: expected {want}, got {got}" for pk, want, got in wrong[:_SHOWN])
    return [f"{label}: {len(wrong)} member(s) differ ({shown}{' ...' if len(wrong) > _SHOWN else ''})"]


def check_balances_equal_ledgers(pks) -> list[str]:
    """Exact balance (folded + unfolded) == ledger sum, for each member given."""
    from rewards.selectors.xp import xp_balances

    pks = list(pks)
    return _compare("XP balance vs ledger sum", _ledger_sums(pks), xp_balances(pks))


def check_checkins(member_pks: list[int]) -> list[str]:
    """Scenario (a): each member exactly one check-in (ever: the cohort had none), one check-in
    ledger row of FIRST_CHECKIN_XP and nothing else, a streak of 1, and balance == ledger."""
    from rewards.models import CheckIn, Streak, XPEntry

    _fold()
    failures = []
    checkins = Counter(CheckIn.objects.filter(partner_id__in=member_pks).values_list("partner_id", flat=True))
    failures += _compare("check-in rows per member", dict.fromkeys(member_pks, 1), dict(checkins))
    rows = Counter(
        XPEntry.objects.filter(partner_id__in=member_pks, kind=XPEntry.Kind.CHECKIN).values_list(
            "partner_id", flat=True
        )
    )
    failures += _compare("check-in ledger rows per member", dict.fromkeys(member_pks, 1), dict(rows))
    failures += _compare("XP ledger sum", dict.fromkeys(member_pks, FIRST_CHECKIN_XP), _ledger_sums(member_pks))
    streaks = dict(Streak.objects.filter(partner_id__in=member_pks).values_list("partner_id", "current"))
    failures += _compare("streak", dict.fromkeys(member_pks, 1), streaks)
    failures += check_balances_equal_ledgers(member_pks)
    return failures


def expected_referral_xp(signups: list[tuple[int, int]], parent_of: dict[int, int | None]) -> tuple[dict, dict]:
    """From (telegram id, referrer pk) pairs and the seeded tree: ({ancestor: expected XP},
    {ancestor: expected number of referral rows}). Nobody in the seeded trees is PRO, banned or
    held (each signup has its own IP, a browser user agent, and its referrer stays under the
    velocity limit), so every ancestor L1..L9 is paid the SPEC amount."""
    from bench.load.seed import ancestors

    xp: dict[int, int] = defaultdict(int)
    rows: dict[int, int] = defaultdict(int)
    for _tid, referrer in signups:
        for level, ancestor in enumerate([referrer, *ancestors(parent_of, referrer, 8)], start=1):
            xp[ancestor] += REFERRAL_XP_BY_LEVEL[level - 1]
            rows[ancestor] += 1
    return dict(xp), dict(rows)


def check_signups(
    signups: list[tuple[int, int]], tree_pks: list[int], parent_of: dict, leaders: list[int]
) -> list[str]:
    """Scenarios (c) and (d): every signup created once under its referrer; every member of the
    seeded trees holds exactly the referral XP SPEC's level table gives (its only XP), in
    exactly one ledger row per signup below it within 9 levels; each leader's ledger has one
    referral row per signup of its tree, each for a different new member; balance == ledger
    for the trees and the new members."""
    from partners.models import Partner
    from referrals.models import ReferralReview
    from rewards.models import XPEntry

    _fold()
    failures = []
    joined = dict(
        Partner.objects.filter(telegram_id__in=[t for t, _ in signups]).values_list("telegram_id", "referrer_id")
    )
    failures += _compare("signups joined under their referrer", dict(signups), joined)
    new_pks = list(Partner.objects.filter(telegram_id__in=[t for t, _ in signups]).values_list("pk", flat=True))

    want_xp, want_rows = expected_referral_xp(signups, parent_of)
    failures += _compare(
        "referral XP (ledger sum) per ancestor", {pk: want_xp.get(pk, 0) for pk in tree_pks}, _ledger_sums(tree_pks)
    )
    referral_rows = Counter(
        XPEntry.objects.filter(
            partner_id__in=tree_pks, kind=XPEntry.Kind.REFERRAL, related_partner_id__in=new_pks
        ).values_list("partner_id", flat=True)
    )
    failures += _compare(
        "referral ledger rows per ancestor", {pk: want_rows.get(pk, 0) for pk in tree_pks}, dict(referral_rows)
    )
    for leader in leaders:
        related = list(
            XPEntry.objects.filter(partner_id=leader, kind=XPEntry.Kind.REFERRAL).values_list(
                "related_partner_id", flat=True
            )
        )
        if len(related) != len(set(related)) or len(related) != want_rows.get(leader, 0):
            failures.append(
                f"leader {leader}: {len(related)} referral rows for {len(set(related))} members, expected "
                f"{want_rows.get(leader, 0)} (one per signup within 9 levels)"
            )
    held = ReferralReview.objects.filter(new_member_id__in=new_pks).count()
    if held:
        failures.append(
            f"{held} signup(s) had their awards held or blocked by fraud scoring (see referrals_referralreview)"
        )
    failures += check_balances_equal_ledgers([*tree_pks, *new_pks])
    return failures


def check_reconcile() -> list[str]:
    """`ledgers_reconcile()` (what `manage.py reconcile_ledger` runs) over every member and
    every ledger, and the referral tree's integrity."""
    from p2phub.ledgers import ledgers_reconcile
    from partners.selectors import partner_tree_problems

    _fold()
    failures = []
    report = ledgers_reconcile()
    for m in report.mismatches[:_SHOWN]:
        failures.append(
            f"reconcile: {m.currency} partner {m.partner_id} ledger {m.ledger_sum} vs {m.against} {m.cached_balance}"
        )
    if len(report.mismatches) > _SHOWN:
        failures.append(f"reconcile: ... {len(report.mismatches)} mismatches in all")
    problems = partner_tree_problems()
    if not problems.is_clean:
        failures += [f"tree: {label}: {len(ids)} partner(s)" for label, ids in problems.items() if ids]
    return failures
