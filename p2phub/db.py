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


def insert_sql(
    model,
    objs,
    *,
    ignore_conflicts: bool = False,
    conflict_target: tuple[str, ...] = (),
    returning: tuple[str, ...] = (),
) -> tuple[str, tuple]:
    """The one multi-row INSERT that `bulk_create(objs)` would send (PostgreSQL: INSERT ...
    SELECT * FROM UNNEST(...)), optionally with ON CONFLICT DO NOTHING and a RETURNING list of
    column names. `bulk_create(ignore_conflicts=True)` returns no ids; with RETURNING the rows
    that went in come back (skipping the ones that conflicted), so the
    caller learns what was written without a savepoint or a second read. The statement can be
    run as it is or wrapped as a data-modifying CTE (PostgreSQL)."""
    from django.db.models import AutoField
    from django.db.models.sql import InsertQuery

    opts = model._meta
    model._default_manager.all()._prepare_for_bulk_create(objs)
    fields = [
        f
        for f in opts.concrete_fields
        if not f.generated and not (isinstance(f, AutoField) and any(not o._is_pk_set() for o in objs))
    ]
    query = InsertQuery(model)
    query.insert_values(fields, objs)
    ((sql, params),) = query.get_compiler(connection=connection).as_sql()
    if ignore_conflicts:
        # Not Django's IGNORE (SQLite's INSERT OR IGNORE also drops NOT NULL and CHECK
        # failures): only a uniqueness conflict skips a row, on both databases.
        target = ", ".join(connection.ops.quote_name(opts.get_field(name).column) for name in conflict_target)
        sql += f" ON CONFLICT ({target}) DO NOTHING" if target else " ON CONFLICT DO NOTHING"
    if returning:
        returning_sql, _ = connection.ops.return_insert_columns([opts.get_field(name) for name in returning])
        sql += f" {returning_sql}"
    return sql, params


def insert_returning(
    model,
    objs,
    *,
    ignore_conflicts: bool = False,
    conflict_target: tuple[str, ...] = (),
    returning: tuple[str, ...] = ("id",),
) -> list[tuple]:
    """Run `insert_sql` and return the RETURNING rows (one per row that went in; map them back
    by a unique column: SQLite does not promise their order)."""
    if not objs:
        return []
    sql, params = insert_sql(
        model, objs, ignore_conflicts=ignore_conflicts, conflict_target=conflict_target, returning=returning
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def rows_key_share_locked(queryset) -> list:
    """The queryset's model instances (annotations included), each row locked FOR KEY SHARE
    until commit on PostgreSQL (elsewhere simply the rows). KEY SHARE is the lock a foreign-key
    check takes on the row it references: taking it in a read the caller runs anyway settles
    those checks' locks at that point (they find them held at COMMIT), and it conflicts only with
    FOR UPDATE, key updates and deletes, never with other key-share lockers or plain updates.
    Rows are locked in the queryset's order."""
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    table = connection.ops.quote_name(queryset.model._meta.db_table)
    return list(queryset.model._default_manager.raw(f"{sql} FOR KEY SHARE OF {table}", params))
