"""A transaction PostgreSQL aborts as a deadlock victim (or for a serialization failure) is run
again, once it is the outermost transaction; other errors pass straight through."""

import pytest
from django.db import IntegrityError, OperationalError, transaction

from audit.models import AuditLog, EventType
from p2phub.db import is_retryable_error, run_with_transaction_retry
from partners import services
from partners.models import Partner
from partners.tests.factories import PartnerFactory, UserFactory, make_chain


class _PsycopgError(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _wrapped(sqlstate: str) -> OperationalError:
    """What Django raises for a psycopg error: its own class, the driver's error as the cause."""
    error = OperationalError("deadlock detected" if sqlstate == "40P01" else "could not serialize access")
    error.__cause__ = _PsycopgError(sqlstate)
    return error


def test_only_deadlocks_and_serialization_failures_are_retryable():
    assert is_retryable_error(_wrapped("40P01"))
    assert is_retryable_error(_wrapped("40001"))
    assert not is_retryable_error(_wrapped("57014"))  # statement timeout
    assert not is_retryable_error(IntegrityError("duplicate key"))


@pytest.mark.django_db(transaction=True)
def test_a_deadlocked_transaction_is_run_again_and_other_errors_are_not():
    calls = []

    def flaky():
        with transaction.atomic():
            calls.append(1)
            if len(calls) < 3:
                raise _wrapped("40P01")
            return "done"

    assert run_with_transaction_retry(flaky) == "done"
    assert len(calls) == 3

    def timeout():
        calls.append(1)
        raise _wrapped("57014")

    calls.clear()
    with pytest.raises(OperationalError):
        run_with_transaction_retry(timeout)
    assert len(calls) == 1


@pytest.mark.django_db
def test_inside_a_callers_transaction_the_deadlock_is_passed_up():
    calls = []

    def deadlocked():
        calls.append(1)
        raise _wrapped("40P01")

    with pytest.raises(OperationalError):
        run_with_transaction_retry(deadlocked)  # the test's own transaction is the outer one
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_a_staff_move_chosen_as_deadlock_victim_is_retried_and_audited_once(monkeypatch):
    a, b = make_chain(2)
    sponsor = PartnerFactory()
    real = services._tree_locks_acquire
    failures = []

    def deadlock_once(read_paths, *, exclusive):
        if not failures:
            failures.append(1)
            raise _wrapped("40P01")
        return real(read_paths, exclusive=exclusive)

    monkeypatch.setattr(services, "_tree_locks_acquire", deadlock_once)
    moved = services.partner_move(partner=b, new_referrer=sponsor, actor=UserFactory(is_staff=True))
    assert failures == [1]
    assert moved.referrer_id == sponsor.pk
    assert Partner.objects.get_parent(moved).pk == sponsor.pk
    assert AuditLog.objects.filter(event_type=EventType.PARTNER_MOVED, partner_id=b.pk).count() == 1
