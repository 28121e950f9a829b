"""Database plumbing shared by the services: retrying a whole transaction that PostgreSQL chose
as a deadlock victim or refused with a serialization failure."""

import logging
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

T = TypeVar("T")

# SQLSTATEs after which running the same transaction again is the documented remedy.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure


def is_retryable_error(error: BaseException) -> bool:
    """True for a deadlock or serialization failure (psycopg 3 or 2, raw or wrapped by Django)."""
    for candidate in (error, error.__cause__):
        if candidate is None:
            continue
        sqlstate = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if sqlstate in RETRYABLE_SQLSTATES:
            return True
    return False


def run_with_transaction_retry(fn: Callable[[], T], *, attempts: int = 4, label: str = "transaction") -> T:
    """Call `fn` (which opens its own `transaction.atomic()`) and run it again, up to `attempts`
    times, when the database aborted it as a deadlock victim or for a serialization failure.

    A retry is only sound when `fn`'s transaction is the outermost one: inside a caller's
    transaction the whole transaction is already aborted (or still holds the locks it deadlocked
    on), so the error is passed up for the caller's own retry."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except DatabaseError as error:
            if attempt == attempts or connection.in_atomic_block or not is_retryable_error(error):
                raise
            logger.warning(
                "%s retry %s/%s after %s", label, attempt, attempts - 1, type(error.__cause__ or error).__name__
            )
    raise AssertionError("unreachable")  # pragma: no cover
