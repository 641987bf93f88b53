"""Re-brokering: a receipt promises the parked lines oldest first within demand-class priority,
set-based, and each order's channel gets `order.promise_changed` with the new dates."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from fulfillment.models import FulfillmentLine, LinePromise, SourcingRule, SourcingRuleSource
from fulfillment.promising.rebroker import parked_rebroker
from fulfillment.states import FulfillmentLineStatus as FLS
from inventory.services import stock_receive
from orders.models import SalesOrder
from partners.models import WebhookDelivery, WebhookEndpoint
from tests.factories.catalog import ProductFactory
from tests.factories.pricing import PriceListItemFactory

from .conftest import order_body, settle, submit

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def lamp(fworld):
    from pricing.models import PriceList

    product = ProductFactory(sku="LAMP-1", tax_class=fworld.tax, primary_supplier=fworld.supplier)
    PriceListItemFactory(
        price_list=PriceList.objects.get(code="usd-default"),
        product=product,
        uom=product.uom,
        unit_price=Decimal(20),
    )
    rule = SourcingRule.objects.create(
        name="US", country="US", effective_from=timezone.localdate() - timedelta(days=1)
    )
    SourcingRuleSource.objects.create(rule=rule, rank=1, warehouse=fworld.east, transit_days=2)
    return product


def _park(fworld, source: str, demand_class: str = "standard") -> str:
    body = order_body(source, lines=[{"source_line_id": "1", "sku": "LAMP-1", "quantity": "2"}])
    number = submit(Client(), fworld, body)["number"]
    SalesOrder.objects.filter(number=number).update(demand_class=demand_class)
    settle()
    assert LinePromise.objects.get(order_number=number).status == "parked"
    return number


def test_a_receipt_promises_parked_lines_oldest_first_within_priority_and_tells_the_channel(fworld, lamp):
    WebhookEndpoint.objects.create(
        channel=fworld.web.channel,
        url="https://hooks.example/oms",
        secret="s" * 32,
        topics=["order.promise_changed"],
    )
    oldest = _park(fworld, "O-1")
    younger = _park(fworld, "O-2")
    gold = _park(fworld, "O-3", demand_class="strategic")

    stock_receive(product_id=lamp.pk, warehouse_id=fworld.east.pk, quantity=4, reference="PO-1")
    settle()

    status = {n: LinePromise.objects.get(order_number=n).status for n in (oldest, younger, gold)}
    assert status == {gold: "promised", oldest: "promised", younger: "parked"}
    today = timezone.localdate()
    for number in (gold, oldest):
        fl = FulfillmentLine.objects.get(order_number=number)
        assert fl.status == FLS.AWAITING_SHIPPING and fl.warehouse == fworld.east
        assert fl.promised_date == today + timedelta(days=2)
        assert LinePromise.objects.get(order_number=number).trace[-1].startswith("re-brokered on")
    assert FulfillmentLine.objects.get(order_number=younger).status == FLS.BACKORDERED
    sent = {d.payload["data"]["number"]: d.payload["data"] for d in WebhookDelivery.objects.all()}
    assert set(sent) == {gold, oldest}
    assert sent[gold]["lines"][0]["promised_date"] == (today + timedelta(days=2)).isoformat()
    assert sent[gold]["channel"] == fworld.web.channel.code

    stock_receive(product_id=lamp.pk, warehouse_id=fworld.east.pk, quantity=2, reference="PO-2")
    settle()
    assert FulfillmentLine.objects.get(order_number=younger).status == FLS.AWAITING_SHIPPING


@pytest.mark.postgres
def test_rebrokering_is_set_based_whatever_the_number_of_lines(fworld, lamp, django_assert_max_num_queries):
    for i in range(12):
        _park(fworld, f"P-{i}")
    stock_receive(
        product_id=lamp.pk, warehouse_id=fworld.east.pk, quantity=20, reference="PO-1"
    )  # not relayed
    with django_assert_max_num_queries(6):
        result = parked_rebroker(product_ids=[lamp.pk])
    assert (result.lines, result.orders) == (10, 10)
    assert LinePromise.objects.filter(status="parked").count() == 2
    assert parked_rebroker(product_ids=[lamp.pk]).lines == 0  # promised stock is spoken for
