"""Fixed cost per page (issue #10): every dashboard page runs the same number of queries for a
member with a 10-member downline and one with a 10,000-member downline."""

from decimal import Decimal

import pytest

from dashboard.services import member_web_user
from dashboard.tests.builders import TEN, TEN_THOUSAND, bulk_downline
from partners.notifications import Kind, notification_create
from partners.selectors import partner_network_counts, partner_tree_problems
from partners.tests.factories import PartnerFactory
from payments.services import payment_complete, payment_create, payout_request, usdt_correction_create
from referrals.selectors import community_size
from referrals.share_services import share_click_record, share_event_record
from rewards.services import checkin_record, task_start

pytestmark = pytest.mark.django_db

PAGES = [
    ("home", "/dashboard/"),
    ("network", "/dashboard/network/?level=2"),
    ("network search", "/dashboard/network/?level=8&q=member0"),
    ("tree", "/dashboard/network/tree/"),
    ("tree node", "/dashboard/network/tree/{child}/"),
    ("tree fragment", "/dashboard/network/tree/{child}/children/"),
    ("earnings XP", "/dashboard/earnings/?currency=XP"),
    ("earnings USDT", "/dashboard/earnings/?currency=USDT"),
    ("earnings CSV", "/dashboard/earnings/?currency=USDT&format=csv"),
    ("tasks", "/dashboard/tasks/"),
    ("leaderboard", "/dashboard/leaderboard/?board=xp"),
    ("leaderboard streak", "/dashboard/leaderboard/?board=streak"),
    ("pro", "/dashboard/pro/"),
    ("payment", "/dashboard/pro/payments/{payment}/"),
    ("payment status", "/dashboard/pro/payments/{payment}/status/"),
    ("payouts", "/dashboard/payouts/"),
    ("notifications", "/dashboard/notifications/"),
    ("share", "/dashboard/share/"),
    ("settings", "/dashboard/settings/"),
]


def _viewer(staff_user, per_level):
    """A member with a downline of the given shape and one of everything the pages list."""
    viewer = PartnerFactory()
    buyer = PartnerFactory(referrer=viewer)  # a real join: referral XP for the viewer
    bulk_downline(viewer, per_level)
    payment = payment_complete(payment_id=payment_create(partner=buyer, method="USDT").pk, tx_hash=None)
    usdt_correction_create(partner=viewer, amount=Decimal("50"), reason="test credit", actor=staff_user)
    payout_request(partner=viewer, amount=Decimal("20"), address="T" + "A" * 33, network="TRC20")
    checkin_record(partner=viewer)
    task_start(partner=viewer, task_id="invite_1_friend")
    task_start(partner=viewer, task_id="daily_checkin_5")
    notification_create(partner=viewer, kind=Kind.PRO_EXPIRED)
    own_payment = payment_create(partner=viewer, method="USDT")
    share_event_record(partner=viewer, platform="whatsapp")
    share_click_record(code=f"{viewer.referral_code}_wa", ip="198.51.100.9", user_agent="Mozilla/5.0")
    viewer.refresh_from_db()
    return viewer, {"child": buyer.pk, "payment": own_payment.pk, "paid": payment.pk}


# Queries per page, whatever the network size: session, user and member (3) plus the page's own
# (the session is read from Redis when it is configured).
EXPECTED = {
    "home": 9,  # 3 with the member cache on (test_member_cache.py)
    "network": 7,
    "network search": 7,
    "tree": 6,
    "tree node": 6,
    "tree fragment": 5,
    "earnings XP": 6,
    "earnings USDT": 6,
    "earnings CSV": 4,
    "tasks": 7,
    "leaderboard": 9,
    "leaderboard streak": 9,
    "pro": 4,
    "payment": 4,
    "payment status": 4,
    "payouts": 6,
    "notifications": 5,
    # share_kit 3 (templates, USDT earnings, network counts) + share_funnel 4 (shares, clicks,
    # signups, PRO purchases); the community size is cached (one COUNT on a cold cache).
    "share": 10,
    "settings": 3,
}

# With Redis the boards come from sorted sets and the top list from its cache (measured warm:
# the first viewer's visit builds it; every board write replaces its token).
REDIS_EXPECTED = {"leaderboard": 3, "leaderboard streak": 3}


def _get(client, url):
    response = client.get(url)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)  # the CSV's rows are read while streaming
    assert response.status_code == 200, (url, response.status_code)


def test_every_page_runs_the_same_queries_at_10_and_at_10000_downline_members(
    client, staff_user, django_assert_num_queries, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):  # leaderboard syncs (Redis mode) run
        small, small_ids = _viewer(staff_user, TEN)
        big, big_ids = _viewer(staff_user, TEN_THOUSAND)
    expected = {**EXPECTED, **(REDIS_EXPECTED if settings.LEADERBOARD_BACKEND == "redis" else {})}
    if settings.SESSION_ENGINE.endswith("cached_db"):
        expected = {name: count - 1 for name, count in expected.items()}  # the session comes from Redis
    assert partner_network_counts(small)["network_size"] == 11  # 10 built + the buyer
    assert partner_network_counts(big)["network_size"] == 10_001
    assert partner_tree_problems().is_clean

    community_size()  # warm the cached {community} figure, as any earlier share kit would
    for name, pattern in PAGES:
        for viewer, ids in ((small, small_ids), (big, big_ids)):
            client.force_login(member_web_user(partner=viewer))
            if name in REDIS_EXPECTED and settings.LEADERBOARD_BACKEND == "redis":
                _get(client, pattern.format(**ids))
            with django_assert_num_queries(expected[name]):
                _get(client, pattern.format(**ids))


def test_the_bulk_builder_makes_a_valid_tree(member):
    levels = bulk_downline(member, [3, 5])
    assert [len(level) for level in levels] == [3, 5]
    assert partner_network_counts(member)["levels"][:3] == [
        {"level": 1, "count": 3}, {"level": 2, "count": 5}, {"level": 3, "count": 0}
    ]
    assert partner_tree_problems().is_clean
