"""SCHEDULE's plain sourcing policy: ship-to region first, split or back-order when short, and a
line reserved at capture keeps its reservation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from fulfillment.models import FulfillmentLine, StepInstance
from fulfillment.states import FulfillmentLineStatus as FLS
from fulfillment.states import StepStatus, TaskType
from inventory.models import Reservation, StockPosition
from inventory.services import stock_receive
from tests.factories.catalog import ProductFactory
from tests.factories.pricing import PriceListItemFactory
from tests.orders.conftest import make_channel

from .conftest import WEST_SHIP_TO, order_body, post, settle, submit

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_a_warehouse_in_the_ship_to_region_is_preferred_over_the_channel_ranking(fworld):
    number = submit(Client(), fworld, order_body(ship_to=WEST_SHIP_TO))["number"]
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    assert fl.warehouse == fworld.west and fl.status == FLS.AWAITING_SHIPPING


def test_a_short_line_splits_and_the_rest_is_scheduled_when_stock_arrives(fworld):
    scarce = ProductFactory(sku="LAMP-1", tax_class=fworld.tax)
    PriceListItemFactory(
        price_list=_price_list(), product=scarce, uom=scarce.uom, unit_price=Decimal("20.00")
    )
    stock_receive(product_id=scarce.pk, warehouse_id=fworld.east.pk, quantity=2, reference="seed")
    number = submit(
        Client(), fworld, order_body(lines=[{"source_line_id": "1", "sku": "LAMP-1", "quantity": "5"}])
    )["number"]
    settle()
    lines = list(FulfillmentLine.objects.filter(order_number=number).order_by("pk"))
    assert [(fl.quantity, fl.status) for fl in lines] == [
        (Decimal(2), FLS.AWAITING_SHIPPING),
        (Decimal(3), FLS.BACKORDERED),
    ]
    rest = lines[1]
    assert rest.parent_id == lines[0].pk
    schedule = StepInstance.objects.get(process__fulfillment_line=rest, task_type=TaskType.SCHEDULE)
    assert schedule.status == StepStatus.WAITING and schedule.awaited_event == "stock.received"

    stock_receive(product_id=scarce.pk, warehouse_id=fworld.west.pk, quantity=3, reference="PO-9")
    settle()  # stock.received wakes the waiting SCHEDULE at once
    rest.refresh_from_db()
    assert rest.status == FLS.AWAITING_SHIPPING and rest.warehouse == fworld.west
    assert StockPosition.objects.get(product=scarce, warehouse=fworld.west).reserved == 3


def _price_list():
    from pricing.models import PriceList

    return PriceList.objects.get(code="usd-default")


def test_a_line_reserved_at_capture_keeps_its_reservation(fworld):
    shop = make_channel("shop", reserve=True, warehouses=[fworld.east, fworld.west])
    resp = post(Client(), "/api/v1/orders", order_body("R-1"), shop.key)
    assert resp.status_code == 201, resp.content
    number = resp.json()["number"]
    captured = Reservation.objects.get(demand_type="order_line", status="active")
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    assert fl.reservation_id == captured.pk and fl.status == FLS.AWAITING_SHIPPING
    assert not Reservation.objects.filter(demand_type="fulfillment_line").exists()
    assert StockPosition.objects.get(product=fworld.products["DRILL-1"], warehouse=fworld.east).reserved == 3
