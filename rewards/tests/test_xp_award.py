"""xp_award_many's shortcuts stay exact."""

import pytest
from django.db import connection, transaction

from partners.tests.factories import PartnerFactory
from rewards.models import XPEntry
from rewards.selectors import xp_balance, xp_balances
from rewards.services.xp import XPAward, xp_award_many

pytestmark = pytest.mark.django_db


def _award(partner, key="bonus:1", amount=40):
    return XPAward(partner_id=partner.pk, amount=amount, kind=XPEntry.Kind.TASK, idempotency_key=key)


def test_a_key_in_the_ledger_already_pays_once_without_a_lookup_or_savepoint(django_assert_num_queries):
    member = PartnerFactory()
    with transaction.atomic():
        xp_award_many([_award(member)])
    # PostgreSQL: the ledger insert (ON CONFLICT DO NOTHING), its deltas and the balances in one
    # statement; SQLite: balances, ledger insert, delta insert. No look-up of existing keys.
    with transaction.atomic(), django_assert_num_queries(1 if connection.vendor == "postgresql" else 3):
        result = xp_award_many([_award(member), _award(member, key="bonus:2", amount=5)], detect_level_ups=True)

    assert [entry.idempotency_key for entry in result.entries] == ["bonus:2"]
    assert XPEntry.objects.filter(partner=member, idempotency_key="bonus:1").count() == 1
    assert xp_balance(member.pk) == 45


def test_balances_cover_folded_and_unfolded_xp_and_unknown_ids():
    from rewards.services import xp_fold_all

    member, other = PartnerFactory(), PartnerFactory()
    with transaction.atomic():
        xp_award_many([_award(member, "a", 30), _award(other, "b", 7)])
    xp_fold_all()
    with transaction.atomic():
        xp_award_many([_award(member, "c", 12)])

    assert xp_balances([member.pk, other.pk, 10**9]) == {member.pk: 42, other.pk: 7, 10**9: 0}
    assert xp_balances([]) == {}
