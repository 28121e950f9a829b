"""Small helpers shared by the payment services."""

import logging
from decimal import ROUND_DOWN, Decimal

from django.db import transaction

from partners.models import Partner

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
USDT_PLACES = Decimal("0.000001")


def usdt(value) -> Decimal:
    """A USDT amount with the ledger's 6 places (exact; callers round before if needed)."""
    return Decimal(value).quantize(USDT_PLACES)


def commission_amount(price: Decimal, rate: Decimal) -> Decimal:
    """rate × price, rounded DOWN to the cent: the remainder stays with the platform."""
    return usdt((Decimal(price) * Decimal(rate)).quantize(CENT, rounding=ROUND_DOWN))


def send_on_commit(signal, **kwargs) -> None:
    """Fire `signal` after commit; a failing receiver is logged, never undoes or breaks the
    (already committed) money movement."""

    def fire():
        for receiver, result in signal.send_robust(sender=Partner, **kwargs):
            if isinstance(result, Exception):
                logger.error("payments signal receiver %r failed", receiver, exc_info=result)

    transaction.on_commit(fire)


def display_name(partner: Partner | None) -> str:
    return partner.display_name if partner is not None else "a member"
