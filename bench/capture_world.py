"""A small world to capture orders in, for the capture benchmark and the reliability tests.

One web channel with an API key and a ranked warehouse, a B2B customer with a site and a large
credit limit, priced products with plenty of stock. Reference rows come from the shared factories;
stock and keys go through the services (the path users take). Django must be set up first.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

ACCOUNT = "C-BENCH"
CUSTOMERS = 64  # a storefront has many shoppers; one customer would serialize on its credit row
HOT_SKU = "HOT-0000"


@dataclass
class World:
    channel_code: str
    key: str
    skus: list[str]
    hot_sku: str
    hot_stock: int


def world_build(
    *,
    channel_code: str = "bench-web",
    products: int = 40,
    stock: int = 10_000_000,
    hot_stock: int = 1_000_000,
) -> World:
    from catalog.models import Product
    from customers.models import Customer
    from inventory.models import ChannelWarehouse
    from inventory.services import stock_receive
    from partners.models import Channel, ChannelType
    from partners.services import channel_key_issue
    from pricing.models import AssignmentLevel
    from tests.factories.catalog import ProductFactory, TaxClassFactory
    from tests.factories.customers import CustomerFactory, CustomerSiteFactory
    from tests.factories.inventory import WarehouseFactory
    from tests.factories.pricing import (
        PriceListFactory,
        PriceListItemFactory,
        PricingStrategyFactory,
        StrategyAssignmentFactory,
        TaxRuleFactory,
    )

    existing = Channel.objects.filter(code=channel_code).first()
    if existing is not None:  # seeded by an earlier run: reuse it, with a fresh key
        key = channel_key_issue(channel=existing, name="bench").raw_key
        skus = list(
            Product.objects.filter(sku__startswith="BENCH-").order_by("sku").values_list("sku", flat=True)
        )[:products]
        return World(channel_code=channel_code, key=key, skus=skus, hot_sku=HOT_SKU, hot_stock=hot_stock)
    tax = TaxClassFactory(code="standard")
    price_list = PriceListFactory(code="usd-bench", currency="USD")
    strategy = PricingStrategyFactory(code="bench-default", lists=[price_list])
    StrategyAssignmentFactory(strategy=strategy, level=AssignmentLevel.DEFAULT)
    TaxRuleFactory(country="US", region="", tax_class=tax, rate=Decimal("0"), name="US no tax (bench)")
    warehouse = WarehouseFactory(code="wh-bench")

    def product(sku: str, qty: int) -> str:
        p = ProductFactory(sku=sku, tax_class=tax)
        PriceListItemFactory(price_list=price_list, product=p, uom=p.uom, unit_price=Decimal("10.00"))
        stock_receive(product_id=p.pk, warehouse_id=warehouse.pk, quantity=qty, reference="bench seed")
        return sku

    skus = [product(f"BENCH-{i:04d}", stock) for i in range(products)]
    product(HOT_SKU, hot_stock)
    channel = Channel.objects.create(
        code=channel_code, name=channel_code.title(), type=ChannelType.WEB, reserve_at_capture=True
    )
    ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, rank=1)
    key = channel_key_issue(channel=channel, name="bench").raw_key
    for i in range(CUSTOMERS):
        account = f"{ACCOUNT}-{i:02d}"
        if not Customer.objects.filter(account_number=account).exists():
            customer = CustomerFactory(
                account_number=account, credit_limit=Decimal("1000000000000"), credit_currency="USD"
            )
            CustomerSiteFactory(customer=customer, country="US", region="PA")
    return World(channel_code=channel_code, key=key, skus=skus, hot_sku=HOT_SKU, hot_stock=hot_stock)


def hot_sku_create(*, sku: str, stock: int) -> str:
    """A fresh product with `stock` units at the bench warehouse (each contention run starts full)."""
    from decimal import Decimal as D

    from catalog.models import Product, TaxClass
    from inventory.models import Warehouse
    from inventory.services import stock_receive
    from pricing.models import PriceList
    from tests.factories.catalog import ProductFactory
    from tests.factories.pricing import PriceListItemFactory

    product = ProductFactory(sku=sku, tax_class=TaxClass.objects.get(code="standard"))
    PriceListItemFactory(
        price_list=PriceList.objects.get(code="usd-bench"),
        product=product,
        uom=product.uom,
        unit_price=D("10.00"),
    )
    warehouse = Warehouse.objects.get(code="wh-bench")
    stock_receive(product_id=product.pk, warehouse_id=warehouse.pk, quantity=stock, reference="bench seed")
    assert Product.objects.filter(sku=sku).exists()
    return sku


def order_body(skus: list[str], *, source: str | None = None, quantity: int = 1, customer: int = 0) -> bytes:
    """A 4-line order (or as many lines as `skus`), JSON-encoded."""
    return json.dumps(
        {
            "source_order_id": source or uuid.uuid4().hex,
            "revision": 1,
            "customer": {"account_number": f"{ACCOUNT}-{customer % CUSTOMERS:02d}"},
            "currency": "USD",
            "lines": [
                {"source_line_id": str(i + 1), "sku": sku, "quantity": str(quantity)}
                for i, sku in enumerate(skus)
            ],
        }
    ).encode()
