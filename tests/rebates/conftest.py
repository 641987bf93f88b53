"""A small world for rebate accruals: a supplier and its products, customers, a warehouse, and
shipped shipments built row by row (the accrual engine reads only the shipped quantities, the
order line's net price and currency, the customer and the ship date)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from fulfillment.models import FulfillmentLine, Shipment, ShipmentLine
from fulfillment.states import ShipmentStatus
from oms.kernel.roles import Role, role_sync
from orders.models import OrderLine, SalesOrder
from partners.models import Channel, ChannelType
from rebates.models import ProgramTier, RebateProgram
from rebates.states import ProgramStatus
from tests.factories.catalog import BrandFactory, CategoryFactory, ProductFactory, SupplierFactory
from tests.factories.customers import CustomerFactory
from tests.factories.inventory import WarehouseFactory

_seq = itertools.count(1)


def ship(world, customer, lines, *, currency="USD", on: date, warehouse=None) -> list[ShipmentLine]:
    """One shipped shipment of `lines` = [(product, quantity, unit net price), ...]."""
    n = next(_seq)
    channel, _ = Channel.objects.get_or_create(
        code="rebates-test", defaults={"name": "R", "type": ChannelType.WEB}
    )
    order = SalesOrder.objects.create(
        number=f"SO-R{n:05d}", channel=channel, source_order_id=f"R-{n}", status="shipped",
        customer=customer, currency=currency,
    )  # fmt: skip
    shipped_at = datetime.combine(on, time(12), tzinfo=UTC)
    shipment = Shipment.objects.create(
        number=f"SH-R{n:05d}", order=order, order_number=order.number, warehouse=warehouse or world.warehouse,
        status=ShipmentStatus.SHIPPED, request_key=f"r:{n}", shipped_at=shipped_at,
    )  # fmt: skip
    out = []
    for i, (product, qty, price) in enumerate(lines, start=1):
        qty, price = Decimal(str(qty)), Decimal(str(price))
        ol = OrderLine.objects.create(
            order=order, line_number=i, source_line_id=str(i), product=product, quantity=qty, uom="EA",
            unit_net_price=price, line_total=qty * price, status="shipped", shipped_quantity=qty,
        )  # fmt: skip
        fl = FulfillmentLine.objects.create(
            order=order, order_line=ol, order_number=order.number, source_line_id=str(i), product=product,
            quantity=qty, status="shipped", shipped_quantity=qty, warehouse=shipment.warehouse,
        )  # fmt: skip
        out.append(
            ShipmentLine.objects.create(
                shipment=shipment, fulfillment_line=fl, quantity_requested=qty, quantity_shipped=qty
            )
        )
    return out


def program(*, tiers=(), status=ProgramStatus.ACTIVE, **fields) -> RebateProgram:
    fields.setdefault("start_date", date(2026, 1, 1))
    fields.setdefault("end_date", date(2026, 12, 31))
    fields.setdefault("name", fields.get("code", "program"))
    products = fields.pop("products", ())
    p = RebateProgram.objects.create(status=status, **fields)
    if products:
        p.products.set(products)
    for lower, upper, rate in tiers:
        ProgramTier.objects.create(
            program=p,
            lower=Decimal(str(lower)),
            upper=None if upper is None else Decimal(str(upper)),
            rate=Decimal(str(rate)),
        )
    return p


@pytest.fixture
def rworld(db):
    supplier = SupplierFactory(code="acme")
    other_supplier = SupplierFactory(code="globex")
    brand, category = BrandFactory(code="acme-tools"), CategoryFactory(code="drills")
    return SimpleNamespace(
        supplier=supplier,
        other_supplier=other_supplier,
        drill=ProductFactory(sku="DRILL-R", primary_supplier=supplier, brand=brand, category=category),
        saw=ProductFactory(sku="SAW-R", primary_supplier=supplier),
        widget=ProductFactory(sku="WIDGET-R", primary_supplier=other_supplier),
        warehouse=WarehouseFactory(code="wh-r1"),
        warehouse2=WarehouseFactory(code="wh-r2"),
        customer=CustomerFactory(account_number="C-R1", credit_currency="USD"),
        customer2=CustomerFactory(account_number="C-R2", credit_currency="USD"),
    )


@pytest.fixture
def finance_user(db):
    role_sync()
    user = get_user_model().objects.create_user("fin", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.FINANCE.label))
    return user


@pytest.fixture
def clerk_user(db):
    return get_user_model().objects.create_user("clerk", password="x", is_staff=True)


@pytest.fixture
def ui(db):
    """The staff UI's world (order entry, its users)."""
    from tests.ui.world import build_ui_world

    return build_ui_world()


@pytest.fixture
def login(client):
    """Sign in with the password and a verified second factor (as tests/ui does)."""
    from django.test import RequestFactory

    from tests.support.otp import verify_session
    from tests.ui.world import PASSWORD

    def _login(user):
        assert client.login(
            request=RequestFactory().post("/accounts/login/"), username=user.get_username(), password=PASSWORD
        )
        verify_session(client, user)
        return client

    return _login
