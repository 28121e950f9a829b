"""Tree integrity (issue 8): loud ancestor lookups, the reconciliation's tree check, the depth
limit, moves that keep the invariants, and treebeard's admin views given bad ids."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from partners.models import Partner
from partners.selectors import TreeIntegrityError, partner_ancestors, partner_tree_problems
from partners.services import (
    MAX_TREE_DEPTH,
    TreeDepthError,
    generate_referral_code,
    partner_join,
    partner_move,
)
from partners.tests.factories import PartnerFactory, UserFactory, make_chain

pytestmark = pytest.mark.django_db


def _raw(sql: str, params=()) -> None:
    """Damage the tree behind the ORM's back, as a bad migration or a lost race would."""
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{table}", connection.ops.quote_name(Partner._meta.db_table)), params)


def _reconcile() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("reconcile_ledger", stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()


def _deep_chain(depth: int) -> Partner:
    """A chain `depth` levels deep, built through treebeard's API (no awards: it is fast)."""
    node = Partner.objects.add_root(instance=Partner(referral_code=generate_referral_code()))
    for _ in range(depth - 1):
        node = Partner.objects.add_child(node, instance=Partner(referral_code=generate_referral_code(), referrer=node))
    return node


# --- ancestors ------------------------------------------------------------------------------


def test_ancestor_lookup_raises_on_a_stale_path_instead_of_shifting_levels():
    a, b, c = make_chain(3)
    other = PartnerFactory()
    stale_c = Partner.objects.get(pk=c.pk)
    partner_move(partner=b, new_referrer=other, actor=UserFactory(is_staff=True))
    # stale_c.path still starts with b's OLD path, which is no node any more: before the fix
    # the lookup returned [a] and paid a as L1.
    with pytest.raises(TreeIntegrityError):
        partner_ancestors(stale_c)
    c.refresh_from_db()
    assert partner_ancestors(c) == [Partner.objects.get(pk=b.pk), other]


def test_ancestor_lookup_raises_when_a_parent_row_is_missing():
    a, b, c = make_chain(3)
    _raw("UPDATE {table} SET path = %s WHERE id = %s", ["ZZZZZZZZ", b.pk])  # b's old path is gone
    with pytest.raises(TreeIntegrityError):
        partner_ancestors(c)


# --- the reconciliation's tree check ---------------------------------------------------------


def test_clean_tree_passes_the_reconciliation():
    top = make_chain(3)[0]
    PartnerFactory(referrer=top)
    assert partner_tree_problems().is_clean
    code, output = _reconcile()
    assert code == 0, output
    assert "OK: the referral tree is consistent" in output


def test_reconciliation_reports_orphans_numchild_and_referrer_violations():
    a, b, c = make_chain(3)
    d = PartnerFactory(referrer=a)
    e = PartnerFactory(referrer=d)
    _raw("UPDATE {table} SET path = %s WHERE id = %s", [a.path + "ZZZZ" + "0001", c.pk])  # orphan
    _raw("UPDATE {table} SET numchild = 7 WHERE id = %s", [d.pk])  # wrong numchild
    _raw("UPDATE {table} SET referrer_id = %s WHERE id = %s", [b.pk, e.pk])  # referrer != parent

    problems = partner_tree_problems()
    assert problems.orphans == [c.pk]
    assert set(problems.wrong_numchild) == {b.pk, d.pk}  # b lost its child c, d claims 7
    assert problems.referrer_mismatch == [e.pk]
    assert problems.wrong_depth == []

    code, output = _reconcile()
    assert code == 1
    assert f"orphan (parent missing): 1 partner(s): {c.pk}" in output
    assert "numchild wrong: 2 partner(s)" in output
    assert f"referrer is not the tree parent: 1 partner(s): {e.pk}" in output
    assert "tree integrity violation(s)" in output


def test_a_root_with_a_referrer_is_a_violation():
    root = PartnerFactory()
    other = PartnerFactory()
    _raw("UPDATE {table} SET referrer_id = %s WHERE id = %s", [other.pk, root.pk])
    assert partner_tree_problems().referrer_mismatch == [root.pk]


# --- moves keep the invariants ---------------------------------------------------------------


def test_move_keeps_every_invariant_and_refuses_what_would_be_too_deep():
    staff = UserFactory(is_staff=True)
    chain = make_chain(4)
    sponsor = PartnerFactory()
    moved = partner_move(partner=chain[1], new_referrer=sponsor, actor=staff)
    assert moved.referrer_id == sponsor.pk and Partner.objects.get_parent(moved).pk == sponsor.pk
    assert partner_tree_problems().is_clean
    assert Partner.objects.find_problems() == ([], [], [], [], [])

    deep = _deep_chain(MAX_TREE_DEPTH - 1)  # a sponsor at depth 255 has room for one level only
    with pytest.raises(TreeDepthError):
        partner_move(partner=chain[1], new_referrer=deep, actor=staff)  # 3 levels would not fit
    assert Partner.objects.get(pk=chain[1].pk).referrer_id == sponsor.pk
    assert partner_move(partner=chain[-1], new_referrer=deep, actor=staff).depth == MAX_TREE_DEPTH
    assert partner_tree_problems().is_clean


# --- the depth limit ----------------------------------------------------------------------------


def test_joining_under_a_referrer_at_the_depth_limit_makes_a_root_instead_of_failing(tma_client):
    deepest = _deep_chain(MAX_TREE_DEPTH)
    assert deepest.depth == MAX_TREE_DEPTH == 256

    result = partner_join(referral_code=deepest.referral_code, telegram_id=5_550_001)
    assert result.created
    assert result.partner.is_root() and result.partner.referrer_id is None
    assert result.partner.referral_refused == "depth_limit"
    assert Partner.objects.get(pk=deepest.pk).numchild == 0
    assert partner_tree_problems().is_clean

    # The same through the Mini App's first request: 200 (it was a 500 on every request).
    response = tma_client(5_550_002, start_param=deepest.referral_code).get("/api/v1/me/")
    assert response.status_code == 200, response.content
    assert response.json()["referrer"] is None
    assert Partner.objects.get(telegram_id=5_550_002).is_root()


# --- admin: treebeard views given bad ids ------------------------------------------------------


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("treestaff", "t@example.com", "pw-123456789"))
    return client


BAD_IDS = ["abc", "1.5", "-1", "0", "99999999999999999999999", "%C2%B2", "1e3", "%20"]


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_treebeard_admin_views_answer_404_or_400_for_bad_ids(staff_client, bad_id):
    PartnerFactory()
    base = "/admin/partners/partner"
    assert staff_client.get(f"{base}/children/{bad_id}/").status_code == 404
    for suffix in ("change/", "history/", "move/", ""):
        assert staff_client.get(f"{base}/{bad_id}/{suffix}", follow=True).status_code in (200, 404)
    response = staff_client.post(f"{base}/move/", {"node": bad_id, "target": bad_id, "relation": "child"})
    assert response.status_code == 400


def test_treebeard_children_view_still_lists_children(staff_client):
    top = PartnerFactory()
    child = PartnerFactory(referrer=top)
    response = staff_client.get(f"/admin/partners/partner/children/{top.pk}/")
    assert response.status_code == 200
    assert child.username in response.json()["result_html"]
    assert staff_client.get(f"/admin/partners/partner/children/{child.pk + 1000}/").status_code == 404


@pytest.mark.parametrize(
    "query",
    [{"p": "abc"}, {"o": "abc"}, {"id": "abc"}, {"depth__gt": "x"}, {"status__exact": "nope"}, {"q": "a\x00b"}],
)
def test_partner_changelist_with_bad_parameters_does_not_fail(staff_client, query):
    PartnerFactory()
    assert staff_client.get(reverse("admin:partners_partner_changelist"), query, follow=True).status_code < 500
