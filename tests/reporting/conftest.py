"""A small fixed sales history for the reports, captured through the order services.

Current period 2026-11-08..14, previous 2026-11-01..07; USD and EUR orders (EUR -> USD 1.10 from
2026-10-01, 1.20 from 2026-11-10); a revision that superseded an order, a canceled line (the OMS
has no returns: a canceled line stands in for a returned one) and a canceled order. The
hand-computed figures are in tests/reporting/test_rankings.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model

from oms.kernel import events
from orders.actors import Actor
from orders.inputs import AddressInput, CustomerInput, LineInput, OrderInput
from orders.models import OrderLine, SalesOrder
from orders.services import line_cancel, order_cancel, order_submit
from pricing.models import ExchangeRate
from reporting.models import ProductCost
from tests.factories.customers import CustomerFactory
from tests.orders.conftest import build_world
from tests.ui.conftest import login  # noqa: F401  (signs staff in with a verified second factor)

from .workbench_world import build_workbench_world

DE = AddressInput(name="Lena", line1="Hauptstr. 1", city="Berlin", region="BE", country="DE")


def at(day: int) -> dt.datetime:
    return dt.datetime(2026, 11, day, 12, 0, tzinfo=dt.UTC)


def submit(channel, source, lines, *, account="C-1", revision=1, currency="", ship_to=None, **extra):
    data = OrderInput(
        source_order_id=source,
        revision=revision,
        customer=CustomerInput(account_number=account),
        currency=currency,
        ship_to=ship_to,
        lines=tuple(
            LineInput(
                source_line_id=str(i), sku=sku, quantity=Decimal(q), unit_price=price and Decimal(price)
            )
            for i, (sku, q, price) in enumerate(lines, start=1)
        ),
        **extra,
    )
    return order_submit(channel=channel, actor=Actor.system(), data=data).order


def backdate(order, day: int) -> None:
    SalesOrder.objects.filter(number=order.number).update(created_at=at(day))


def build_sales() -> SimpleNamespace:
    w = build_world()
    w.saw.brand = w.drill.brand
    w.saw.save(update_fields=["brand"])
    rep = get_user_model().objects.create_user("rep1", password="x")
    w.customer.sales_rep = rep
    w.customer.save(update_fields=["sales_rep"])
    w.eu = CustomerFactory(account_number="C-2", demand_class="priority", credit_limit=Decimal("100000"))
    ProductCost.objects.create(product_id=w.drill.pk, currency="USD", unit_cost=Decimal("60.00"))
    ExchangeRate.objects.create(base="EUR", quote="USD", rate=Decimal("1.10"), valid_on=dt.date(2026, 10, 1))
    ExchangeRate.objects.create(base="EUR", quote="USD", rate=Decimal("1.20"), valid_on=dt.date(2026, 11, 10))
    web, market = w.web.channel, w.market.channel
    o = {}
    o[1] = submit(
        web, "O1", [("DRILL-1", "2", None), ("SAW-1", "1", None)], source_page="/spring", campaign="spring"
    )
    o[2] = submit(web, "O2", [("DRILL-1", "1", None), ("SAW-1", "4", None)])
    o[2] = submit(web, "O2", [("DRILL-1", "3", None), ("SAW-1", "4", None)], revision=2)
    o[3] = submit(
        market,
        "O3",
        [("DRILL-1", "2", "80"), ("SAW-1", "1", "40")],
        account="C-2",
        currency="EUR",
        ship_to=DE,
    )
    o[4] = submit(market, "O4", [("DRILL-1", "1", "90")], account="C-2", currency="EUR", ship_to=DE)
    o[5] = submit(web, "O5", [("DRILL-1", "1", None), ("SAW-1", "2", None)])
    o[6] = submit(web, "O6", [("DRILL-1", "5", None)])
    p1 = submit(web, "P1", [("SAW-1", "10", None)])
    p2 = submit(market, "P2", [("DRILL-1", "1", "100")], account="C-2", currency="EUR", ship_to=DE)
    for order, day in ((o[1], 8), (o[2], 9), (o[3], 9), (o[4], 12), (o[5], 13), (o[6], 13), (p1, 3), (p2, 5)):
        backdate(order, day)
    saw_line = OrderLine.objects.get(order=o[5], line_number=2)
    line_cancel(order_id=o[5].pk, line_id=saw_line.pk, actor=Actor.system(), reason="customer sent it back")
    order_cancel(order_id=o[6].pk, actor=Actor.system(), reason="customer changed their mind")
    events.relay_run()  # the reporting.rollups subscriber refreshes each order's facts
    w.orders, w.p1, w.p2, w.rep = o, p1, p2, rep
    return w


@pytest.fixture
def sales(db):
    return build_sales()


@pytest.fixture
def wb(db):
    return build_workbench_world()
