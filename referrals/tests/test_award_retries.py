"""A referral award is never lost (SPEC §2, issue 8 defect 5): a database error on one
ancestor's ledger insert leaves the others paid, the signup committed and a durable retry row
that later pays the missing award exactly once, on the one retry schedule."""

import contextlib
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, OperationalError, connection
from django.utils import timezone

from audit.models import AuditLog, EventType
from partners.models import Partner
from partners.tests.factories import PartnerFactory, make_chain
from referrals.models import ReferralAwardRetry
from referrals.services import (
    REFERRAL_AWARD_RETRY_DELAYS,
    referral_award_retry_delay,
    referral_awards_reprocess,
    referral_awards_retry,
)
from referrals.tasks import retry_due_referral_awards, retry_referral_awards
from rewards.models import XPEntry
from rewards.services import XPAward, xp_award

pytestmark = pytest.mark.django_db


@contextlib.contextmanager
def failing_xp_insert(recipient_id: int, error: Exception | None = None):
    """While active, every INSERT into the XP ledger that carries an award for `recipient_id`
    fails in the database layer (what a statement timeout on that row looks like to Django):
    the ledger insert alone, or the PostgreSQL statement that carries it as a CTE."""
    error = error or OperationalError("canceling statement due to statement timeout")
    suffix = f":{recipient_id}"

    def wrapper(execute, sql, params, many, context):
        if 'INSERT INTO "rewards_xpentry"' in sql and params:
            # PostgreSQL's bulk insert passes one array per column (INSERT ... UNNEST).
            flat = [v for p in params for v in (p if isinstance(p, (list, tuple)) else [p])]
            keys = [v for v in flat if isinstance(v, str) and v.startswith(("referral:", "t:"))]
            if any(key.endswith(suffix) for key in keys):
                raise error
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def _paid(newcomer) -> dict[int, int]:
    return dict(XPEntry.objects.filter(related_partner=newcomer).values_list("partner_id", "amount"))


def _awarded_rows(newcomer, partner) -> int:
    return AuditLog.objects.filter(
        event_type=EventType.XP_AWARDED, partner_id=partner.pk, related_partner_id=newcomer.pk
    ).count()


def test_database_error_on_one_ancestor_queues_a_retry_that_pays_it_exactly_once():
    l3, l2, l1 = make_chain(3)
    with failing_xp_insert(l2.pk):
        newcomer = PartnerFactory(referrer=l1)

    # The signup committed, the other ancestors were paid and audited, L2 is queued durably.
    assert Partner.objects.filter(pk=newcomer.pk).exists()
    assert AuditLog.objects.filter(event_type=EventType.PARTNER_JOINED, partner_id=newcomer.pk).exists()
    assert _paid(newcomer) == {l1.pk: 35, l3.pk: 1}
    assert _awarded_rows(newcomer, l1) == 1 and _awarded_rows(newcomer, l3) == 1
    retry = ReferralAwardRetry.objects.get(new_member=newcomer)
    assert retry.done_at is None and retry.attempts == 1
    assert "OperationalError" in retry.last_error and f"partner {l2.pk}" in retry.last_error
    queued = AuditLog.objects.get(event_type=EventType.REFERRAL_AWARD_QUEUED, partner_id=newcomer.pk)
    assert queued.metadata["retry_id"] == retry.pk

    # The database recovered: the retry pays L2, once, and nothing else twice.
    assert retry_due_referral_awards() == 1
    assert _paid(newcomer) == {l1.pk: 35, l2.pk: 10, l3.pk: 1}
    retry.refresh_from_db()
    assert retry.done_at is not None and retry.attempts == 2
    assert retry_due_referral_awards() == 0
    assert referral_awards_retry(retry.pk, force=True) is True
    referral_awards_reprocess(new_member_id=newcomer.pk)
    call_command("process_referral_awards", "--retries", "--now")
    assert XPEntry.objects.filter(related_partner=newcomer).count() == 3
    assert [_awarded_rows(newcomer, p) for p in (l1, l2, l3)] == [1, 1, 1]


def test_an_integrity_error_that_is_not_already_paid_is_retried_not_swallowed():
    referrer = PartnerFactory()
    with failing_xp_insert(referrer.pk, IntegrityError("FOREIGN KEY constraint failed")):
        newcomer = PartnerFactory(referrer=referrer)
    assert _paid(newcomer) == {}
    retry = ReferralAwardRetry.objects.get(new_member=newcomer)
    assert "IntegrityError" in retry.last_error
    assert referral_awards_retry(retry.pk) is True
    assert _paid(newcomer) == {referrer.pk: 35}


def test_a_failed_retry_keeps_what_it_paid_and_backs_off_on_the_one_schedule():
    l2, l1 = make_chain(2)
    with failing_xp_insert(l1.pk), failing_xp_insert(l2.pk):
        newcomer = PartnerFactory(referrer=l1)
    retry = ReferralAwardRetry.objects.get(new_member=newcomer)
    # The join-time failure is attempt 1: the first retry is due at once (right after commit).
    assert retry.next_attempt_at <= timezone.now()

    with failing_xp_insert(l2.pk):
        before = timezone.now()
        assert referral_awards_retry(retry.pk) is False
    retry.refresh_from_db()
    assert _paid(newcomer) == {l1.pk: 35}  # L1 paid by the failed attempt, kept
    assert retry.attempts == 2 and retry.done_at is None
    assert retry.next_attempt_at >= before + referral_award_retry_delay(2)
    # Not due yet: neither the task nor the beat backstop attempts it (the row's time rules).
    assert retry_referral_awards(retry.pk) is False
    assert retry_due_referral_awards() == 0
    retry.refresh_from_db()
    assert retry.attempts == 2

    ReferralAwardRetry.objects.filter(pk=retry.pk).update(next_attempt_at=timezone.now())
    assert retry_due_referral_awards() == 1
    assert _paid(newcomer) == {l1.pk: 35, l2.pk: 10}


def test_the_next_attempt_message_is_sent_for_the_rows_own_time(monkeypatch, django_capture_on_commit_callbacks):
    referrer = PartnerFactory()
    with failing_xp_insert(referrer.pk):
        newcomer = PartnerFactory(referrer=referrer)
    retry = ReferralAwardRetry.objects.get(new_member=newcomer)
    sent = []
    monkeypatch.setattr(retry_referral_awards, "apply_async", lambda args, eta: sent.append((args, eta)))
    with failing_xp_insert(referrer.pk), django_capture_on_commit_callbacks(execute=True):
        assert referral_awards_retry(retry.pk) is False
    retry.refresh_from_db()
    assert sent == [((retry.pk,), retry.next_attempt_at)]


def test_one_retry_schedule_grows_and_is_capped():
    delays = [referral_award_retry_delay(n) for n in range(1, 10)]
    assert delays[0] == timedelta(0)
    assert delays == sorted(delays)
    assert max(delays) == REFERRAL_AWARD_RETRY_DELAYS[-1] == delays[-1]
    # The Celery task has no autoretry of its own (no second schedule).
    assert not getattr(retry_referral_awards, "autoretry_for", ())


def test_non_referral_award_raises_the_database_error_instead_of_dropping_it():
    partner = PartnerFactory()
    with failing_xp_insert(partner.pk), pytest.raises(OperationalError):
        xp_award(XPAward(partner_id=partner.pk, amount=5, kind=XPEntry.Kind.CORRECTION, idempotency_key=f"t:{partner.pk}"))
    assert not XPEntry.objects.filter(partner=partner).exists()


@pytest.mark.postgres
def test_postgres_statement_cancelled_on_one_ancestor_insert_is_retried_and_paid_once():
    """The same with a real error raised by PostgreSQL itself (SQLSTATE 57014, what a
    statement timeout raises), so the aborted statement and the savepoints are real."""
    l2, l1 = make_chain(2)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE FUNCTION test_cancel_xp_insert() RETURNS trigger AS $$
            BEGIN
                IF NEW.partner_id = {int(l2.pk)} THEN
                    RAISE EXCEPTION 'canceling statement due to statement timeout' USING ERRCODE = 'query_canceled';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_cancel_xp_insert BEFORE INSERT ON rewards_xpentry
                FOR EACH ROW EXECUTE FUNCTION test_cancel_xp_insert();
            """
        )
    newcomer = PartnerFactory(referrer=l1)
    assert _paid(newcomer) == {l1.pk: 35}
    retry = ReferralAwardRetry.objects.get(new_member=newcomer)
    assert "statement timeout" in retry.last_error
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_cancel_xp_insert ON rewards_xpentry; DROP FUNCTION test_cancel_xp_insert();")
    assert retry_due_referral_awards() == 1
    assert retry_due_referral_awards() == 0
    assert _paid(newcomer) == {l1.pk: 35, l2.pk: 10}
    assert _awarded_rows(newcomer, l2) == 1
