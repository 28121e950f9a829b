"""TON verification: match the wallet's incoming transfers to payment sessions.

Each transfer is handled once, whatever the number of pollers: the transfer's hash is unique in
`TonTransfer`, and the session it names is locked with SKIP LOCKED before the transfer is
recorded (a session busy in another worker is left for the next poll). A transfer pays a
session only when its comment equals the memo exactly, it was not bounced/aborted, it arrived
before the session expired and its value is at least TON_MIN_PAID_RATIO of the quote. Anything
else is recorded for staff review and credits nothing. The indexer is called outside any
transaction, so its errors, rate limits and timeouts change nothing in the database.
"""

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many
from p2phub.errors import DomainError
from partners.models import Partner
from payments.clients.toncenter import IncomingTransfer, list_incoming_transfers
from payments.models import Payment, TonTransfer
from payments.services.common import send_on_commit
from payments.services.completion import payment_complete
from payments.signals import payment_under_review

logger = logging.getLogger(__name__)

# Indexer clocks and ours differ a little; look slightly further back than the oldest session.
_START_SLACK_SECONDS = 120
SKIPPED_BUSY = "busy"


def _pollable_sessions(now: datetime):
    late_window = now - timedelta(minutes=settings.TON_LATE_WINDOW_MINUTES)
    return Payment.objects.filter(method=Payment.Method.TON).filter(
        Q(status=Payment.Status.PENDING) | Q(status=Payment.Status.EXPIRED, expires_at__gte=late_window)
    )


def ton_poll(*, now: datetime | None = None) -> Counter:
    """One polling round: fetch recent incoming transfers if any session is waiting for one.
    Raises TransientExternalError / PermanentExternalError from the indexer unchanged."""
    now = now or timezone.now()
    oldest = _pollable_sessions(now).aggregate(oldest=Min("created_at"))["oldest"]
    if oldest is None:
        return Counter()  # nothing is waiting for a transfer: do not call the indexer
    transfers = list_incoming_transfers(start_utime=int(oldest.timestamp()) - _START_SLACK_SECONDS)
    return ton_process_transfers(transfers)


def payment_check_ton(*, partner: Partner, payment_id: int) -> Payment:
    """Check now: verify one of the member's TON sessions against the indexer immediately."""
    payment = Payment.objects.filter(pk=payment_id, partner=partner).first()
    if payment is None:
        raise DomainError("Payment not found.", code="not_found", status_code=404)
    if payment.method != Payment.Method.TON:
        raise DomainError("USDT payments are checked by staff: submit the transaction hash.", code="tx_hash_required")
    if payment.status in (Payment.Status.PENDING, Payment.Status.EXPIRED):
        start = int(payment.created_at.timestamp()) - _START_SLACK_SECONDS
        ton_process_transfers(list_incoming_transfers(start_utime=start))
        payment.refresh_from_db()
    return payment


def ton_process_transfers(transfers: list[IncomingTransfer]) -> Counter:
    """Record and act on every transfer not seen before, oldest first (so when a memo is paid
    twice, the first transfer pays and the second goes to review). Returns status counts."""
    if not transfers:
        return Counter()
    known = set(
        TonTransfer.objects.filter(tx_hash__in=[t.tx_hash for t in transfers]).values_list("tx_hash", flat=True)
    )
    outcomes: Counter = Counter()
    for transfer in sorted((t for t in transfers if t.tx_hash not in known), key=lambda t: (t.lt, t.tx_hash)):
        outcome = _process_transfer(transfer)
        if outcome:
            outcomes[outcome] += 1
    return outcomes


def _session_for(comment: str | None) -> int | None:
    if not comment:
        return None
    return Payment.objects.filter(memo=comment, method=Payment.Method.TON).values_list("pk", flat=True).first()


def _classify(transfer: IncomingTransfer, payment: Payment | None, arrived: datetime) -> str:
    if transfer.bounced or transfer.aborted:
        return TonTransfer.Status.BOUNCED
    if payment is None:
        return TonTransfer.Status.UNMATCHED
    if payment.status not in (Payment.Status.PENDING, Payment.Status.EXPIRED):
        return TonTransfer.Status.DUPLICATE_MEMO
    if arrived >= payment.expires_at:
        return TonTransfer.Status.LATE
    if Decimal(transfer.value_nanotons) < Decimal(payment.amount_nanotons) * settings.TON_MIN_PAID_RATIO:
        return TonTransfer.Status.UNDERPAID
    return TonTransfer.Status.MATCHED


def _process_transfer(transfer: IncomingTransfer) -> str | None:
    arrived = datetime.fromtimestamp(transfer.utime, tz=UTC)
    payment_id = _session_for(transfer.comment)
    with transaction.atomic():
        payment = None
        if payment_id is not None:
            locking = Payment.objects.filter(pk=payment_id)
            if connection.vendor == "postgresql":
                locking = locking.select_for_update(skip_locked=True)
            payment = locking.first()
            if payment is None:
                return SKIPPED_BUSY  # another worker holds this session; the next poll retries
        status = _classify(transfer, payment, arrived)
        record = TonTransfer(
            tx_hash=transfer.tx_hash,
            lt=transfer.lt,
            utime=arrived,
            source=transfer.source or "",
            value_nanotons=transfer.value_nanotons,
            comment=(transfer.comment or "")[:512],
            bounced=transfer.bounced,
            aborted=transfer.aborted,
            payment=payment,
            status=status,
        )
        try:
            with transaction.atomic():
                record.save(force_insert=True)
        except IntegrityError:
            return None  # another poller recorded (and handled) this transfer first

        if status == TonTransfer.Status.MATCHED:
            payment_complete(
                payment_id=payment.pk,
                tx_hash=transfer.tx_hash,
                received_nanotons=transfer.value_nanotons,
                source="ton_verification",
            )
        elif status in (TonTransfer.Status.LATE, TonTransfer.Status.UNDERPAID):
            _send_to_review(payment, transfer, reason=status)
        else:
            logger.warning("TON transfer %s recorded for review: %s", transfer.tx_hash, status)
    return status


def _send_to_review(payment: Payment, transfer: IncomingTransfer, *, reason: str) -> None:
    previous = payment.status
    payment.status = Payment.Status.UNDER_REVIEW
    payment.review_reason = reason
    payment.tx_hash = transfer.tx_hash
    payment.received_nanotons = transfer.value_nanotons
    payment.submitted_at = timezone.now()
    payment.save(update_fields=["status", "review_reason", "tx_hash", "received_nanotons", "submitted_at", "updated_at"])
    audit_record_many(
        [
            AuditEntry(
                EventType.PAYMENT_STATE_CHANGED,
                partner_id=payment.partner_id,
                metadata={
                    "payment_id": payment.pk,
                    "from": previous,
                    "to": payment.status,
                    "reason": reason,
                    "tx_hash": transfer.tx_hash,
                    "received_nanotons": transfer.value_nanotons,
                    "quoted_nanotons": payment.amount_nanotons,
                },
            )
        ]
    )
    send_on_commit(payment_under_review, payment_id=payment.pk, partner_id=payment.partner_id, reason=reason)


def ton_transfer_resolve(*, transfer_id: int, actor, note: str = "") -> TonTransfer:
    """Staff mark a reviewed transfer as handled (e.g. refunded on-chain, or credited by
    approving its payment)."""
    with transaction.atomic():
        record = TonTransfer.objects.select_for_update().filter(pk=transfer_id).first()
        if record is None:
            raise DomainError("Transfer not found.", code="not_found", status_code=404)
        if record.resolved_at is not None:
            return record
        record.resolved_at = timezone.now()
        record.resolved_by = actor
        record.resolution_note = note[:500]
        record.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
        audit_record_many(
            [
                AuditEntry(
                    EventType.STAFF_ACTION,
                    partner_id=record.payment.partner_id if record.payment_id else None,
                    actor=actor,
                    metadata={
                        "action": "ton_transfer_resolved",
                        "transfer_id": record.pk,
                        "tx_hash": record.tx_hash,
                        "status": record.status,
                        "note": note[:500],
                    },
                )
            ]
        )
    return record
