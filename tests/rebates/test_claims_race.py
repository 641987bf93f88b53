"""Two claim generations for one program at the same moment: the second waits for the first and
then finds nothing left, so every accrual is claimed once and neither run fails.

The interleaving is forced: a third connection holds the program's generation lock until both
runs are waiting on it (seen in pg_stat_activity), then lets them go."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from rebates.models import Accrual, Claim, ClaimLine
from rebates.services.claims import _LOCK_NAMESPACE, claims_generate

from .claims_support import accrue, program

pytestmark = [pytest.mark.concurrency, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _advisory_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_two_generations_at_once_claim_each_accrual_once_and_neither_fails():
    p = program(code="SR-RACE")
    for amount in ("10.00", "20.00", "30.00"):
        accrue(p, amount)
    holding, release = threading.Event(), threading.Event()
    results: list = [None, None]

    def hold_the_lock():
        try:
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, p.pk])
                holding.set()
                release.wait(30)
                cursor.execute("COMMIT")
        finally:
            connection.close()

    def generate(i: int):
        try:
            results[i] = claims_generate(program_id=p.pk)
        except Exception as exc:  # the assertion below names it
            results[i] = exc
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert holding.wait(10)
    runs = [threading.Thread(target=generate, args=(i,)) for i in range(2)]
    for t in runs:
        t.start()
    deadline = time.monotonic() + 20
    while _advisory_waiters() < 2:
        assert time.monotonic() < deadline, "the two generations are not both waiting on the lock"
        time.sleep(0.02)
    release.set()
    for t in [holder, *runs]:
        t.join(60)
    assert all(isinstance(r, list) for r in results), results
    assert sorted(len(r) for r in results) == [0, 1]
    claim = Claim.objects.get()
    assert claim.amount == 60 and ClaimLine.objects.count() == 3
    assert set(Accrual.objects.values_list("claim_number", flat=True)) == {claim.number}
