"""Payment sessions: creating the invoice (server-side price and quote), USDT hash submission,
and expiring stale sessions."""

import logging
import re
import secrets
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal, localcontext

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record, audit_record_many
from p2phub import metrics
from p2phub.errors import ConflictError, DomainError, ServiceUnavailableError
from partners.models import Partner
from payments.clients.rates import fetch_ton_usd_rate
from payments.models import Payment
from payments.services.common import send_on_commit, usdt
from payments.signals import payment_under_review

logger = logging.getLogger(__name__)

MEMO_PREFIX = "P2P-"
_MEMO_ATTEMPTS = 8
NANOTONS = Decimal(10**9)
RATE_PLACES = Decimal("0.000000001")
# TRON/Ethereum-style transaction ids: 64 hex digits, optionally 0x-prefixed.
_USDT_TX_HASH = re.compile(r"^(?:0x)?([0-9a-fA-F]{64})$")


def generate_memo() -> str:
    return f"{MEMO_PREFIX}{secrets.token_hex(4).upper()}"


def ton_quote_nanotons(*, price_usd: Decimal, rate: Decimal) -> int:
    """price / rate × markup in nanotons, rounded UP (never quote less than the price)."""
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(price_usd) / Decimal(rate) * settings.TON_QUOTE_MARKUP * NANOTONS
        return int(exact.to_integral_value(rounding=ROUND_CEILING))


def payment_create(*, partner: Partner, method: str) -> Payment:
    """Open a session for the PRO plan. The price comes from settings only; TON needs a live
    rate (no rate, no session: 503) and a configured wallet."""
    method = (method or "").upper()
    if method not in Payment.Method.values:
        raise DomainError("Payment method must be TON or USDT.", code="invalid_method")
    price = Decimal(settings.PRO_PRICE_USD).quantize(Decimal("0.01"))
    now = timezone.now()
    fields = {
        "partner": partner,
        "method": method,
        "plan": settings.PRO_PLAN_CODE,
        "duration_days": settings.PRO_DURATION_DAYS,
        "price_usd": price,
        "created_at": now,
    }
    if method == Payment.Method.TON:
        address = settings.TON_WALLET_ADDRESS
        if not address:
            raise ServiceUnavailableError("TON payments are not configured.", code="wallet_unavailable")
        rate = fetch_ton_usd_rate()
        if rate is None:
            raise ServiceUnavailableError(
                "The TON/USD rate is unavailable right now; please try again shortly.", code="rate_unavailable"
            )
        # The stored rate is the one the quote is computed from, so the quote is reproducible.
        rate = rate.quantize(RATE_PLACES)
        if rate <= 0:
            raise ServiceUnavailableError("The TON/USD rate is unusable right now.", code="rate_unavailable")
        nanotons = ton_quote_nanotons(price_usd=price, rate=rate)
        fields.update(
            currency="TON",
            address=address,
            ton_usd_rate=rate,
            amount_nanotons=nanotons,
            amount=(Decimal(nanotons) / NANOTONS).quantize(RATE_PLACES),
            expires_at=now + timedelta(minutes=settings.TON_SESSION_MINUTES),
        )
    else:
        address = settings.USDT_WALLET_ADDRESS
        if not address:
            raise ServiceUnavailableError("USDT payments are not configured.", code="wallet_unavailable")
        fields.update(
            currency="USDT",
            address=address,
            amount=usdt(price),  # USDT is pegged 1:1 to the USD price
            expires_at=now + timedelta(minutes=settings.USDT_SESSION_MINUTES),
        )

    for _attempt in range(_MEMO_ATTEMPTS):
        try:
            with transaction.atomic():
                payment = Payment.objects.create(memo=generate_memo(), **fields)
                metrics.payment_status_on_commit(Payment.Status.PENDING)
                audit_record(
                    EventType.PAYMENT_CREATED,
                    partner_id=partner.pk,
                    amount=price,
                    currency="USD",
                    metadata={
                        "payment_id": payment.pk,
                        "method": method,
                        "memo": payment.memo,
                        "amount": str(payment.amount),
                        "currency": payment.currency,
                        "ton_usd_rate": str(payment.ton_usd_rate) if payment.ton_usd_rate else None,
                    },
                )
            return payment
        except IntegrityError:
            logger.info("payment memo collision, retrying")
    raise ConflictError("Could not allocate a unique payment memo; please retry.", code="memo_conflict")


def normalize_usdt_tx_hash(tx_hash: str) -> str:
    match = _USDT_TX_HASH.match((tx_hash or "").strip())
    if not match:
        raise DomainError("tx_hash must be a 64-character hexadecimal transaction id.", code="invalid_tx_hash")
    return match.group(1).lower()  # one spelling per transaction, so the unique index holds


def payment_submit_usdt(*, partner: Partner, payment_id: int, tx_hash: str) -> Payment:
    """The member says they paid a USDT session with `tx_hash`: staff verify it on-chain."""
    tx_hash = normalize_usdt_tx_hash(tx_hash)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(pk=payment_id, partner=partner).first()
        if payment is None:
            raise DomainError("Payment not found.", code="not_found", status_code=404)
        if payment.method != Payment.Method.USDT:
            raise DomainError("Only USDT payments take a transaction hash.", code="invalid_method")
        if payment.status == Payment.Status.UNDER_REVIEW and payment.tx_hash == tx_hash:
            return payment  # a repeated submission of the same hash
        if payment.status not in (Payment.Status.PENDING, Payment.Status.EXPIRED):
            raise ConflictError(f"This payment is {payment.status}; it cannot take a transaction hash.", code="invalid_state")
        if Payment.objects.filter(tx_hash=tx_hash).exists():
            raise ConflictError("This transaction hash was already used for a payment.", code="tx_hash_used")
        previous = payment.status
        payment.status = Payment.Status.UNDER_REVIEW
        payment.tx_hash = tx_hash
        payment.review_reason = "usdt_submitted"
        payment.submitted_at = timezone.now()
        try:
            with transaction.atomic():
                payment.save(update_fields=["status", "tx_hash", "review_reason", "submitted_at", "updated_at"])
        except IntegrityError as exc:  # the same hash submitted concurrently for another payment
            raise ConflictError("This transaction hash was already used for a payment.", code="tx_hash_used") from exc
        metrics.payment_status_on_commit(Payment.Status.UNDER_REVIEW)
        audit_record(
            EventType.PAYMENT_STATE_CHANGED,
            partner_id=partner.pk,
            metadata={"payment_id": payment.pk, "from": previous, "to": payment.status, "tx_hash": tx_hash},
        )
        send_on_commit(payment_under_review, payment_id=payment.pk, partner_id=partner.pk, reason="usdt_submitted")
    return payment


def payment_expire_stale(*, now: datetime | None = None) -> int:
    """Pending sessions past their expiry become `expired` (audited). A TON transfer that was
    sent before expiry but indexed later still completes an expired session."""
    now = now or timezone.now()
    with transaction.atomic():
        stale = Payment.objects.filter(status=Payment.Status.PENDING, expires_at__lte=now).order_by("pk")
        if connection.vendor == "postgresql":
            stale = stale.select_for_update(skip_locked=True)
        rows = list(stale.values_list("pk", "partner_id"))
        if not rows:
            return 0
        Payment.objects.filter(pk__in=[pk for pk, _ in rows]).update(status=Payment.Status.EXPIRED, updated_at=now)
        metrics.payment_status_on_commit(Payment.Status.EXPIRED, len(rows))
        audit_record_many(
            [
                AuditEntry(
                    EventType.PAYMENT_STATE_CHANGED,
                    partner_id=partner_id,
                    metadata={"payment_id": pk, "from": Payment.Status.PENDING, "to": Payment.Status.EXPIRED},
                )
                for pk, partner_id in rows
            ]
        )
    return len(rows)
