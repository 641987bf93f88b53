"""Racing reservations on PostgreSQL: nothing oversold, no deadlock, no error but 'insufficient'."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from inventory.models import Reservation, StockPosition
from inventory.services import ReserveLine, stock_receive, stock_reserve
from oms.kernel.exceptions import InsufficientStock
from tests.factories.catalog import ProductFactory
from tests.factories.inventory import WarehouseFactory

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
