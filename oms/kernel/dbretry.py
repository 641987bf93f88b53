"""Bounded retry of transactions that PostgreSQL rolled back to break a conflict.

A deadlock victim (SQLSTATE 40P01) or a serialization failure (40001) is rolled back whole by
the database: nothing the transaction wrote remains, so running the same work again is safe (a
capture's idempotency claim committed before, in its own transaction, and still holds). The lock
order in docs/development.md keeps such conflicts away; this catches what is left, a few times,
before the API answers 503 `retry` or a task records a failed attempt.

Only the outermost transaction can be retried: inside a caller's `atomic` block the connection's
transaction is already aborted, so the caller (which owns that transaction) must retry instead.
A function that opens its own savepoint (`savepoint=True`) can be retried inside a transaction:
rolling back to the savepoint undoes the victim's statement and releases its locks.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import DatabaseError, transaction
from prometheus_client import Counter

log = logging.getLogger(__name__)

CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
ATTEMPTS = 3  # the first run and two retries

CONFLICT_RETRIES = Counter(
    "oms_db_conflict_retries_total",
    "Transactions retried after a deadlock or serialization failure",
    ["what"],
)

T = TypeVar("T")


def is_conflict(exc: BaseException | None) -> bool:
    """True for a deadlock or serialization failure, raw (psycopg) or wrapped by Django."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if getattr(exc, "pgcode", None) in CONFLICT_SQLSTATES:
            return True
        exc = exc.__cause__
    return False


def constraint_name(exc: BaseException | None) -> str:
    """The name of the constraint a PostgreSQL integrity error violated ("" when unknown)."""
    while exc is not None:
        diag = getattr(exc, "diag", None)
        if diag is not None and getattr(diag, "constraint_name", None):
            return diag.constraint_name
        exc = exc.__cause__
    return ""


def run(
    fn: Callable[[], T],
    *,
    what: str,
    attempts: int = ATTEMPTS,
    savepoint: bool = False,
    retry_if: Callable[[DatabaseError], bool] | None = None,
) -> T:
    """Call `fn` (which opens its own transaction, or savepoint with `savepoint=True`) and call it
    again, up to `attempts` times in all, while it fails with a deadlock or serialization failure
    (or an error `retry_if` accepts: a race the next attempt reads the outcome of). The last
    failure propagates unchanged."""
    if not savepoint and transaction.get_connection().in_atomic_block:
        return fn()  # not ours to retry: the caller's transaction is the one that was rolled back
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except DatabaseError as exc:
            if attempt >= attempts or not (is_conflict(exc) or (retry_if is not None and retry_if(exc))):
                raise
            CONFLICT_RETRIES.labels(what=what).inc()
            log.warning("%s rolled back by a concurrent transaction (attempt %s), running it again: %s",
                        what, attempt, exc)  # fmt: skip
            time.sleep(random.uniform(0.005, 0.025) * attempt)  # let the winner commit first
    raise AssertionError("unreachable")  # pragma: no cover
