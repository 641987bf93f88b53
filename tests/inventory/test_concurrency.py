"""Racing reservations on PostgreSQL: nothing oversold, no deadlock, no error but 'insufficient'."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection, transaction

from inventory.models import Demand, Reservation, StockPosition
from inventory.services import ReserveLine, backorder_create, stock_receive, stock_reserve
from oms.kernel.exceptions import InsufficientStock
from tests.factories.catalog import ProductFactory
from tests.factories.inventory import WarehouseFactory
from tests.support.services import wait_until

pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def _race(attempts, workers, fn):
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt(i):
        try:
            fn(i)
            outcome = "ok"
        except InsufficientStock:
            outcome = "short"
        except BaseException as exc:  # anything else (deadlock, constraint) fails the test below
            with lock:
                errors.append(exc)
            outcome = "error"
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(attempt, range(attempts)))
    return outcomes, errors


def test_32_threads_500_attempts_on_100_units_exactly_100_succeed():
    product, warehouse = ProductFactory(), WarehouseFactory()
    stock_receive(product_id=product.pk, warehouse_id=warehouse.pk, quantity=100, reference="OPEN")

    def reserve_one(i):
        stock_reserve(lines=[ReserveLine(product.pk, warehouse.pk, Decimal(1), "order_line", str(i))])

    outcomes, errors = _race(500, 32, reserve_one)
    assert errors == []
    assert outcomes.count("ok") == 100 and outcomes.count("short") == 400
    position = StockPosition.objects.get()
    assert position.on_hand == 100 and position.reserved == 100
    assert position.on_hand - position.reserved == 0
    assert Reservation.objects.count() == 100
    assert sum(r.quantity for r in Reservation.objects.all()) == position.reserved


def test_orders_reserving_a_then_b_and_b_then_a_do_not_deadlock():
    warehouse = WarehouseFactory()
    a, b = ProductFactory(), ProductFactory()
    for p in (a, b):
        stock_receive(product_id=p.pk, warehouse_id=warehouse.pk, quantity=150, reference="OPEN")

    def reserve_pair(i):
        first, second = (a, b) if i % 2 else (b, a)
        stock_reserve(
            lines=[
                ReserveLine(first.pk, warehouse.pk, Decimal(1), "order_line", f"{i}-1"),
                ReserveLine(second.pk, warehouse.pk, Decimal(1), "order_line", f"{i}-2"),
            ]
        )

    outcomes, errors = _race(200, 16, reserve_pair)
    assert errors == []  # PostgreSQL would raise a deadlock error here
    assert outcomes.count("ok") == 150 and outcomes.count("short") == 50
    for position in StockPosition.objects.all():
        assert position.reserved == 150 == position.on_hand
    assert Reservation.objects.count() == 300


def _backend_waits_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


@pytest.mark.parametrize("allow_partial", [False, True], ids=["all-or-nothing", "partial-like-capture"])
def test_b_then_a_waits_for_a_then_b_and_is_refused_cleanly_inside_its_callers_transaction(allow_partial):
    """A forced interleaving on two connections: the first order holds A and B (reserved, not yet
    committed); the second asks for B then A, and must queue on the position locks *before*
    deciding, so that once the first commits it sees no stock and refuses without writing -- its
    caller's transaction (a capture) goes on to back-order. Deciding on rows it did not lock,
    the second would find the stock gone only inside its UPDATE, and that refusal would doom the
    caller's transaction."""
    warehouse = WarehouseFactory()
    a, b = ProductFactory(), ProductFactory()
    for p in (a, b):
        stock_receive(product_id=p.pk, warehouse_id=warehouse.pk, quantity=1, reference="OPEN")
    first_holds, first_may_commit = threading.Event(), threading.Event()
    second_pid: list[int] = []
    outcome: dict[str, object] = {}
    errors: list[BaseException] = []

    def first_order():
        try:
            with transaction.atomic():
                stock_reserve(
                    lines=[
                        ReserveLine(a.pk, warehouse.pk, Decimal(1), "order_line", "first-1"),
                        ReserveLine(b.pk, warehouse.pk, Decimal(1), "order_line", "first-2"),
                    ]
                )
                first_holds.set()
                assert first_may_commit.wait(timeout=30), "the test never let the first order commit"
        except BaseException as exc:
            errors.append(exc)
        finally:
            first_holds.set()
            connection.close()

    def second_order():
        try:
            assert first_holds.wait(timeout=30)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                second_pid.append(cursor.fetchone()[0])
            lines = [
                ReserveLine(b.pk, warehouse.pk, Decimal(1), "order_line", "second-1"),
                ReserveLine(a.pk, warehouse.pk, Decimal(1), "order_line", "second-2"),
            ]
            with transaction.atomic():  # the caller's (capture's) transaction
                try:
                    result = stock_reserve(lines=lines, allow_partial=allow_partial)
                    outcome["shortfalls"] = [s.index for s in result.shortfalls]
                except InsufficientStock as exc:
                    outcome["refused"] = exc.message
                for line in lines:  # the caller goes on: back-order what did not reserve
                    backorder_create(
                        demand_type=line.demand_type,
                        demand_id=line.demand_id,
                        product_id=line.product_id,
                        quantity=line.quantity,
                    )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first_order), threading.Thread(target=second_order)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: second_pid, timeout=30, message="the second order to start")
        # The second order is queued behind the first one's row locks (not deciding on its own).
        wait_until(
            lambda: _backend_waits_on_a_lock(second_pid[0]),
            timeout=30,
            message="the second order to wait on the first one's locks",
        )
    finally:
        first_may_commit.set()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    if allow_partial:
        assert outcome == {"shortfalls": [0, 1]}
    else:
        assert outcome == {"refused": "Not enough stock for every line."}
    assert Demand.objects.filter(demand_id__startswith="second-").count() == 2  # the caller went on
    assert set(Reservation.objects.values_list("demand_id", flat=True)) == {"first-1", "first-2"}
    for position in StockPosition.objects.all():
        assert (position.on_hand, position.reserved) == (1, 1)
