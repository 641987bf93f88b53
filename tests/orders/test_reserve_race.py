"""A reserve-at-capture channel never oversells: 60 concurrent one-unit orders, 20 in stock."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from inventory.models import Demand, Reservation, StockPosition
from orders.models import OrderLine, SalesOrder
from tests.factories.orders import ChannelOrderPolicyFactory

from .conftest import api_post, build_world, make_products, order_body


def _race(world, sku: str) -> list[int]:
    statuses: list[int] = []
    unexpected: list[bytes] = []
    lock = threading.Lock()
    barrier = threading.Barrier(60)

    def send(i: int):
        try:
            body = order_body(f"R-{i}", lines=[{"source_line_id": "1", "sku": sku, "quantity": "1"}])
            barrier.wait()
            response = api_post(Client(), "/api/v1/orders", body, key=world.web.key, idem=f"r-{i}")
            with lock:
                statuses.append(response.status_code)
                if response.status_code not in (201, 409):
                    unexpected.append(response.content[:300])
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not unexpected, unexpected
    return statuses


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("policy", ["backorder", "reject"])
def test_sixty_concurrent_one_unit_orders_against_twenty_never_oversell(policy):
    world = build_world()
    ChannelOrderPolicyFactory(channel=world.web.channel, shortage_policy=policy)
    (product,) = make_products(1, world.price_list, stock=20, warehouse=world.warehouse, prefix="HOT")
    statuses = _race(world, product.sku)
    position = StockPosition.objects.get(product=product, warehouse=world.warehouse)
    assert position.reserved == Decimal(20)
    assert Reservation.objects.filter(position=position, status="active").count() == 20
    assert 500 not in statuses
    if policy == "backorder":
        assert statuses.count(201) == 60
        assert OrderLine.objects.filter(product=product, status="backordered").count() == 40
        assert Demand.objects.filter(product=product, status="open").count() == 40
    else:
        assert statuses.count(201) == 20
        assert statuses.count(409) == 40
        assert SalesOrder.objects.filter(lines__product=product).count() == 20
