"""Referral awards (SPEC §2): on join, ancestors L1..L9 earn XP, x5 for a recipient who is PRO.

Awards commit with the join: `partner_join` (the signup use case) calls
`referral_awards_for_join` directly inside its transaction. Per signup the work is a fixed
number of statements whatever the depth: one `path IN` for the ancestors that also carries the
fraud look-ups, one statement for the ledger rows with their deltas (PostgreSQL), one for the
attribution with the sighting, the notifications in the join's single insert and the join's
single audit append. No ancestor row is updated or locked beyond the KEY SHARE its foreign keys
need, so a popular leader is not a hot row.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditLog, EventType
from audit.services import AuditEntry, audit_record, audit_record_many
from p2phub import metrics
from p2phub.db import insert_sql, rows_key_share_locked
from p2phub.errors import ConflictError, DomainError, NotFoundError
from partners.eligibility import partner_eligibility_changed
from partners.member_cache import member_changed
from partners.models import Partner
from partners.notifications import Kind, NotificationDraft, notifications_create
from partners.selectors import TreeIntegrityError, partner_ancestor_paths
from referrals.fraud import BLOCK, HOLD, Assessment, SignupSignals, signup_assess, signup_lookups
from referrals.models import PartnerSighting, ReferralAttribution, ReferralAwardRetry, ReferralReview
from rewards.models import XPEntry
from rewards.services import XPAward, XPAwardFailure, xp_award_many

logger = logging.getLogger(__name__)

# The one retry schedule of a failed award step (join-time failure, Celery message, beat backstop
# and the repair command all follow `ReferralAwardRetry.next_attempt_at`, set from this table):
# after the n-th failed attempt the next one is due REFERRAL_AWARD_RETRY_DELAYS[n - 1] later, the
# last delay repeating. The first retry runs right after the join commits (a fresh transaction).
REFERRAL_AWARD_RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)


def referral_award_retry_delay(attempts: int) -> timedelta:
    """How long after its `attempts`-th failed attempt a queued award step is due again."""
    return REFERRAL_AWARD_RETRY_DELAYS[min(max(attempts, 1), len(REFERRAL_AWARD_RETRY_DELAYS)) - 1]


def referral_award_key(new_member_id: int, recipient_id: int) -> str:
    return f"referral:{new_member_id}:{recipient_id}"


def _planned_awards(new_member: Partner, now, signals: SignupSignals) -> tuple[list[dict], dict[int, str], dict]:
    """[{partner_id, level, amount}] for the active ancestors L1..L9, PRO x5 at this moment, the
    recipients' languages (for their notifications, without a second lookup), and the fraud
    look-ups of the signup (`referrals.fraud.signup_lookups`), all from one statement.
    Banned or deactivated ancestors earn nothing (their level is not passed upwards).

    On PostgreSQL the ancestors are read FOR KEY SHARE, nearest first (bottom-up, the order in
    which payments and moves lock a node and then its ancestors): the lock their foreign-key
    checks (ledger, delta, notification rows) would otherwise take at COMMIT, after the audit
    chain head. Nobody's plain updates or key-share locks wait for it; a signup never locks or
    updates an ancestor's row beyond that (the hot-leader rule)."""
    amounts = settings.REFERRAL_XP_BY_LEVEL
    multiplier = settings.PRO_XP_MULTIPLIER
    levels = min(settings.REFERRAL_MAX_LEVELS, len(amounts))
    paths = partner_ancestor_paths(new_member.path, levels=levels)
    if not paths:
        return [], {}, {}
    lookups = signup_lookups(new_member, signals)
    rows = rows_key_share_locked(Partner.objects.filter(path__in=paths).annotate(**lookups).order_by("-depth"))
    by_path = {row.path: row for row in rows}
    missing = [path for path in paths if path not in by_path]
    if missing:
        raise TreeIntegrityError(
            f"Partner {new_member.pk} (path {new_member.path!r}): ancestor path(s) {missing} do not exist."
        )
    ancestors = [by_path[path] for path in paths]
    looked_up = {name: getattr(ancestors[0], name) for name in lookups}
    member_changed(ancestor.pk for ancestor in ancestors)  # their downline counts grew
    planned, languages = [], {}
    for level, ancestor in enumerate(ancestors, start=1):
        if ancestor.status != Partner.Status.ACTIVE:
            continue
        amount = amounts[level - 1] * (multiplier if ancestor.pro_active_at(now) else 1)
        if amount:
            planned.append({"partner_id": ancestor.pk, "level": level, "amount": amount})
            languages[ancestor.pk] = ancestor.language
    return planned, languages, looked_up


def _xp_awards(new_member_id: int, planned: list[dict], audit_event: str, metadata: dict) -> list[XPAward]:
    return [
        XPAward(
            partner_id=item["partner_id"],
            amount=item["amount"],
            kind=XPEntry.Kind.REFERRAL,
            idempotency_key=referral_award_key(new_member_id, item["partner_id"]),
            level=item["level"],
            related_partner_id=new_member_id,
            metadata=metadata,
            audit_event=audit_event,
        )
        for item in planned
    ]


_REFERRAL_KINDS = {1: Kind.REFERRAL_L1, 2: Kind.REFERRAL_L2}


def referral_notification_drafts(
    new_member: Partner, paid: list[XPEntry], *, languages: dict[int, str] | None = None
) -> list[NotificationDraft]:
    """The recipients' notifications of the referral XP just paid: a new L1 or L2 referral with
    the member's name and the XP earned, L3-L9 activity as REFERRAL_DEEP rows for the hourly
    digest. Keyed like the ledger rows, so a reprocessed award notifies nobody twice."""
    name = new_member.display_name
    languages = languages or {}
    return [
        NotificationDraft(
            partner_id=entry.partner_id,
            kind=_REFERRAL_KINDS.get(entry.level, Kind.REFERRAL_DEEP),
            params={"name": name, "xp": entry.amount, "level": entry.level},
            data={"new_member_id": new_member.pk, "level": entry.level, "xp": entry.amount},
            dedupe_key=referral_award_key(new_member.pk, entry.partner_id),
            language=languages.get(entry.partner_id),
        )
        for entry in paid
    ]


def referral_notifications_store(new_member: Partner, paid: list[XPEntry], *, languages: dict[int, str] | None = None) -> None:
    """Store `referral_notification_drafts` (one INSERT)."""
    notifications_create(referral_notification_drafts(new_member, paid, languages=languages))


def _withheld_entry(new_member: Partner, award: dict, assessment: Assessment, *, first_run: bool) -> list[AuditEntry]:
    already = not first_run and AuditLog.objects.filter(  # the join itself: nothing was recorded yet
        partner_id=award["partner_id"],
        related_partner_id=new_member.pk,
        event_type=EventType.REFERRAL_AWARD_WITHHELD,
    ).exists()
    if already:
        return []
    limit = settings.REFERRAL_HOURLY_LIMIT
    return [
        AuditEntry(
            EventType.REFERRAL_AWARD_WITHHELD,
            partner_id=award["partner_id"],
            related_partner_id=new_member.pk,
            amount=award["amount"],
            currency="XP",
            metadata={
                "reason": "velocity_limit",
                "detail": f"{assessment.signups_in_hour} signups in the last hour; the limit is {limit}.",
                "signups_in_hour": assessment.signups_in_hour,
                "limit": limit,
                "level": award["level"],
            },
        )
    ]


def _hold_or_block(new_member: Partner, planned: list[dict], assessment: Assessment, *, first_run: bool) -> list[AuditEntry]:
    """Freeze the awards in a review row (pending for HOLD, blocked for BLOCK), mark the member."""
    if not first_run and ReferralReview.objects.filter(new_member=new_member).exists():
        return []  # reprocessed: the first run already decided
    status = ReferralReview.Status.PENDING if assessment.decision == HOLD else ReferralReview.Status.BLOCKED
    review = ReferralReview.objects.create(
        new_member=new_member,
        referrer_id=new_member.referrer_id,
        score=assessment.score,
        reasons=assessment.reasons,
        reason_codes=",".join(assessment.reason_codes)[:255],
        awards=planned,
        total_xp=sum(item["amount"] for item in planned),
        status=status,
    )
    Partner.objects.filter(pk=new_member.pk).update(fraud_hold=True)
    new_member.fraud_hold = True
    partner_eligibility_changed(new_member.pk)  # `.update()` sends no post_save: sync explicitly
    event = EventType.REFERRAL_AWARD_HELD if status == ReferralReview.Status.PENDING else EventType.REFERRAL_AWARD_BLOCKED
    metadata = {"review_id": review.pk, "score": assessment.score, "reasons": assessment.reason_codes}
    if not planned:
        return [AuditEntry(event, partner_id=new_member.referrer_id, related_partner_id=new_member.pk, metadata=metadata)]
    return _award_item_entries(new_member.pk, planned, event, metadata)


def referral_awards_process(
    new_member: Partner,
    *,
    signals: SignupSignals | None = None,
    failures: list[XPAwardFailure] | None = None,
    first_run: bool = False,
    notifications: list[NotificationDraft] | None = None,
) -> list[AuditEntry]:
    """Pay, withhold, hold or block the referral awards of one signup, and return the audit
    entries for the caller's single audit append. Runs inside the caller's transaction.

    `notifications` (the join's one-transaction path): the recipients' notifications are added
    to this list for the caller's single notification insert, and a ledger row that cannot be
    written raises (the caller runs the join again with the award step isolated). Without it,
    they are stored here and failed rows are isolated as below.

    An ancestor whose ledger row cannot be written (a statement timeout, any database error but
    "already paid") never stops the others: they are paid, and the failed awards are queued
    durably in a `ReferralAwardRetry` row committed with them, or, when the caller passes a
    `failures` list (the retry itself), handed back there.

    Idempotent: ledger rows are keyed `referral:<member>:<recipient>` (and a unique constraint
    on (recipient, member)), a review row is unique per member and a withheld event is written
    once, so calling it again for the same member pays and records nothing twice."""
    if new_member.referrer_id is None:
        return []
    started = time.perf_counter()
    try:
        return _process(new_member, signals=signals, failures=failures, first_run=first_run, notifications=notifications)
    finally:
        metrics.referral_processing_observe(time.perf_counter() - started)


def _process(
    new_member: Partner,
    *,
    signals: SignupSignals | None,
    failures: list[XPAwardFailure] | None,
    first_run: bool,
    notifications: list[NotificationDraft] | None,
) -> list[AuditEntry]:
    signals = signals or SignupSignals()
    now = timezone.now()
    planned, languages, looked_up = _planned_awards(new_member, now, signals)
    assessment = signup_assess(new_member, signals, looked_up=looked_up)
    entries: list[AuditEntry] = []

    if assessment.velocity_exceeded:
        withheld = [item for item in planned if item["level"] == 1]
        planned = [item for item in planned if item["level"] != 1]
        for award in withheld:
            entries.extend(_withheld_entry(new_member, award, assessment, first_run=first_run))

    if assessment.decision in (HOLD, BLOCK):
        return entries + _hold_or_block(new_member, planned, assessment, first_run=first_run)

    metadata = {"fraud_score": assessment.score} if assessment.score else {}
    drafts: list[NotificationDraft] = []
    result = xp_award_many(
        _xp_awards(new_member.pk, planned, EventType.XP_AWARDED, metadata),
        allow_failures=notifications is None,
        notifications=drafts,
    )
    drafts.extend(referral_notification_drafts(new_member, result.entries, languages=languages))
    for draft in drafts:  # level-ups too: every recipient's language came with the ancestors
        draft.language = draft.language or languages.get(draft.partner_id)
    if notifications is None:
        notifications_create(drafts)
    else:
        notifications.extend(drafts)
    metrics.referrals_processed_on_commit([entry.level for entry in result.entries])
    for item in result.failed:
        metrics.referral_failed(item.award.level, type(item.error).__name__)
    if result.failed:
        if failures is None:
            referral_award_retry_queue(new_member, signals=signals, error=_failure_text(result.failed))
        else:
            failures.extend(result.failed)
    return entries + result.audit_entries


def _failure_text(failed: list[XPAwardFailure]) -> str:
    return "; ".join(
        f"L{item.award.level} partner {item.award.partner_id}: {item.error!r}" for item in failed
    )[:2000]


def referral_award_retry_queue(new_member: Partner, *, signals: SignupSignals, error: str) -> ReferralAwardRetry:
    """Queue (or re-open) the durable retry of a member's award step, in the caller's
    transaction, due per the one schedule; Celery is told after commit."""
    now = timezone.now()
    retry, created = ReferralAwardRetry.objects.select_for_update().get_or_create(
        new_member=new_member,
        defaults={
            "signals": signals.as_dict(),
            "attempts": 1,
            "last_error": error[:2000],
            "next_attempt_at": now + referral_award_retry_delay(1),
        },
    )
    if not created:
        retry.attempts += 1
        retry.last_error = error[:2000]
        retry.done_at = None
        retry.next_attempt_at = now + referral_award_retry_delay(retry.attempts)
        retry.save(update_fields=["attempts", "last_error", "done_at", "next_attempt_at"])
    logger.error("Referral awards for member %s queued for retry: %s", new_member.pk, error)
    audit_record(
        EventType.REFERRAL_AWARD_QUEUED,
        partner_id=new_member.pk,
        related_partner_id=new_member.referrer_id,
        metadata={"retry_id": retry.pk, "attempts": retry.attempts, "next_attempt_at": retry.next_attempt_at, "error": error[:500]},
    )
    _retry_enqueue_on_commit(retry)
    return retry


def _retry_enqueue_on_commit(retry: ReferralAwardRetry) -> None:
    """The Celery message for the row's next attempt, at `next_attempt_at`. Lost or duplicated
    messages are harmless: the beat backstop runs every due row, and an attempt takes the row
    lock and skips a row that is done or not due yet."""
    from referrals.tasks import retry_referral_awards

    retry_id, eta = retry.pk, retry.next_attempt_at
    transaction.on_commit(lambda: retry_referral_awards.apply_async((retry_id,), eta=eta), robust=True)


def sightings_record(*, partner_id: int, ip_hash: str, device_hash: str, now=None) -> None:
    """Upsert "seen now" for the member's hashed IP and device (one statement)."""
    now = now or timezone.now()
    rows = [
        PartnerSighting(partner_id=partner_id, kind=kind, value_hash=value, first_seen=now, last_seen=now)
        for kind, value in ((PartnerSighting.Kind.IP, ip_hash), (PartnerSighting.Kind.DEVICE, device_hash))
        if value
    ]
    if rows:
        PartnerSighting.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["partner", "kind", "value_hash"],
            update_fields=["last_seen"],
        )


def _join_signals_record(partner: Partner, signup, signals: SignupSignals) -> None:
    """The join's referral-side rows in one statement (PostgreSQL; two on SQLite): how the member
    arrived (`ReferralAttribution`, for a member with a referrer: the per-platform funnel) and
    their hashed IP / device sighting (fraud signals). A new member has no sighting yet, so the
    sighting insert skips a conflict instead of refreshing `last_seen`."""
    from referrals.share_services import referral_attribution_row

    now = timezone.now()
    sightings = [
        PartnerSighting(partner_id=partner.pk, kind=kind, value_hash=value, first_seen=now, last_seen=now)
        for kind, value in ((PartnerSighting.Kind.IP, signals.ip_hash), (PartnerSighting.Kind.DEVICE, signals.device_hash))
        if value
    ]
    attribution = [referral_attribution_row(partner=partner, signup=signup)] if partner.referrer_id is not None else []
    statements = [
        insert_sql(model, rows, ignore_conflicts=model is PartnerSighting)
        for model, rows in ((ReferralAttribution, attribution), (PartnerSighting, sightings))
        if rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(statements) == 2:
            (first, first_params), (second, second_params) = statements
            cursor.execute(f"WITH attribution AS ({first}) {second}", [*first_params, *second_params])
            return
        for sql, params in statements:
            cursor.execute(sql, params)


def referral_awards_for_join(*, partner: Partner, signup=None, notifications: list[NotificationDraft] | None = None) -> list[AuditEntry]:
    """The referral step of the signup use case (`partner_join`), inside the join transaction.

    With `notifications` (the join's one-transaction path): no savepoint; the recipients'
    notifications go into that list, and any failure propagates (partner_join rolls the whole
    attempt back and runs it again without the list).

    Without it (that second run), the award step runs in a savepoint: if it raises (a bug, a
    statement timeout), it is rolled back on its own, the join still commits, and a
    `ReferralAwardRetry` row committed with the join makes Celery retry it with backoff. A
    referral problem never costs a member their signup, and an award is never lost."""
    signals = SignupSignals.from_signup(signup)
    if notifications is not None:
        entries = referral_awards_process(partner, signals=signals, first_run=True, notifications=notifications)
        _join_signals_record(partner, signup, signals)
        return entries
    if partner.referrer_id is not None:
        # How they arrived (the per-platform funnel), committed with the member whatever the
        # award step below does.
        from referrals.share_services import referral_attribution_record

        referral_attribution_record(partner=partner, signup=signup)
    try:
        with transaction.atomic():
            entries = referral_awards_process(partner, signals=signals, first_run=True)
            sightings_record(partner_id=partner.pk, ip_hash=signals.ip_hash, device_hash=signals.device_hash)
            return entries
    except Exception as error:  # noqa: BLE001 - isolating the join from any award failure
        logger.exception("Referral awards for member %s failed; queued for retry", partner.pk)
        metrics.referral_failed("all", type(error).__name__)
        referral_award_retry_queue(partner, signals=signals, error=repr(error))
        return []


def referral_awards_retry(retry_id: int, *, force: bool = False) -> bool:
    """Run a queued award step again if it is due (or `force`). True when done (now or earlier);
    False when still pending: not due yet, or failed again (the row keeps the error, and the next
    attempt is due per REFERRAL_AWARD_RETRY_DELAYS). Awards that did get paid in a failed
    attempt stay paid; the next attempt pays only what is still missing (ledger keys)."""
    member_id = ReferralAwardRetry.objects.filter(pk=retry_id).values_list("new_member_id", flat=True).first()
    if member_id is None:
        return True
    with transaction.atomic():
        # Member row first, then the retry row: the order `referral_awards_reprocess` takes them
        # in when it queues a retry, so the two never deadlock.
        member = Partner.objects.select_for_update().get(pk=member_id)
        retry = ReferralAwardRetry.objects.select_for_update().filter(pk=retry_id).first()
        if retry is None or retry.done_at is not None:
            return True
        if not force and retry.next_attempt_at > timezone.now():
            return False
        failures: list[XPAwardFailure] = []
        try:
            with transaction.atomic():
                audit_entries = referral_awards_process(
                    member, signals=SignupSignals.from_dict(retry.signals), failures=failures
                )
                audit_record_many(audit_entries)
            error = _failure_text(failures) if failures else ""
        except Exception as exc:  # noqa: BLE001 - recorded on the row and retried later
            logger.exception("Referral award retry %s failed", retry_id)
            error = repr(exc)[:2000]
        retry.attempts += 1
        if error:
            retry.last_error = error
            retry.next_attempt_at = timezone.now() + referral_award_retry_delay(retry.attempts)
            retry.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            _retry_enqueue_on_commit(retry)
            return False
        retry.done_at = timezone.now()
        retry.save(update_fields=["done_at", "attempts"])
        return True


def referral_award_retries_due(*, limit: int = 500) -> list[int]:
    return list(
        ReferralAwardRetry.objects.filter(done_at__isnull=True, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def referral_awards_reprocess(*, new_member_id: int) -> list[AuditEntry]:
    """Repair entry point (command, staff): process one member's awards in its own transaction.
    Signup signals are not kept for paid signups, so only velocity and timing are re-scored."""
    with transaction.atomic():
        member = Partner.objects.select_for_update().filter(pk=new_member_id).first()
        if member is None:
            raise NotFoundError(f"Partner {new_member_id} does not exist.")
        entries = referral_awards_process(member)
        audit_record_many(entries)
    return entries


def _award_item_entries(new_member_id: int, items: list[dict], event: str, metadata: dict) -> list[AuditEntry]:
    """One audit entry per planned award item (recipient, level, XP) of a member's signup."""
    return [
        AuditEntry(
            event,
            partner_id=item["partner_id"],
            related_partner_id=new_member_id,
            amount=item["amount"],
            currency="XP",
            metadata={**metadata, "level": item["level"]},
        )
        for item in items
    ]


def _decide(review_id: int, *, actor, approve: bool, note: str = "") -> ReferralReview:
    with transaction.atomic():
        review = ReferralReview.objects.select_for_update().filter(pk=review_id).first()
        if review is None:
            raise NotFoundError(f"Referral review {review_id} does not exist.")
        if review.status != ReferralReview.Status.PENDING:
            raise ConflictError(f"Review {review_id} is already {review.status}.", code="review_decided")
        review.status = ReferralReview.Status.APPROVED if approve else ReferralReview.Status.REJECTED
        review.decided_at = timezone.now()
        review.decided_by = actor
        review.decision_note = note[:500]
        review.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
        reasons = [code for code in review.reason_codes.split(",") if code]
        metadata = {"review_id": review.pk, "score": review.score, "reasons": reasons}
        if approve:
            Partner.objects.filter(pk=review.new_member_id).update(fraud_hold=False)
            partner_eligibility_changed(review.new_member_id)  # back on the boards after commit
            # SPEC §3: a recipient banned or deactivated while the award was held earns nothing;
            # their share stays with the platform (audited), the others are paid as planned.
            active = set(
                Partner.objects.filter(
                    pk__in=[item["partner_id"] for item in review.awards], status=Partner.Status.ACTIVE
                ).values_list("pk", flat=True)
            )
            payable = [item for item in review.awards if item["partner_id"] in active]
            dropped = _award_item_entries(
                review.new_member_id,
                [item for item in review.awards if item["partner_id"] not in active],
                EventType.REFERRAL_AWARD_WITHHELD,
                {**metadata, "reason": "recipient_inactive"},
            )
            awards = _xp_awards(review.new_member_id, payable, EventType.REFERRAL_AWARD_APPROVED, metadata)
            paid = xp_award_many(awards)
            referral_notifications_store(review.new_member, paid.entries)
            metrics.referrals_processed_on_commit([entry.level for entry in paid.entries])
            entries = dropped + paid.audit_entries or [
                AuditEntry(
                    EventType.REFERRAL_AWARD_APPROVED,
                    partner_id=review.referrer_id,
                    related_partner_id=review.new_member_id,
                    metadata=metadata,
                )
            ]
        else:
            entries = _award_item_entries(
                review.new_member_id, review.awards, EventType.REFERRAL_AWARD_REJECTED, {**metadata, "note": review.decision_note}
            ) or [
                AuditEntry(
                    EventType.REFERRAL_AWARD_REJECTED,
                    partner_id=review.referrer_id,
                    related_partner_id=review.new_member_id,
                    metadata=metadata,
                )
            ]
        for entry in entries:
            entry.actor = actor
        audit_record_many(entries)
    return review


def referral_review_approve(*, review_id: int, actor, note: str = "") -> ReferralReview:
    """Pay the frozen awards of a held signup, exactly once (row lock + ledger keys)."""
    return _decide(review_id, actor=actor, approve=True, note=note)


def referral_review_reject(*, review_id: int, actor, note: str = "") -> ReferralReview:
    """Drop the held awards. The member keeps `fraud_hold` (judged fraudulent by staff)."""
    return _decide(review_id, actor=actor, approve=False, note=note)


def referral_fraud_hold_clear(*, review_id: int, actor, reason: str) -> ReferralReview:
    """Staff lift the fraud hold of a member whose signup review was rejected or blocked (a false
    positive, say, once the member has shown who they are). Only the hold goes: the member is back
    on the leaderboards; the dropped referral awards stay dropped. Audited with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Clearing a fraud hold needs a reason.", code="reason_required")
    with transaction.atomic():
        review = ReferralReview.objects.select_for_update().filter(pk=review_id).first()
        if review is None:
            raise NotFoundError(f"Referral review {review_id} does not exist.")
        if review.status not in (ReferralReview.Status.REJECTED, ReferralReview.Status.BLOCKED):
            raise ConflictError(
                f"Review {review_id} is {review.status}: only a rejected or blocked member's hold is cleared this way "
                "(approving a pending review clears it).",
                code="review_not_final",
            )
        member = Partner.objects.select_for_update().get(pk=review.new_member_id)
        if not member.fraud_hold:
            raise ConflictError(f"{member.display_name} has no fraud hold.", code="no_fraud_hold")
        Partner.objects.filter(pk=member.pk).update(fraud_hold=False)
        partner_eligibility_changed(member.pk)
        audit_record(
            EventType.FRAUD_HOLD_CLEARED,
            partner_id=member.pk,
            related_partner_id=review.referrer_id,
            actor=actor,
            metadata={"review_id": review.pk, "review_status": review.status, "score": review.score, "reason": reason[:500]},
        )
    return review
