"""SCHEDULE promises through the promising engine: the matching sourcing rule chooses the source
and the dates, a back-order is dated from the purchase order that covers it, capacity moves a
promise to the next day with room, and every line keeps its promise with a readable trace."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from fulfillment.models import (
    FacilityCapacity,
    FulfillmentLine,
    LinePromise,
    SourcingRule,
    SourcingRuleSource,
)
from fulfillment.promising.models import CapacityUsage
from fulfillment.states import FulfillmentLineStatus as FLS
from inventory.services import PurchaseLineInput, purchase_order_create, purchase_order_transition
from tests.factories.catalog import ProductFactory
from tests.factories.pricing import PriceListItemFactory

from .conftest import order_body, settle, submit

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _rule(name, sources, **scope) -> SourcingRule:
    rule = SourcingRule.objects.create(
        name=name, effective_from=timezone.localdate() - timedelta(days=30), **scope
    )
    for rank, (wh, transit) in enumerate(sources, start=1):
        SourcingRuleSource.objects.create(rule=rule, rank=rank, warehouse=wh, transit_days=transit)
    return rule


def test_the_matching_rule_chooses_the_source_and_the_promised_date(fworld):
    _rule("NJ from the west", [(fworld.west, 5), (fworld.east, 1)], country="US", region="NJ")
    number = submit(Client(), fworld, order_body())["number"]
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    today = timezone.localdate()
    assert fl.warehouse == fworld.west and fl.status == FLS.AWAITING_SHIPPING
    assert fl.scheduled_ship_date == today and fl.promised_date == today + timedelta(days=5)
    promise = LinePromise.objects.get(fulfillment_line=fl)
    assert promise.status == "promised" and promise.warehouse == fworld.west
    assert promise.trace[0] == "rule 'NJ from the west' (region) matched"


def test_without_a_rule_the_channel_ranking_stands_in_and_says_so(fworld):
    number = submit(Client(), fworld, order_body())["number"]
    settle()
    promise = LinePromise.objects.get(order_number=number)
    assert promise.trace[0] == "no sourcing rule matches: the channel's warehouse ranking"
    assert promise.warehouse == fworld.east


def _scarce(fworld, sku="LAMP-1"):
    from pricing.models import PriceList

    product = ProductFactory(sku=sku, tax_class=fworld.tax, primary_supplier=fworld.supplier)
    PriceListItemFactory(
        price_list=PriceList.objects.get(code="usd-default"),
        product=product,
        uom=product.uom,
        unit_price=Decimal("20.00"),
    )
    return product


def test_a_backorder_is_dated_from_the_purchase_order_that_covers_it(fworld):
    lamp = _scarce(fworld)
    po = purchase_order_create(
        supplier_id=fworld.supplier.pk,
        warehouse_id=fworld.west.pk,
        lines=[PurchaseLineInput(product_id=lamp.pk, quantity=Decimal(10))],
        lead_time_days=9,
    )
    purchase_order_transition(purchase_order_id=po.pk, target="approved")
    _rule("US", [(fworld.east, 1), (fworld.west, 3)], country="US")
    number = submit(
        Client(), fworld, order_body(lines=[{"source_line_id": "1", "sku": "LAMP-1", "quantity": "4"}])
    )["number"]
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    due = timezone.localdate() + timedelta(days=9)
    assert fl.status == FLS.BACKORDERED and fl.scheduled_ship_date == due
    assert fl.promised_date == due + timedelta(days=3)
    promise = LinePromise.objects.get(fulfillment_line=fl)
    assert promise.mode == "backorder" and promise.warehouse == fworld.west
    assert any(t.startswith("back-order 4 from wh-west") for t in promise.trace)


def test_a_line_nothing_can_fill_is_parked(fworld):
    _scarce(fworld)
    _rule("US", [(fworld.east, 1)], country="US")
    number = submit(
        Client(), fworld, order_body(lines=[{"source_line_id": "1", "sku": "LAMP-1", "quantity": "4"}])
    )["number"]
    settle()
    promise = LinePromise.objects.get(order_number=number)
    assert promise.status == "parked" and promise.promised_date is None
    assert FulfillmentLine.objects.get(order_number=number).status == FLS.BACKORDERED


def _next_working(day):
    day += timedelta(days=1)
    while day.isoweekday() > 5:
        day += timedelta(days=1)
    return day


def test_capacity_full_today_moves_the_next_promise_to_the_next_working_day(fworld):
    today = timezone.localdate()
    _rule("US", [(fworld.east, 1)], country="US")
    FacilityCapacity.objects.create(warehouse=fworld.east, unit="lines", daily_limit=1, valid_from=today)
    client = Client()
    first = submit(client, fworld, order_body("F-1"))["number"]
    settle()
    second = submit(client, fworld, order_body("F-2"))["number"]
    settle()
    ship = {n: FulfillmentLine.objects.get(order_number=n).scheduled_ship_date for n in (first, second)}
    first_day = today if today.isoweekday() <= 5 else _next_working(today)
    assert ship == {first: first_day, second: _next_working(first_day)}
    assert CapacityUsage.objects.get(warehouse=fworld.east, day=first_day).lines == 1
    trace = LinePromise.objects.get(order_number=second).trace
    assert f"wh-east: capacity full on {first_day}, next day with room {_next_working(first_day)}" in trace
