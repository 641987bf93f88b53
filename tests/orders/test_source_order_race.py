"""Two writers of one source order at the same moment get the documented answers, never a 500.

The interleavings are forced, not hoped for: a third connection holds the current revision's row
lock until both revisions wait on it, and two first submissions meet at a barrier right after
each looked the source order up (so both believe it is new)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.test import Client

from orders.models import SalesOrder

from .conftest import api_post, build_world, order_body

pytestmark = [pytest.mark.concurrency, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _send_all(world, bodies: list[tuple[dict, str]], *, start_gap=None, wrapper=None) -> list:
    """POST each body from its own thread; `start_gap(i)` runs before starting thread i+1."""
    answers: list = [None] * len(bodies)

    def send(i: int, body: dict, key: str):
        client = Client(raise_request_exception=False)  # an unmapped error is a 500 here, as in production
        try:
            if wrapper is not None:
                with connection.execute_wrapper(wrapper()):
                    answers[i] = api_post(client, "/api/v1/orders", body, key=world.web.key, idem=key)
            else:
                answers[i] = api_post(client, "/api/v1/orders", body, key=world.web.key, idem=key)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i, b, k)) for i, (b, k) in enumerate(bodies)]
    for i, t in enumerate(threads):
        t.start()
        if start_gap is not None:
            start_gap(i)
    for t in threads:
        t.join(60)
    return answers


def _lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _wait_for_waiters(n: int) -> None:
    deadline = time.monotonic() + 20
    while _lock_waiters() < n:
        assert time.monotonic() < deadline, f"fewer than {n} transactions waiting on the row lock"
        time.sleep(0.02)


@pytest.mark.parametrize("first", [2, 3])
def test_revisions_two_and_three_racing_answer_in_revision_order_or_409(first):
    world = build_world()
    line = {"source_line_id": "1", "sku": "DRILL-1", "quantity": "2"}
    assert api_post(Client(), "/api/v1/orders", order_body("RACE-1"), key=world.web.key).status_code == 201
    rev1 = SalesOrder.objects.get(source_order_id="RACE-1", is_current=True)
    holding, release = threading.Event(), threading.Event()

    def hold_the_current_revision():
        # Both revisions queue on this row lock; the one that gets it second finds the row no
        # longer current when the first commits.
        try:
            with connection.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute("SELECT id FROM orders_salesorder WHERE id = %s FOR UPDATE", [rev1.pk])
                holding.set()
                release.wait(30)
                cursor.execute("COMMIT")
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_current_revision)
    holder.start()
    assert holding.wait(10)
    second = 5 - first
    bodies = [
        (order_body("RACE-1", revision=first, lines=[{**line, "quantity": str(first)}]), f"rev-{first}"),
        (order_body("RACE-1", revision=second, lines=[{**line, "quantity": str(second)}]), f"rev-{second}"),
    ]

    def queue_in_order(i: int) -> None:
        _wait_for_waiters(i + 1)  # the first revision waits before the second starts
        if i == len(bodies) - 1:
            release.set()

    answers = _send_all(world, bodies, start_gap=queue_in_order)
    holder.join(10)
    by_revision = {first: answers[0], second: answers[1]}
    statuses = {rev: a.status_code for rev, a in by_revision.items()}
    assert all(s < 500 for s in statuses.values()), {r: a.content[:300] for r, a in by_revision.items()}
    assert by_revision[3].status_code == 201, by_revision[3].content
    # PostgreSQL grants the row lock to its waiters in the order they queued, so each ordering
    # takes its own branch: 2 then 3 applies both; 3 then 2 refuses 2.
    assert statuses[2] == (201 if first == 2 else 409), by_revision[2].content
    if statuses[2] == 409:
        body = by_revision[2].json()
        assert body["code"] == "stale_revision"
        assert rev1.number in body["message"] and "revision 3" in body["message"]
    else:
        assert statuses[2] == 201  # 2 was applied before 3
        assert by_revision[2].json()["revision"] == 2
    current = SalesOrder.objects.filter(source_order_id="RACE-1", is_current=True)
    assert current.count() == 1
    assert current.get().revision == 3 and current.get().number == rev1.number
    assert SalesOrder.objects.filter(source_order_id="RACE-1").values("number").distinct().count() == 1


def test_two_first_submissions_racing_with_different_keys_one_201_one_409_naming_the_order():
    world = build_world()
    barrier = threading.Barrier(2, timeout=20)

    class MeetAfterLookup:
        """Both captures look the source order up (and find nothing) before either writes."""

        def __init__(self):
            self.met = False

        def __call__(self, execute, sql, params, many, context):
            result = execute(sql, params, many, context)
            if not self.met and "FOR UPDATE" in sql and '"is_current"' in sql:
                self.met = True
                barrier.wait()
            return result

    bodies = [(order_body("FIRST-1"), "key-a"), (order_body("FIRST-1"), "key-b")]
    answers = _send_all(world, bodies, wrapper=MeetAfterLookup)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409], [a.content[:300] for a in answers]
    created = next(a for a in answers if a.status_code == 201).json()
    refused = next(a for a in answers if a.status_code == 409).json()
    assert refused["code"] == "stale_revision"
    assert created["number"] in refused["message"]
    assert SalesOrder.objects.filter(source_order_id="FIRST-1").count() == 1
    assert SalesOrder.objects.get(source_order_id="FIRST-1").is_current
