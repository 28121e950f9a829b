"""TON verification: match the wallet's incoming transfers to payment sessions.

Each transfer is handled once, whatever the number of pollers: the transfer's hash is unique in
`TonTransfer`, and the session it names is locked with SKIP LOCKED before the transfer is
recorded (a session busy in another worker is left for the next poll). A transfer pays a
session only when its comment equals the memo exactly, it was not bounced/aborted, it arrived
before the session expired and its value is at least TON_MIN_PAID_RATIO of the quote. Anything
else is recorded for staff review and credits nothing. The indexer is called outside any
transaction, so its errors, rate limits and timeouts change nothing in the database (pages
handled before the error stay handled; the retry carries on from the cursor).

Every incoming transfer since the oldest open session is read (SPEC §4), oldest first, page by
page with the indexer's lt cursor; `TonPollCursor` remembers how far the wallet has been read,
so a run bounded to TON_POLL_MAX_PAGES pages resumes there on the next poll, whatever the
volume. Each transfer is processed on its own, in its own savepoint: what goes into queries is
sanitized (NUL and other bytes PostgreSQL text cannot hold, over-long text, out-of-range
numbers), and a malformed transfer, or one whose processing fails, is recorded as
`malformed` for staff while the others carry on.
"""

import dataclasses
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from audit.models import EventType
from audit.services import AuditEntry, audit_record_many
from p2phub import metrics
from p2phub.errors import ConflictError, DomainError, NotFoundError
from partners.models import Partner
from payments.clients.toncenter import IncomingTransfer, iter_incoming_pages
from payments.models import Payment, TonPollCursor, TonTransfer
from payments.services.common import send_on_commit
from payments.services.completion import payment_complete
from payments.signals import payment_under_review

logger = logging.getLogger(__name__)

# Indexer clocks and ours differ a little; look slightly further back than the oldest session.
_START_SLACK_SECONDS = 120
SKIPPED_BUSY = "busy"
SKIPPED_RETRY = "retry"  # a transient database error: left for the next poll
# Outcomes that leave a transfer unrecorded, so the cursor must not move past it.
_UNHANDLED = (SKIPPED_BUSY, SKIPPED_RETRY)
# Per-run bounds (settings override them): with the persisted cursor a bounded run only
# delays, never loses, the transfers after it. 50 pages of 100 every 30 s is far above what
# one wallet can receive.
_DEFAULT_PAGE_SIZE = 100
_DEFAULT_POLL_MAX_PAGES = 50
_DEFAULT_CHECK_NOW_MAX_PAGES = 10
_HASH_MAX = TonTransfer._meta.get_field("tx_hash").max_length
_SOURCE_MAX = TonTransfer._meta.get_field("source").max_length
_COMMENT_MAX = TonTransfer._meta.get_field("comment").max_length
_DETAIL_MAX = TonTransfer._meta.get_field("detail").max_length
_MEMO_MAX = Payment._meta.get_field("memo").max_length
_INT64_MAX = 2**63 - 1


def _pollable_sessions(now: datetime):
    late_window = now - timedelta(minutes=settings.TON_LATE_WINDOW_MINUTES)
    return Payment.objects.filter(method=Payment.Method.TON).filter(
        Q(status=Payment.Status.PENDING) | Q(status=Payment.Status.EXPIRED, expires_at__gte=late_window)
    )


def ton_poll(*, now: datetime | None = None, max_pages: int | None = None) -> Counter:
    """One polling round: read the wallet's incoming transfers, from the cursor or the oldest
    open session, if any session is waiting for one. Raises TransientExternalError /
    PermanentExternalError from the indexer unchanged (pages already handled stay handled)."""
    now = now or timezone.now()
    oldest = _pollable_sessions(now).aggregate(oldest=Min("created_at"))["oldest"]
    if oldest is None:
        return Counter()  # nothing is waiting for a transfer: do not call the indexer
    return _poll_from(
        start=oldest, max_pages=max_pages or _setting("TON_POLL_MAX_PAGES", _DEFAULT_POLL_MAX_PAGES)
    )


def payment_check_ton(*, partner: Partner, payment_id: int) -> Payment:
    """Check now: verify one of the member's TON sessions against the indexer immediately."""
    payment = Payment.objects.filter(pk=payment_id, partner=partner).first()
    if payment is None:
        raise DomainError("Payment not found.", code="not_found", status_code=404)
    if payment.method != Payment.Method.TON:
        raise DomainError("USDT payments are checked by staff: submit the transaction hash.", code="tx_hash_required")
    if payment.status in (Payment.Status.PENDING, Payment.Status.EXPIRED):
        # The same round as the poller (so the cursor stays valid), reaching back to this
        # session even when it is past the late window.
        oldest = _pollable_sessions(timezone.now()).aggregate(oldest=Min("created_at"))["oldest"]
        start = min(oldest, payment.created_at) if oldest else payment.created_at
        _poll_from(start=start, max_pages=_setting("TON_CHECK_NOW_MAX_PAGES", _DEFAULT_CHECK_NOW_MAX_PAGES))
        payment.refresh_from_db()
    return payment


def _setting(name: str, default: int) -> int:
    return max(int(getattr(settings, name, default)), 1)


def _poll_from(*, start: datetime, max_pages: int) -> Counter:
    """Read and handle every incoming transfer from `start` (less the clock slack) or the
    cursor, whichever is later, page by page, for at most `max_pages` pages. The cursor moves
    past a page only when every transfer up to it was handled, so nothing is ever skipped:
    a session busy in another worker or a transient database error holds it back, and
    rereading is harmless (each hash is recorded once)."""
    account = settings.TON_WALLET_ADDRESS
    start_lt = TonPollCursor.objects.filter(account=account).values_list("next_lt", flat=True).first()
    outcomes: Counter = Counter()
    advancing = True
    for page in iter_incoming_pages(
        account=account,
        start_utime=int(start.timestamp()) - _START_SLACK_SECONDS,
        start_lt=start_lt,
        limit=min(_setting("TON_POLL_PAGE_SIZE", _DEFAULT_PAGE_SIZE), 1000),
        max_pages=max_pages,
    ):
        page_outcomes = ton_process_transfers(page.transfers)
        outcomes.update(page_outcomes)
        advancing = advancing and not any(page_outcomes[skipped] for skipped in _UNHANDLED)
        if advancing and page.next_lt is not None:
            _cursor_advance(account=account, next_lt=page.next_lt)
    return outcomes


def _cursor_advance(*, account: str, next_lt: int) -> None:
    """Move the wallet's cursor forward to `next_lt` (never back: pollers run in parallel)."""
    now = timezone.now()
    if TonPollCursor.objects.filter(account=account, next_lt__lt=next_lt).update(next_lt=next_lt, updated_at=now):
        return
    try:
        with transaction.atomic():
            TonPollCursor.objects.get_or_create(account=account, defaults={"next_lt": next_lt, "updated_at": now})
    except IntegrityError:  # another poller created it first
        pass
    TonPollCursor.objects.filter(account=account, next_lt__lt=next_lt).update(next_lt=next_lt, updated_at=now)


def ton_process_transfers(transfers: list[IncomingTransfer]) -> Counter:
    """Record and act on every transfer not seen before, oldest first (so when a memo is paid
    twice, the first transfer pays and the second goes to review), each on its own: one that
    fails is recorded as malformed and the others carry on. Returns outcome counts."""
    if not transfers:
        return Counter()
    clean = [_sanitize(t) for t in transfers]
    known = set(TonTransfer.objects.filter(tx_hash__in={t.tx_hash for t in clean}).values_list("tx_hash", flat=True))
    outcomes: Counter = Counter()
    for transfer in sorted((t for t in clean if t.tx_hash not in known), key=lambda t: (t.lt, t.tx_hash)):
        if transfer.tx_hash in known:
            continue  # the same row twice in one batch
        outcome = _process_isolated(transfer)
        if outcome not in _UNHANDLED:
            known.add(transfer.tx_hash)
        if outcome:
            outcomes[outcome] += 1
    return outcomes


def _storable(text: str, max_length: int) -> str:
    """`text` as PostgreSQL text can hold it: no NUL, valid UTF-8 (lone surrogates replaced),
    at most `max_length` characters."""
    text = text.replace("\x00", "\ufffd")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text[:max_length]


def _sanitize(transfer: IncomingTransfer) -> IncomingTransfer:
    """The transfer with only storable values; anything that had to change marks it malformed."""
    problem = transfer.problem
    tx_hash = _storable(str(transfer.tx_hash or ""), _HASH_MAX)
    if tx_hash != transfer.tx_hash or not tx_hash:
        problem = problem or "hash is not storable"
        tx_hash = tx_hash or "malformed:empty-hash"
    source = transfer.source
    if source is not None:
        source = _storable(str(source), _SOURCE_MAX)
        if source != transfer.source:
            problem = problem or "source is not storable"
    comment = transfer.comment
    if comment is not None:
        comment = _storable(str(comment), len(comment))
        if comment != transfer.comment:
            problem = problem or "text comment holds bytes that cannot be stored"
    numbers = {}
    for name in ("lt", "utime", "value_nanotons"):
        value = getattr(transfer, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INT64_MAX:
            problem = problem or f"{name} is out of range"
            value = 0
        numbers[name] = value
    try:
        datetime.fromtimestamp(numbers["utime"], tz=UTC)
    except (OverflowError, OSError, ValueError):
        problem = problem or "utime is out of range"
        numbers["utime"] = 0
    return dataclasses.replace(
        transfer,
        tx_hash=tx_hash,
        source=source,
        comment=comment,
        bounced=transfer.bounced is True,
        aborted=transfer.aborted is True,
        problem=problem,
        **numbers,
    )


def _process_isolated(transfer: IncomingTransfer) -> str | None:
    """One transfer in its own savepoint; a failure is rolled back and recorded for staff."""
    try:
        if transfer.problem:
            return _record_malformed(transfer, detail=transfer.problem)
        return _process_transfer(transfer)
    except OperationalError:
        # Lock timeout, deadlock, lost connection: nothing was recorded; the next poll retries.
        logger.warning("TON transfer %s: transient database error, retried next poll", transfer.tx_hash, exc_info=True)
        return SKIPPED_RETRY
    except Exception as exc:  # noqa: BLE001 - one bad transfer must not stop the others
        logger.exception("TON transfer %s could not be processed; recorded for staff", transfer.tx_hash)
        try:
            return _record_malformed(transfer, detail=f"processing failed: {type(exc).__name__}: {exc}")
        except OperationalError:
            logger.warning("TON transfer %s: could not be recorded, retried next poll", transfer.tx_hash, exc_info=True)
            return SKIPPED_RETRY


def _record_malformed(transfer: IncomingTransfer, *, detail: str) -> str | None:
    """Record an unusable transfer for staff (credits nothing), linked to the session its
    comment names when there is one."""
    comment = _storable(transfer.comment or "", _COMMENT_MAX)
    payment_id = _session_for(comment) if comment == (transfer.comment or "") else None
    record = TonTransfer(
        tx_hash=transfer.tx_hash,
        lt=transfer.lt,
        utime=datetime.fromtimestamp(transfer.utime, tz=UTC),
        source=_storable(transfer.source or "", _SOURCE_MAX),
        value_nanotons=transfer.value_nanotons,
        comment=comment,
        bounced=transfer.bounced,
        aborted=transfer.aborted,
        payment_id=payment_id,
        status=TonTransfer.Status.MALFORMED,
        detail=_storable(detail, _DETAIL_MAX),
    )
    try:
        with transaction.atomic():
            record.save(force_insert=True)
    except IntegrityError:
        return None  # already recorded by another poller
    logger.warning("TON transfer %s recorded for review: malformed (%s)", transfer.tx_hash, record.detail)
    return TonTransfer.Status.MALFORMED


def _session_for(comment: str | None) -> int | None:
    # Only a sanitized comment as long as a memo can be one (a long one is not even queried).
    if not comment or len(comment) > _MEMO_MAX:
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
    with transaction.atomic():
        payment_id = _session_for(transfer.comment)
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
            comment=(transfer.comment or "")[:_COMMENT_MAX],
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
    metrics.payment_status_on_commit(Payment.Status.UNDER_REVIEW)
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


ASSIGNABLE = (TonTransfer.Status.UNMATCHED, TonTransfer.Status.MALFORMED)


def ton_transfer_assign(*, transfer_id: int, payment_id: int, actor, note: str = "") -> Payment:
    """Staff credit a transfer that matched no memo (the member mistyped or left out the
    comment) to the TON payment it was meant for: the payment completes through
    `payment_complete` (same transaction, exactly once), the transfer is linked and resolved,
    and the assignment is audited. A transfer can be assigned once (row lock, then "already
    resolved" → 409), and a payment that is already completed takes no second transfer (409)."""
    with transaction.atomic():
        record = TonTransfer.objects.select_for_update().filter(pk=transfer_id).first()
        if record is None:
            raise NotFoundError("Transfer not found.")
        if record.resolved_at is not None or record.payment_id is not None:
            raise ConflictError("This transfer was already assigned or resolved.", code="transfer_resolved")
        if record.status not in ASSIGNABLE:
            raise ConflictError(
                f"Only transfers that matched no payment can be assigned; this one is {record.status}.",
                code="transfer_not_assignable",
            )
        payment = Payment.objects.select_for_update().filter(pk=payment_id).first()
        if payment is None:
            raise NotFoundError("Payment not found.")
        if payment.method != Payment.Method.TON:
            raise DomainError("Only TON payments take a TON transfer.", code="invalid_method")
        if payment.status == Payment.Status.COMPLETED:
            raise ConflictError("This payment is already completed.", code="payment_completed")
        minimum = Decimal(payment.amount_nanotons) * settings.TON_MIN_PAID_RATIO
        if record.value_nanotons < minimum:
            raise DomainError(
                f"The transfer ({record.value_nanotons} nTON) is below {settings.TON_MIN_PAID_RATIO:%} of the quote "
                f"({payment.amount_nanotons} nTON); it cannot pay this payment.",
                code="underpaid",
            )
        payment = payment_complete(
            payment_id=payment.pk,
            tx_hash=record.tx_hash,
            received_nanotons=record.value_nanotons,
            actor=actor,
            source="staff_assignment",
        )
        record.payment = payment
        record.resolved_at = timezone.now()
        record.resolved_by = actor
        record.resolution_note = note[:500]
        record.save(update_fields=["payment", "resolved_at", "resolved_by", "resolution_note"])
        audit_record_many(
            [
                AuditEntry(
                    EventType.TON_TRANSFER_ASSIGNED,
                    partner_id=payment.partner_id,
                    actor=actor,
                    metadata={
                        "transfer_id": record.pk,
                        "tx_hash": record.tx_hash,
                        "payment_id": payment.pk,
                        "memo": payment.memo,
                        "comment": record.comment[:200],
                        "value_nanotons": record.value_nanotons,
                        "status": record.status,
                        "note": note[:500],
                    },
                )
            ]
        )
    return payment
