from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from inventory.models import StockPosition
from inventory.services import stock_receive
from tests.factories.catalog import ProductFactory
from tests.factories.inventory import WarehouseFactory


def ledger_sum(position: StockPosition) -> Decimal:
    return position.movements.aggregate(total=Sum("quantity"))["total"] or Decimal(0)


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.fixture
def stocked(warehouse):
    """make(n, qty): n products with `qty` on hand at `warehouse`, received through the service."""

    def make(n: int, qty: Decimal | int = 10, at=None):
        at = at or warehouse
        products = ProductFactory.create_batch(n)
        for p in products:
            stock_receive(product_id=p.pk, warehouse_id=at.pk, quantity=Decimal(qty), reference="OPEN")
        return products

    return make
