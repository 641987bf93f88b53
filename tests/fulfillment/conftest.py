"""A world to fulfill orders in: two ranked warehouses (east: NJ, west: CA), priced products with
stock, 8.25% tax and flat ground shipping (so amounts do not divide evenly), a channel that
reserves at scheduling, a warehouse partner with a credential, and the three seeded processes."""

from __future__ import annotations

import json
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from fulfillment.models import ProductSupply, StepInstance
from fulfillment.seeding import processes_seed
from fulfillment.services import step_execute, steps_sweep
from fulfillment.states import FulfillmentMode, ProcessStatus, StepStatus
from inventory.services import stock_receive
from oms.kernel import events
from partners.models import Partner, PartnerType
from partners.services import partner_credential_issue
from pricing.models import AssignmentLevel
from tests.factories.catalog import ProductFactory, SupplierFactory, TaxClassFactory
from tests.factories.customers import CustomerFactory
from tests.factories.inventory import WarehouseFactory
from tests.factories.pricing import (
    PriceListFactory,
    PriceListItemFactory,
    PricingStrategyFactory,
    ShippingRuleFactory,
    StrategyAssignmentFactory,
    TaxRuleFactory,
)
from tests.orders.conftest import make_channel

SHIP_TO = {
    "name": "Ana Lima",
    "line1": "1 Main St",
    "city": "Newark",
    "region": "NJ",
    "postcode": "07102",
    "country": "US",
}
WEST_SHIP_TO = {
    "name": "Ana Lima",
    "line1": "9 Ocean Ave",
    "city": "Los Angeles",
    "region": "CA",
    "postcode": "90001",
    "country": "US",
}


def build_fulfillment_world(*, reserve_at_capture: bool = False) -> SimpleNamespace:
    tax = TaxClassFactory(code="standard")
    price_list = PriceListFactory(code="usd-default", currency="USD")
    strategy = PricingStrategyFactory(code="default", lists=[price_list])
    StrategyAssignmentFactory(strategy=strategy, level=AssignmentLevel.DEFAULT)
    TaxRuleFactory(country="US", region="", tax_class=tax, rate=Decimal("8.25"), name="US tax")
    ShippingRuleFactory(ship_method="ground", flat_amount=Decimal("7.99"))
    east = WarehouseFactory(code="wh-east", country="US", region="NJ")
    west = WarehouseFactory(code="wh-west", country="US", region="CA")
    supplier_site = WarehouseFactory(code="acme-supply", country="US", region="OH", type="supplier")
    supplier = SupplierFactory(code="acme")
    products = {}
    for sku, price in (
        ("DRILL-1", "99.99"),
        ("SAW-1", "33.33"),
        ("KAYAK-1", "450.00"),
        ("PIANO-1", "1999.00"),
    ):
        products[sku] = ProductFactory(sku=sku, tax_class=tax, primary_supplier=supplier)
        PriceListItemFactory(
            price_list=price_list, product=products[sku], uom=products[sku].uom, unit_price=Decimal(price)
        )
    for sku in ("DRILL-1", "SAW-1"):
        stock_receive(product_id=products[sku].pk, warehouse_id=east.pk, quantity=100, reference="seed")
        stock_receive(product_id=products[sku].pk, warehouse_id=west.pk, quantity=100, reference="seed")
    ProductSupply.objects.create(
        product=products["KAYAK-1"],
        mode=FulfillmentMode.DROP_SHIP,
        supplier=supplier,
        supplier_warehouse=supplier_site,
        lead_time_days=3,
    )
    ProductSupply.objects.create(
        product=products["PIANO-1"], mode=FulfillmentMode.BACK_TO_BACK, supplier=supplier, lead_time_days=10
    )
    web = make_channel("web", reserve=reserve_at_capture, warehouses=[east, west])
    customer = CustomerFactory(
        account_number="C-1",
        credit_limit=Decimal("1000000"),
        credit_currency="USD",
        email="buyer@customer.example",
    )
    partners = {}
    for code, ref in (("east-wms", "wh-east"), ("west-wms", "wh-west"), ("acme-portal", "acme-supply")):
        partner = Partner.objects.create(code=code, name=code, type=PartnerType.WAREHOUSE, external_ref=ref)
        partners[ref] = SimpleNamespace(
            partner=partner, key=partner_credential_issue(partner=partner).raw_key
        )
    processes = processes_seed()
    return SimpleNamespace(
        tax=tax,
        east=east,
        west=west,
        supplier_site=supplier_site,
        supplier=supplier,
        products=products,
        web=web,
        customer=customer,
        partners=partners,
        processes=processes,
    )


@pytest.fixture
def fworld(db):
    return build_fulfillment_world()


def order_body(source="F-1", *, revision=1, lines=None, ship_to=None, **extra) -> dict:
    body = {
        "source_order_id": source,
        "revision": revision,
        "customer": {"account_number": "C-1"},
        "currency": "USD",
        "ship_method": "ground",
        "ship_to": ship_to or SHIP_TO,
        "lines": lines or [{"source_line_id": "1", "sku": "DRILL-1", "quantity": "3"}],
    }
    body.update(extra)
    return body


def post(client: Client, path: str, body: dict, key: str):
    return client.post(
        path, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Api-Key {key}"
    )


def submit(client: Client, world, body: dict) -> dict:
    resp = post(client, "/api/v1/orders", body, world.web.key)
    assert resp.status_code in (200, 201), resp.content
    return resp.json()


def drive_steps(*, rounds: int = 60) -> int:
    """Run every due step in this process (what the workers do), until nothing is due.
    Also runs the beat sweep, so waits whose wake-up time passed are woken."""
    ran = 0
    for _ in range(rounds):
        now = timezone.now()
        steps_sweep(now=now)
        due = list(
            StepInstance.objects.filter(status=StepStatus.RUNNING, process__status=ProcessStatus.RUNNING)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not due:
            break
        for step_id in due:
            step_execute(step_instance_id=step_id)
            ran += 1
    return ran


def settle(*, rounds: int = 10) -> None:
    """Deliver outbox events and run due steps until both are quiet."""
    for _ in range(rounds):
        delivered = events.relay_run().delivered
        ran = drive_steps()
        if not delivered and not ran:
            return


def wake_pauses() -> int:
    """Time passes: every PAUSE wait is due now (instead of sleeping until its wake-up time)."""
    return StepInstance.objects.filter(status=StepStatus.WAITING, task_type="pause").update(
        wake_at=timezone.now() - timezone.timedelta(seconds=1)
    )


def advise(
    client: Client, world, *, shipment: str, advice_id: str, lines=None, warehouse: str = "wh-east", **extra
):
    body = {
        "advice_id": advice_id,
        "shipment": shipment,
        "carrier": "UPS",
        "tracking_number": f"1Z{advice_id}",
        **extra,
    }
    if lines is not None:
        body["lines"] = [{"fulfillment_line": fl, "quantity": str(q)} for fl, q in lines]
    return post(client, "/api/v1/fulfillment/shipment-advice", body, world.partners[warehouse].key)
