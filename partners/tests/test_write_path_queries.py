"""The two hottest writes run a fixed number of statements, whatever the depth of the tree.

Counted inside the test's own transaction, so the service's transaction shows as one SAVEPOINT /
RELEASE pair (BEGIN / COMMIT in a request). A Mini App signup (PostgreSQL): the join look-up
(existing member, referrer, pending attribution), the tree lock, the referrer's numchild update
(returning its path), [the last child's path, when it has children], the member's row, the
ancestors with the fraud look-ups (FOR KEY SHARE), the XP ledger + deltas + balances, the
attribution + sighting, the notifications (welcome and referral), the audit chain head and the
audit rows. SQLite has no tree lock and no data-modifying CTEs: the statements PostgreSQL folds
into one run one by one there."""

import pytest
from django.db import connection

from partners.services import SignupContext, partner_join
from partners.tests.factories import PartnerFactory, make_chain
from rewards.services import checkin_record

pytestmark = pytest.mark.django_db

# A referrer without children yet; one more statement (its last child's path) when it has some.
SIGNUP_QUERIES = {"sqlite": 15, "postgresql": 12}
CHECKIN_QUERIES = {"sqlite": 11, "postgresql": 7}
REPEAT_CHECKIN_QUERIES = {"sqlite": 4, "postgresql": 4}
HELD_QUERIES = {"sqlite": 14, "postgresql": 13}


def _join(referrer, telegram_id):
    return partner_join(
        referral_code=referrer.referral_code, telegram_id=telegram_id, first_name="New",
        signup=SignupContext(ip="203.0.113.7", user_agent="Mozilla/5.0"),
    )


def _statements(captured) -> list[str]:
    return [query["sql"].split(" ", 1)[0].upper() for query in captured.captured_queries]


@pytest.mark.parametrize("depth", [9, 30])
def test_a_signup_and_a_checkin_cost_the_same_at_any_depth(depth, django_assert_num_queries):
    chain = make_chain(depth)
    vendor = connection.vendor
    with django_assert_num_queries(SIGNUP_QUERIES[vendor]) as captured:
        joined = _join(chain[-1], 4_200_000_001)
    assert joined.created and joined.partner.depth == depth + 1
    # One transaction, no savepoint inside it, no SET CONSTRAINTS: the rows the join's foreign
    # keys reference are locked by statements it runs anyway.
    assert _statements(captured).count("SAVEPOINT") == 1
    assert not any("SET CONSTRAINTS" in query["sql"] for query in captured.captured_queries)

    with django_assert_num_queries(SIGNUP_QUERIES[vendor] + 1):  # + the referrer's last child
        assert _join(chain[-1], 4_200_000_002).partner.path > joined.partner.path

    with django_assert_num_queries(CHECKIN_QUERIES[vendor]) as captured:
        result = checkin_record(partner=chain[-1])
    assert result.awarded_xp == 10 and not result.already_checked_in
    assert _statements(captured).count("SAVEPOINT") == 1
    assert not any("SET CONSTRAINTS" in query["sql"] for query in captured.captured_queries)
    with django_assert_num_queries(REPEAT_CHECKIN_QUERIES[vendor]):
        assert checkin_record(partner=chain[-1]).already_checked_in


def test_a_signup_that_pays_a_level_up_costs_one_statement_more(django_assert_num_queries):
    referrer = PartnerFactory()
    for n in range(2):
        _join(referrer, 4_300_000_000 + n)  # 70 XP: the next signup crosses level 2 (100 XP)
    with django_assert_num_queries(SIGNUP_QUERIES[connection.vendor] + 2):  # + last child, + level claim
        _join(referrer, 4_300_000_009)
    from rewards.models import LevelReached

    assert LevelReached.objects.filter(partner=referrer, level=2).count() == 1


def test_a_signup_held_for_review_costs_at_most_one_statement_more(django_assert_num_queries):
    """Same IP as the referrer (fraud score 40, held): the ledger statement(s) are replaced by
    the review row and the member's fraud_hold flag; the shared-NAT count rides on the ancestors
    statement."""
    referrer = _join(PartnerFactory(), 4_400_000_001).partner  # seen on 203.0.113.7
    with django_assert_num_queries(HELD_QUERIES[connection.vendor]):
        held = _join(referrer, 4_400_000_002).partner
    from referrals.models import ReferralReview

    assert ReferralReview.objects.get(new_member=held).reason_codes == "same_ip_as_referrer"
