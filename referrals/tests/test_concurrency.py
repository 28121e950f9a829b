"""PostgreSQL concurrency: joins racing under one referrer and under one deep chain."""

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection

from audit.chain import audit_chain_verify
from partners.services import SignupContext, partner_join
from partners.tests.factories import PartnerFactory, make_chain
from rewards.models import XPEntry
from rewards.selectors import xp_balances, xp_ledger_sum
from rewards.services import xp_fold_all

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

_ids = itertools.count(9_500_000_000)


def _concurrent_joins(referrer, count, workers):
    def one(telegram_id):
        try:
            return partner_join(
                referrer=referrer, telegram_id=telegram_id, signup=SignupContext(channel="mini_app")
            ).partner.pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, [next(_ids) for _ in range(count)]))


def test_five_concurrent_joins_under_one_referrer_give_it_175():
    referrer = PartnerFactory()
    members = _concurrent_joins(referrer, 5, 5)
    assert len(set(members)) == 5
    assert xp_balances([referrer.pk])[referrer.pk] == 175 == xp_ledger_sum(referrer.pk)


def test_100_concurrent_joins_under_the_leaf_of_a_9_chain(no_limits):
    chain = make_chain(9)
    upline = list(reversed(chain))  # L1 (the leaf) first
    before = xp_balances([p.pk for p in upline])

    members = _concurrent_joins(upline[0], 100, 16)  # any deadlock or error would raise here

    assert len(set(members)) == 100
    after = xp_balances([p.pk for p in upline])
    for level, partner in enumerate(upline, start=1):
        expected = 100 * settings.REFERRAL_XP_BY_LEVEL[level - 1]
        assert after[partner.pk] - before[partner.pk] == expected
        assert after[partner.pk] == xp_ledger_sum(partner.pk)
    assert XPEntry.objects.filter(related_partner_id__in=members).count() == 900
    xp_fold_all()
    assert xp_balances([p.pk for p in upline]) == after
    assert audit_chain_verify().ok


def test_joins_checkins_and_payments_racing_in_one_upline_never_deadlock(no_limits):
    """The signup and the check-in no longer check their foreign keys before the audit chain
    head (no SET CONSTRAINTS): the rows they reference are locked earlier, in statements they run
    anyway (the referrer's numchild update, the ancestors FOR KEY SHARE, the member's own row
    with the streak). Racing them against each other and against payments, which lock a buyer
    FOR UPDATE inside the same upline and then wait for the chain head, must never deadlock or
    fail (a deadlock victim among the check-ins or payments would raise here)."""
    import random

    from partners.selectors import partner_tree_problems
    from payments.services import payment_complete, payment_create
    from rewards.services import checkin_record

    chain = make_chain(12)
    rng = random.Random(7)
    jobs = [("join", rng.choice(chain)) for _ in range(60)]
    jobs += [("checkin", member) for member in chain]
    jobs += [("pay", member) for member in chain[2:]]
    rng.shuffle(jobs)

    def run(job):
        kind, member = job
        try:
            if kind == "join":
                return partner_join(
                    referrer=member, telegram_id=next(_ids), signup=SignupContext(channel="mini_app")
                ).partner.pk
            if kind == "checkin":
                return checkin_record(partner=member).awarded_xp
            payment = payment_create(partner=member, method="USDT")
            return payment_complete(payment_id=payment.pk, tx_hash=f"{payment.pk:064x}").status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(run, jobs))

    assert len(results) == len(jobs)
    assert audit_chain_verify().ok
    upline = [p.pk for p in chain]
    balances = xp_balances(upline)
    assert all(balances[pk] == xp_ledger_sum(pk) for pk in upline)
    assert partner_tree_problems().is_clean
