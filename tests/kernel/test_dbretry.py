"""Bounded retry of transactions PostgreSQL rolled back to break a deadlock."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, transaction

from oms.kernel import dbretry
from tests.testapp.models import Effect


def _wrapped(pgcode_error: type[Exception]) -> OperationalError:
    """What Django raises: its own error class with the driver's error as the cause."""
    try:
        try:
            raise pgcode_error("conflict")
        except Exception as raw:
            raise OperationalError("conflict") from raw
    except OperationalError as exc:
        return exc


class _Conflict(Exception):
    pgcode = "40P01"


@pytest.mark.unit
def test_is_conflict_reads_the_sqlstate_through_djangos_wrapper():
    assert dbretry.is_conflict(_wrapped(_Conflict))
    assert not dbretry.is_conflict(OperationalError("server closed the connection"))
    assert not dbretry.is_conflict(None)


@pytest.mark.integration
@pytest.mark.django_db
def test_inside_a_callers_transaction_nothing_is_retried():
    calls = []

    def fn():
        calls.append(1)
        raise _wrapped(_Conflict)

    with pytest.raises(OperationalError):
        dbretry.run(fn, what="test")  # the test's own transaction is the caller's
    assert calls == [1]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_conflict_is_run_again_a_bounded_number_of_times_and_other_errors_never():
    calls = []

    def always_conflicts():
        calls.append(1)
        raise _wrapped(_Conflict)

    with pytest.raises(OperationalError):
        dbretry.run(always_conflicts, what="test")
    assert len(calls) == dbretry.ATTEMPTS

    calls.clear()

    def unavailable():
        calls.append(1)
        raise OperationalError("the database is down")

    with pytest.raises(OperationalError):
        dbretry.run(unavailable, what="test")
    assert calls == [1]

    calls.clear()

    def conflicts_once():
        calls.append(1)
        if len(calls) == 1:
            raise _wrapped(_Conflict)
        return "done"

    assert dbretry.run(conflicts_once, what="test") == "done"
    assert len(calls) == 2


@pytest.mark.concurrency
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_deadlock_victim_is_run_again_and_both_transactions_commit():
    a = Effect.objects.create(subscriber="a", event_id=1, topic="t")
    b = Effect.objects.create(subscriber="b", event_id=2, topic="t")
    both_hold_one = threading.Barrier(2, timeout=20)
    errors: list[BaseException] = []
    attempts = {"ab": 0, "ba": 0}
    before = dbretry.CONFLICT_RETRIES.labels(what="deadlock test")._value.get()

    def cross(name: str, first: Effect, second: Effect):
        def work():
            attempts[name] += 1
            with transaction.atomic():
                Effect.objects.filter(pk=first.pk).update(seq=1)
                if attempts[name] == 1:
                    both_hold_one.wait()  # each holds one row and wants the other's: a deadlock
                Effect.objects.filter(pk=second.pk).update(seq=2)

        try:
            dbretry.run(work, what="deadlock test")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=cross, args=("ab", a, b)),
        threading.Thread(target=cross, args=("ba", b, a)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(attempts.values()) == [1, 2]  # the victim ran twice, the winner once
    assert dbretry.CONFLICT_RETRIES.labels(what="deadlock test")._value.get() == before + 1
    assert set(Effect.objects.values_list("seq", flat=True)) <= {1, 2}


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_savepoint_is_run_again_inside_the_callers_transaction():
    """The relay runs each handler in a savepoint of its batch transaction: a conflict there is
    rolled back to the savepoint and the handler runs again, the batch goes on."""
    calls = []

    def handler():
        with transaction.atomic():  # the savepoint
            calls.append(1)
            Effect.objects.create(subscriber="h", event_id=len(calls), topic="t")
            if len(calls) == 1:
                raise _wrapped(_Conflict)

    with transaction.atomic():
        Effect.objects.create(subscriber="batch", event_id=0, topic="t")
        dbretry.run(handler, what="test", savepoint=True)
    assert len(calls) == 2
    assert sorted(Effect.objects.values_list("subscriber", "event_id")) == [("batch", 0), ("h", 2)]
