"""SPEC §3: banned or deactivated ancestors earn neither referral XP nor commission; their
level's share stays with the platform (no compression to the next ancestor)."""

from decimal import Decimal

import pytest

from audit.models import AuditLog, EventType
from partners.models import Partner
from partners.services import partner_set_status
from partners.tests.factories import PartnerFactory, make_chain
from payments.models import USDTEntry
from payments.services import payment_complete, payment_create
from payments.tests.conftest import money
from rewards.models import XPEntry

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wallets")]

COMMISSION = [Decimal(x) for x in ("11.70", "1.95", "1.17", "0.39", "0.39", "0.39", "0.39", "0.39", "0.39")]
REFERRAL_XP = [35, 10, 1, 1, 1, 1, 1, 1, 1]


@pytest.fixture
def upline_with_l2_banned_and_l4_deactivated():
    chain = make_chain(9)
    upline = list(reversed(chain))  # upline[0] is L1 of whoever joins under chain[-1]
    partner_set_status(partner=upline[1], status=Partner.Status.BANNED, actor=None, reason="test")
    partner_set_status(partner=upline[3], status=Partner.Status.DEACTIVATED, actor=None, reason="test")
    return upline


PAID_LEVELS = [1, 3, 5, 6, 7, 8, 9]


def test_inactive_ancestors_get_no_referral_xp_and_the_others_exactly_their_level(
    upline_with_l2_banned_and_l4_deactivated,
):
    upline = upline_with_l2_banned_and_l4_deactivated
    newcomer = PartnerFactory(referrer=upline[0])

    rows = XPEntry.objects.filter(related_partner_id=newcomer.pk, kind=XPEntry.Kind.REFERRAL)
    assert sorted((r.partner_id, r.level, r.amount) for r in rows) == sorted(
        (upline[level - 1].pk, level, REFERRAL_XP[level - 1]) for level in PAID_LEVELS
    )


def test_inactive_ancestors_get_no_commission_and_the_others_exactly_their_level(
    upline_with_l2_banned_and_l4_deactivated,
):
    upline = upline_with_l2_banned_and_l4_deactivated
    buyer = PartnerFactory(referrer=upline[0])
    payment = payment_create(partner=buyer, method="USDT")
    payment_complete(payment_id=payment.pk, tx_hash=f"{payment.pk:064x}")

    rows = list(USDTEntry.objects.filter(payment=payment).order_by("level"))
    assert [(r.partner_id, r.level, r.amount) for r in rows] == [
        (upline[level - 1].pk, level, money(COMMISSION[level - 1])) for level in PAID_LEVELS
    ]
    for inactive in (upline[1], upline[3]):
        assert not USDTEntry.objects.filter(partner=inactive).exists()
        assert not AuditLog.objects.filter(partner_id=inactive.pk, event_type=EventType.COMMISSION_PAID).exists()
    # The platform keeps L2 + L4 (1.95 + 0.39); the completion audit says which levels and why.
    assert sum(r.amount for r in rows) == Decimal("17.16") - Decimal("2.34")
    completed = AuditLog.objects.get(event_type=EventType.PAYMENT_COMPLETED, metadata__payment_id=payment.pk)
    assert completed.metadata["commission_total"] == str(Decimal("14.82").quantize(Decimal("0.000001")))
    assert [(w["level"], w["partner_id"], w["status"]) for w in completed.metadata["commission_withheld"]] == [
        (2, upline[1].pk, "banned"),
        (4, upline[3].pk, "deactivated"),
    ]
