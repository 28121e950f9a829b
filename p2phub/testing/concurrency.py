"""Run one callable from many threads at the same moment (for PostgreSQL race tests)."""

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_concurrently(fn: Callable[[int], T], count: int) -> list[T | Exception]:
    """Calls fn(0..count-1) from `count` threads released together by a barrier. Each thread
    closes its own database connection. Returns each call's result, or the exception it raised,
    in call order, so a test can tell expected refusals from real errors."""
    barrier = threading.Barrier(count)
    outcomes: list[T | Exception] = [None] * count  # type: ignore[list-item]

    def run(index: int) -> None:
        try:
            barrier.wait()
            outcomes[index] = fn(index)
        except Exception as exc:  # returned to the test, which decides what is expected
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def raised(outcomes: list) -> list[Exception]:
    return [outcome for outcome in outcomes if isinstance(outcome, Exception)]


def returned(outcomes: list) -> list:
    return [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
