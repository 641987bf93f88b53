"""A small world to capture orders in: channels with keys and ranked warehouses, priced products
with stock, a business customer with a site, and API helpers."""

from __future__ import annotations

import json
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client

from catalog.models import Product
from inventory.models import ChannelWarehouse
from inventory.services import stock_receive
from partners.models import Channel, ChannelType
from partners.services import channel_key_issue
from pricing.models import AssignmentLevel
from tests.factories.catalog import ProductFactory, TaxClassFactory
from tests.factories.customers import CustomerFactory, CustomerSiteFactory
from tests.factories.inventory import WarehouseFactory
from tests.factories.pricing import (
    AdjustmentReasonFactory,
    PriceListFactory,
    PriceListItemFactory,
    PricingStrategyFactory,
    StrategyAssignmentFactory,
    TaxRuleFactory,
)

ADDRESS = {"name": "Ana Lima", "line1": "1 Main St", "city": "Boston", "region": "MA", "postcode": "02110",
           "country": "US"}  # fmt: skip


def make_channel(code: str, *, trusted: bool = False, reserve: bool = True, warehouses=()) -> SimpleNamespace:
    channel = Channel.objects.create(
        code=code, name=code.title(), type=ChannelType.WEB, trusted_prices=trusted, reserve_at_capture=reserve
    )
    for rank, wh in enumerate(warehouses, start=1):
        ChannelWarehouse.objects.create(channel=channel, warehouse=wh, rank=rank)
    key = channel_key_issue(channel=channel)
    return SimpleNamespace(channel=channel, key=key.raw_key)


def make_products(
    n: int, price_list, *, stock: int = 1000, warehouse=None, prefix: str = "P"
) -> list[Product]:
    tax = TaxClassFactory(code="standard")
    products = []
    for i in range(n):
        product = ProductFactory(sku=f"{prefix}-{i:04d}", tax_class=tax)
        PriceListItemFactory(
            price_list=price_list, product=product, uom=product.uom, unit_price=Decimal("10.00")
        )
        if warehouse is not None and stock:
            stock_receive(product_id=product.pk, warehouse_id=warehouse.pk, quantity=stock, reference="seed")
        products.append(product)
    return products


def build_world() -> SimpleNamespace:
    tax = TaxClassFactory(code="standard")
    price_list = PriceListFactory(code="usd-default", currency="USD")
    strategy = PricingStrategyFactory(code="default", lists=[price_list])
    StrategyAssignmentFactory(strategy=strategy, level=AssignmentLevel.DEFAULT)
    AdjustmentReasonFactory(code="price-match")
    TaxRuleFactory(country="US", region="", tax_class=tax, rate=Decimal("0"), name="US no tax")
    warehouse = WarehouseFactory(code="wh-east")
    drill = ProductFactory(sku="DRILL-1", tax_class=tax)
    saw = ProductFactory(sku="SAW-1", tax_class=tax)
    PriceListItemFactory(price_list=price_list, product=drill, uom=drill.uom, unit_price=Decimal("100.00"))
    PriceListItemFactory(price_list=price_list, product=saw, uom=saw.uom, unit_price=Decimal("50.00"))
    for product in (drill, saw):
        stock_receive(product_id=product.pk, warehouse_id=warehouse.pk, quantity=500, reference="seed")
    web = make_channel("web", warehouses=[warehouse])
    other = make_channel("other", warehouses=[warehouse])
    market = make_channel("market", trusted=True, warehouses=[warehouse])
    customer = CustomerFactory(account_number="C-1", credit_limit=Decimal("100000"), credit_currency="USD")
    CustomerSiteFactory(customer=customer, country="US", region="PA")
    return SimpleNamespace(
        tax=tax, price_list=price_list, warehouse=warehouse, drill=drill, saw=saw, web=web, other=other,
        market=market, customer=customer,
    )  # fmt: skip


@pytest.fixture
def world(db):
    return build_world()


def order_body(source: str = "S-1", *, revision: int = 1, lines=None, **extra) -> dict:
    body = {
        "source_order_id": source,
        "revision": revision,
        "customer": {"account_number": "C-1"},
        "currency": "USD",
        "lines": lines if lines is not None else [{"source_line_id": "1", "sku": "DRILL-1", "quantity": "2"}],
    }
    body.update(extra)
    return body


def api_post(client: Client, path: str, body, *, key: str | None = None, idem: str | None = None, raw=None,
             content_type: str = "application/json"):  # fmt: skip
    headers = {}
    if key:
        headers["HTTP_AUTHORIZATION"] = f"Api-Key {key}"
    if idem:
        headers["HTTP_IDEMPOTENCY_KEY"] = idem
    data = raw if raw is not None else json.dumps(body)
    return client.post(path, data=data, content_type=content_type, **headers)


def api_get(client: Client, path: str, *, key: str | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}"} if key else {}
    return client.get(path, **headers)
