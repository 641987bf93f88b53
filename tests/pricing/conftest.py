from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from customers.models import DemandClass
from partners.models import Channel, ChannelType
from pricing.engine import LineRequest, ManualAdjustment, PriceRequest, ShipTo
from pricing.models import AssignmentLevel
from pricing.services import price_quote
from tests.factories.catalog import BrandFactory, CategoryFactory, ProductFactory, TaxClassFactory
from tests.factories.customers import CustomerFactory, CustomerSiteFactory
from tests.factories.pricing import (
    AdjustmentReasonFactory,
    PriceListFactory,
    PriceListItemFactory,
    PricingStrategyFactory,
    StrategyAssignmentFactory,
    TaxRuleFactory,
)

TODAY = date(2026, 3, 15)


@pytest.fixture
def world(db):
    """Two products in a category tree, a default USD list (100.00 and 50.00), one default strategy."""
    standard = TaxClassFactory(code="standard")
    tools = CategoryFactory(code="tools", name="Tools")
    drills = CategoryFactory(code="drills", name="Drills", parent=tools)
    acme = BrandFactory(code="acme", name="Acme")
    drill = ProductFactory(
        sku="DRILL-1", category=drills, brand=acme, tax_class=standard, weight_kg=Decimal("2")
    )
    saw = ProductFactory(sku="SAW-1", category=tools, tax_class=standard, weight_kg=Decimal("1"))
    default_list = PriceListFactory(code="usd-default", currency="USD")
    PriceListItemFactory(price_list=default_list, product=drill, uom=drill.uom, unit_price=Decimal("100.00"))
    PriceListItemFactory(price_list=default_list, product=saw, uom=saw.uom, unit_price=Decimal("50.00"))
    default = PricingStrategyFactory(code="default", lists=[default_list])
    StrategyAssignmentFactory(strategy=default, level=AssignmentLevel.DEFAULT)
    AdjustmentReasonFactory(code="price-match")
    web = Channel.objects.create(code="web", name="Web", type=ChannelType.WEB)
    customer = CustomerFactory(account_number="C-1", demand_class=DemandClass.PRIORITY)
    CustomerSiteFactory(customer=customer, country="US", region="PA")
    TaxRuleFactory(country="US", region="", tax_class=standard, rate=Decimal("0"), name="US no sales tax")
    return SimpleNamespace(
        standard=standard,
        tools=tools,
        drills=drills,
        acme=acme,
        drill=drill,
        saw=saw,
        default_list=default_list,
        default=default,
        web=web,
        customer=customer,
    )


def line(sku: str, qty: str | int = 1, **kwargs) -> LineRequest:
    adj = kwargs.pop("manual", None)
    if adj:
        kwargs["manual_adjustment"] = ManualAdjustment(adj[0], Decimal(str(adj[1])), adj[2])
    return LineRequest(sku=sku, quantity=Decimal(str(qty)), **kwargs)


def quote(*lines: LineRequest, currency: str = "USD", on: date = TODAY, explain: bool = True, **kwargs):
    ship_to = kwargs.pop("ship_to", None)
    if isinstance(ship_to, tuple):
        ship_to = ShipTo(*ship_to)
    return price_quote(
        PriceRequest(currency=currency, lines=tuple(lines), pricing_date=on, ship_to=ship_to, **kwargs),
        explain=explain,
    )


def trace_of(result, subject: str) -> list[tuple[str, str, str]]:
    return [(t.scope, t.outcome, t.reason) for t in result.trace if t.subject == subject]
