"""PostgreSQL: staff moves racing joins inside the moved subtree (issue 8, defect 1).

Before the fix a join under a descendant that committed while the move rewrote the subtree kept
the old path prefix (an orphan), `numchild` went wrong, commissions went up the old path, and the
two deadlocked (500s on signups and on moves)."""

import threading
from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditLog, EventType
from p2phub.testing.concurrency import raised, run_concurrently
from partners.models import Partner
from partners.selectors import partner_tree_problems
from partners.services import partner_join, partner_move
from partners.tests.factories import PartnerFactory, UserFactory, make_chain
from payments.models import USDTEntry
from payments.services import payment_complete, payment_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

JOINERS = 10
JOINS_EACH = 8
MIN_MOVES = 20
MAX_MOVES = 400  # a safety stop; the storm ends when the joiners are done
EXPECTED_COMMISSIONS = [Decimal(x) for x in ("11.70", "1.95", "1.17", "0.39", "0.39", "0.39", "0.39", "0.39", "0.39")]


def _upline_by_referrer(member: Partner, levels: int) -> list[int]:
    """L1..Ln by following `referrer` (not the path): the independent truth for the new path."""
    ids, current = [], member
    for _ in range(levels):
        current = Partner.objects.get(pk=current.referrer_id)
        ids.append(current.pk)
    return ids


@pytest.fixture
def storm_tree():
    """Two sponsors in two different root trees, each nine deep; the moved member (with two
    levels of downline) starts under the first."""
    left = make_chain(9)
    right = make_chain(9)
    moved = PartnerFactory(referrer=left[-1])
    child = PartnerFactory(referrer=moved)
    grandchild = PartnerFactory(referrer=child)
    return {"sponsors": [left[-1], right[-1]], "moved": moved, "subtree": [moved, child, grandchild]}


def test_staff_moves_racing_joins_in_the_moved_subtree_lose_nothing(storm_tree, init_data, settings):
    settings.USDT_WALLET_ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"
    sponsors, moved, subtree = storm_tree["sponsors"], storm_tree["moved"], storm_tree["subtree"]
    staff = UserFactory(is_staff=True, is_superuser=True)
    staff_client = Client()
    staff_client.force_login(staff)

    joiners_done = threading.Event()
    finished = []
    finished_lock = threading.Lock()
    move_statuses: list[int] = []

    def mover() -> list[int]:
        target = 1  # the member starts under sponsors[0]
        while len(move_statuses) < MAX_MOVES and (len(move_statuses) < MIN_MOVES or not joiners_done.is_set()):
            response = staff_client.post(
                "/admin/partners/partner/move/",
                {"node": moved.pk, "target": sponsors[target].pk, "relation": "child"},
            )
            move_statuses.append(response.status_code)
            target = 1 - target
        # One last move after every join has committed: each storm joiner is moved after joining.
        response = staff_client.post(
            "/admin/partners/partner/move/", {"node": moved.pk, "target": sponsors[target].pk, "relation": "child"}
        )
        move_statuses.append(response.status_code)
        return move_statuses

    def joiner(thread_no: int) -> list[tuple[int, int]]:
        results = []
        parent = subtree[thread_no % len(subtree)]
        try:
            for j in range(JOINS_EACH):
                telegram_id = 9_100_000 + thread_no * 100 + j
                raw = init_data(telegram_id, start_param=parent.referral_code)
                status = APIClient().get("/api/v1/me/", HTTP_AUTHORIZATION=f"tma {raw}").status_code
                results.append((telegram_id, status))
                if status == 200 and j % 2 == 0:
                    parent = Partner.objects.get(telegram_id=telegram_id)  # grow deeper chains too
        finally:
            with finished_lock:
                finished.append(thread_no)
                if len(finished) == JOINERS:
                    joiners_done.set()
        return results

    outcomes = run_concurrently(lambda i: mover() if i == 0 else joiner(i - 1), JOINERS + 1)

    assert raised(outcomes) == []
    moves, joins = outcomes[0], [item for result in outcomes[1:] for item in result]
    assert len(joins) == JOINERS * JOINS_EACH
    assert [status for _, status in joins] == [200] * len(joins), "no join may fail"
    assert moves == [200] * len(moves), "no move may fail"
    assert len(moves) > MIN_MOVES
    print(f"storm: {len(moves)} moves, {len(joins)} joins, all answered 200")  # shown with -s

    # No node left behind: everyone who joined is inside the moved subtree, under their referrer.
    moved.refresh_from_db()
    joined = list(Partner.objects.filter(telegram_id__in=[tid for tid, _ in joins]))
    assert len(joined) == len(joins)
    assert all(member.path.startswith(moved.path) for member in joined)
    assert all(Partner.objects.get_parent(member).pk == member.referrer_id for member in joined)
    assert Partner.objects.filter(path__startswith=moved.path).count() == len(subtree) + len(joins)
    assert Partner.objects.find_problems() == ([], [], [], [], [])
    assert partner_tree_problems().is_clean
    final_sponsor = Partner.objects.get(pk=moved.referrer_id)
    assert final_sponsor.pk in {s.pk for s in sponsors}
    assert Partner.objects.get_parent(moved).pk == final_sponsor.pk

    # A member who joined during the storm (and was moved afterwards) buys PRO: L1..L9 are paid
    # along the NEW path.
    move_ids = list(
        AuditLog.objects.filter(event_type=EventType.PARTNER_MOVED).order_by("id").values_list("id", flat=True)
    )
    last_move_id = move_ids[-1]
    join_ids = AuditLog.objects.filter(event_type=EventType.PARTNER_JOINED, partner_id__in=[m.pk for m in joined])
    interleaved = join_ids.filter(id__gt=move_ids[0], id__lt=last_move_id).count()
    assert interleaved > 0, "the joins must have raced the moves"
    print(f"storm: {interleaved} of {len(joined)} joins committed between the first and the last move")
    buyer = max(joined, key=lambda member: member.depth)
    joined_audit_id = AuditLog.objects.get(event_type=EventType.PARTNER_JOINED, partner_id=buyer.pk).pk
    assert joined_audit_id < last_move_id
    expected_upline = _upline_by_referrer(buyer, 9)
    assert final_sponsor.pk in expected_upline
    payment = payment_create(partner=buyer, method="USDT")
    payment_complete(payment_id=payment.pk, tx_hash=f"{payment.pk:064x}")
    rows = list(USDTEntry.objects.filter(payment_id=payment.pk).order_by("level"))
    assert [(row.level, row.partner_id, row.amount) for row in rows] == [
        (level, expected_upline[level - 1], EXPECTED_COMMISSIONS[level - 1]) for level in range(1, 10)
    ]
    print(f"storm: 0 orphans; buyer at depth {buyer.depth} paid L1..L9 = {sum(r.amount for r in rows)} USDT")


def test_a_join_under_the_new_sponsor_racing_a_move_does_not_collide(storm_tree):
    """The move takes the sponsor's next child path; a join under that sponsor at the same moment
    must get another one (before the fix the loser hit the unique path index)."""
    sponsors, moved = storm_tree["sponsors"], storm_tree["moved"]
    staff = UserFactory(is_staff=True)

    def act(index: int):
        if index == 0:
            return partner_move(partner=moved, new_referrer=sponsors[1], actor=staff).path
        return partner_join(referrer=sponsors[1], telegram_id=9_300_000 + index).partner.path

    outcomes = run_concurrently(act, 8)
    assert raised(outcomes) == []
    assert len(set(outcomes)) == 8
    assert Partner.objects.find_problems() == ([], [], [], [], [])
    assert partner_tree_problems().is_clean
