"""Seeding for the load scenarios, through the Django services (no HTTP), by the orchestrator in
two processes it starts (`build_in_parallel`): every member is a `partner_join`, as in
bench/signup.py and bench/request_costs.py.

Bystanders (check-in cohorts, the trees the signups join) join with the referral awards patched
off, so the only XP they hold afterwards is what the measured requests paid them: that is what
makes the exact ledger checks possible. The Mini App population joins with awards on, so its
members have real XP, ledgers, notifications and leaderboard entries.

Each builder also returns the tree as the orchestrator built it (`parent_of`), so the expected
referral XP is computed from the seeding itself, not read back from the database under test.
"""

import concurrent.futures
import multiprocessing
import random
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

from django.test.utils import override_settings


@dataclass
class Seeded:
    """Members of one scenario's population: primary key, referral code, Telegram id."""

    pks: list[int] = field(default_factory=list)
    codes: dict[int, str] = field(default_factory=dict)
    telegram_ids: dict[int, int] = field(default_factory=dict)
    parent_of: dict[int, int | None] = field(default_factory=dict)


@contextmanager
def _awards_off():
    # partner_join imports referral_awards_for_join at call time, so patching the module works.
    with mock.patch("referrals.services.referral_awards_for_join", return_value=[]):
        yield


def member_name(telegram_id: int) -> str:
    """The first name a seeded member has and their initData carries: the same on both sides,
    so the profile sync on each request has nothing to write."""
    return f"Bench{telegram_id % 1_000_000}"


def _join(seeded: Seeded, referrer_pk: int | None, *, telegram_id: int | None = None, name: str = "Bench"):
    from partners.models import Partner
    from partners.services import SignupContext, partner_join

    referrer = Partner.objects.get(pk=referrer_pk) if referrer_pk is not None else None
    partner = partner_join(
        referrer=referrer,
        telegram_id=telegram_id,
        first_name=member_name(telegram_id) if telegram_id is not None else name,
        signup=SignupContext(channel="seed"),
    ).partner
    seeded.pks.append(partner.pk)
    seeded.codes[partner.pk] = partner.referral_code
    seeded.parent_of[partner.pk] = referrer_pk
    if telegram_id is not None:
        seeded.telegram_ids[partner.pk] = telegram_id
    return partner.pk


def checkin_cohort(size: int, *, first_telegram_id: int) -> Seeded:
    """`size` members who have never checked in: one root, 25 sponsors, the cohort under them."""
    seeded = Seeded()
    with _awards_off():
        root = _join(seeded, None, name="Cohort")
        sponsors = [_join(seeded, root, name="Sponsor") for _ in range(25)]
        cohort = Seeded()
        for i in range(size):
            _join(cohort, sponsors[i % len(sponsors)], telegram_id=first_telegram_id + i)
    return cohort


def mini_app_population(size: int, *, first_telegram_id: int, roots: int = 10, seed: int = 7) -> Seeded:
    """`size` members in `roots` trees grown as random recursive trees (each member's referrer
    is a uniformly random earlier member of the same tree): depths around ln(size), a few
    members with big downlines and many with none, like a real referral network. Awards are on
    (fraud scoring and the velocity limit off while seeding, so every award is paid), so every
    member holds the XP their downline earned them."""
    rng = random.Random(seed)
    seeded = Seeded()
    with override_settings(FRAUD_SCORING_ENABLED=False, REFERRAL_HOURLY_LIMIT=0):
        trees: list[list[int]] = []
        for i in range(size):
            if i < roots:
                trees.append([_join(seeded, None, telegram_id=first_telegram_id + i)])
                continue
            tree = trees[i % roots]
            tree.append(_join(seeded, rng.choice(tree), telegram_id=first_telegram_id + i))
    return seeded


def hot_leader_tree(fanout: tuple[int, ...] = (4, 4, 3, 2, 2, 2)) -> tuple[Seeded, list[int], int]:
    """One leader; a chain of two below it; then a fan-out over six levels (by default
    4 x 4 x 3 x 2 x 2 x 2 = 384 referrers) at depth 9, 8 levels below the leader. The leader and
    the chain are ancestors of every signup under those referrers (the leader as L9, the chain
    as L8 and L7). Returns (the tree, the referrers, the leader)."""
    seeded = Seeded()
    with _awards_off():
        leader = _join(seeded, None, name="HotLeader")
        level = [_join(seeded, _join(seeded, leader, name="Chain"), name="Chain")]
        for width in fanout:
            level = [_join(seeded, parent, name="Referrer") for parent in level for _ in range(width)]
    return seeded, level, leader


def unrelated_trees(trees: int = 64, fanout: tuple[int, int] = (3, 2)) -> tuple[Seeded, list[int], list[int]]:
    """The same depths spread out: `trees` separate leaders, each with a chain down to depth 7
    and a two-level fan-out to referrers at depth 9 (by default 64 trees x 3 x 2 = 384
    referrers, as many as the hot tree has). Returns (the trees, the referrers, the leaders)."""
    seeded = Seeded()
    referrers, leaders = [], []
    with _awards_off():
        for _ in range(trees):
            node = _join(seeded, None, name="Leader")
            leaders.append(node)
            for _depth in range(6):
                node = _join(seeded, node, name="Chain")
            for parent in [_join(seeded, node, name="Referrer") for _ in range(fanout[0])]:
                referrers.extend(_join(seeded, parent, name="Referrer") for _ in range(fanout[1]))
    return seeded, referrers, leaders


def build_in_parallel(builds: list[tuple[str, dict]], *, processes: int = 2) -> list:
    """Run builders of this module, given as (function name, keyword arguments), in `processes`
    fresh processes at once (the trees are independent; the services are safe under concurrent
    joins), results in the order given. Each process runs Django with this process's
    environment, and commits without waiting for the WAL flush (its session only: a scratch
    database being filled, nothing the servers under test do)."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(processes, mp_context=context, initializer=_seeding_process) as pool:
        futures = [pool.submit(_build, name, kwargs) for name, kwargs in builds]
        return [future.result() for future in futures]


def _seeding_process() -> None:
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")


def _build(name: str, kwargs: dict):
    from partners.notifications import notifications_as_history

    # As `seed_demo` does: the seeding's notifications are stored as history, never delivered
    # (no delivery task per join, in this process or on the worker).
    with notifications_as_history():
        return globals()[name](**kwargs)


def ancestors(parent_of: dict[int, int | None], pk: int, levels: int) -> list[int]:
    """Nearest first (index 0 = L1), from the seeding's own record of the tree."""
    chain, node = [], parent_of.get(pk)
    while node is not None and len(chain) < levels:
        chain.append(node)
        node = parent_of.get(node)
    return chain
