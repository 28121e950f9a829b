"""The two hottest writes run a fixed number of statements, whatever the depth of the tree."""

import pytest
from django.db import connection

from partners.services import SignupContext, partner_join
from partners.tests.factories import make_chain
from rewards.services import checkin_record

pytestmark = pytest.mark.django_db

# Savepoints included; a Mini App signup also stores its welcome message. PostgreSQL adds the
# tree lock, SET CONSTRAINTS and the audit chain head lock (a row: it also carries the last hash,
# so the append needs no read of the newest audit row; SQLite moves the head in a statement of
# its own).
# +1 since #11: the signup's ReferralAttribution row (platform, channel) for the share funnel.
# The XP ledger insert skips keys already written (ON CONFLICT DO NOTHING RETURNING) and, on
# PostgreSQL, carries its delta rows and the balances for level-up detection; notifications
# need no savepoint either. A check-in (PostgreSQL): the streak row created-or-locked, the
# check-in row with the streak update, the XP statement, the audit chain head and rows.
SIGNUP_QUERIES = {"sqlite": 28, "postgresql": 33}
CHECKIN_QUERIES = {"sqlite": 11, "postgresql": 7}


@pytest.mark.parametrize("depth", [9, 30])
def test_a_signup_and_a_checkin_cost_the_same_at_any_depth(depth, django_assert_num_queries):
    chain = make_chain(depth)
    with django_assert_num_queries(SIGNUP_QUERIES[connection.vendor]):
        joined = partner_join(
            referral_code=chain[-1].referral_code, telegram_id=4_200_000_001, first_name="New",
            signup=SignupContext(ip="203.0.113.7", user_agent="Mozilla/5.0"),
        )
    assert joined.created and joined.partner.depth == depth + 1
    with django_assert_num_queries(CHECKIN_QUERIES[connection.vendor]):
        checkin_record(partner=chain[-1])
