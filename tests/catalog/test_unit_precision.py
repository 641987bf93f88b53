"""Units carry their precision (EA whole units, KG three decimals), one rule in catalog enforced
by order capture (API and staff UI), stock adjustments, receipts, purchase orders and transfers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from catalog.models import UnitOfMeasure
from catalog.services import base_quantities_check, quantity_precision_error
from inventory.models import PurchaseOrderLine, StockMovement, StockPosition
from inventory.services import (
    PurchaseLineInput,
    ReceiptInput,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_transition,
    stock_adjust,
    stock_receive,
)
from inventory.states import PurchaseOrderStatus
from oms.kernel.exceptions import ValidationFailed
from oms.kernel.roles import Role, role_sync
from orders.models import SalesOrder
from tests.factories.catalog import ProductFactory, SupplierFactory, UnitOfMeasureFactory
from tests.factories.inventory import WarehouseFactory
from tests.orders.conftest import api_post, build_world, order_body


@pytest.mark.unit
@pytest.mark.parametrize(
    ("quantity", "places", "problem"),
    [
        ("2", 0, None),
        ("2.000", 0, None),
        ("1E+3", 0, None),
        ("2.5", 0, "EA is counted in whole units."),
        ("0.001", 0, "EA is counted in whole units."),
        ("2.125", 3, None),
        ("2.1250", 3, None),
        ("2.1255", 3, "EA is measured to at most 3 decimals."),
    ],
)
def test_a_quantity_has_at_most_its_units_decimals(quantity, places, problem):
    unit = UnitOfMeasure(code="EA", name="Each", decimal_places=places)
    assert quantity_precision_error(Decimal(quantity), unit) == problem


@pytest.mark.integration
@pytest.mark.django_db
def test_the_migration_gives_kg_three_decimals_and_counted_units_none():
    kg = UnitOfMeasureFactory(code="KG")
    ea = UnitOfMeasureFactory(code="EA")
    assert (kg.decimal_places, ea.decimal_places) == (3, 0)
    field = UnitOfMeasure._meta.get_field("decimal_places")
    assert field.default == 0


# --- capture: the API and the staff UI share the pipeline -------------------------------------


@pytest.fixture
def world(db):
    return build_world()


@pytest.mark.integration
def test_the_api_refuses_2_5_each_naming_the_unit_and_writes_nothing(client, world):
    body = order_body(lines=[{"source_line_id": "1", "sku": "DRILL-1", "quantity": "2.5"}])
    response = api_post(client, "/api/v1/orders", body, key=world.web.key)
    assert response.status_code == 400, response.content
    assert response.json()["fields"] == {"lines[0].quantity": ["EA is counted in whole units."]}
    assert not SalesOrder.objects.exists()


@pytest.mark.integration
def test_the_api_takes_three_decimals_of_a_kilogram_product_but_not_four(client, world):
    kg = UnitOfMeasureFactory(code="KG")
    world.drill.uom = kg
    world.drill.save(update_fields=["uom"])
    world.price_list.items.filter(product=world.drill).update(uom=kg)
    four = order_body("KG-4", lines=[{"source_line_id": "1", "sku": "DRILL-1", "quantity": "1.2345"}])
    response = api_post(client, "/api/v1/orders", four, key=world.web.key)
    assert response.status_code == 400
    assert response.json()["fields"] == {"lines[0].quantity": ["KG is measured to at most 3 decimals."]}
    three = order_body("KG-3", lines=[{"source_line_id": "1", "sku": "DRILL-1", "quantity": "1.234"}])
    response = api_post(client, "/api/v1/orders", three, key=world.web.key)
    assert response.status_code == 201, response.content
    assert SalesOrder.objects.get().lines.get().quantity == Decimal("1.234")


@pytest.mark.integration
def test_a_half_box_is_refused_in_the_unit_it_was_ordered_in(client, world):
    UnitOfMeasureFactory(code="BOX")
    body = order_body(lines=[{"source_line_id": "1", "sku": "DRILL-1", "quantity": "0.5", "uom": "BOX"}])
    response = api_post(client, "/api/v1/orders", body, key=world.web.key)
    assert response.status_code == 400
    assert response.json()["fields"]["lines[0].quantity"] == ["BOX is counted in whole units."]


# --- inventory --------------------------------------------------------------------------------


@pytest.fixture
def each_product():
    return ProductFactory(sku="BOLT-1")


@pytest.fixture
def clerk(django_user_model):
    role_sync()
    user = django_user_model.objects.create_user(username="clerk", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.FULFILLMENT.label))
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.mark.integration
@pytest.mark.django_db
def test_a_stock_adjustment_of_2_5_each_is_refused_in_the_service_and_the_api(each_product, clerk):
    warehouse = WarehouseFactory()
    stock_receive(product_id=each_product.pk, warehouse_id=warehouse.pk, quantity=Decimal(250), reference="O")
    with pytest.raises(ValidationFailed) as caught:
        stock_adjust(
            product_id=each_product.pk, warehouse_id=warehouse.pk, quantity=Decimal("-2.5"), reason="count"
        )
    assert caught.value.fields == {"quantity": ["EA is counted in whole units."]}
    response = clerk.post(
        "/api/v1/stock-adjustments/",
        {"sku": "BOLT-1", "warehouse": warehouse.code, "quantity": "-2.5", "reason": "damaged"},
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"quantity": ["EA is counted in whole units."]}
    assert StockPosition.objects.get().on_hand == 250 and StockMovement.objects.count() == 1


@pytest.mark.integration
@pytest.mark.django_db
def test_receipts_and_purchase_orders_refuse_fractions_of_an_each(each_product):
    warehouse = WarehouseFactory()
    with pytest.raises(ValidationFailed, match="EA is counted in whole units"):
        stock_receive(product_id=each_product.pk, warehouse_id=warehouse.pk, quantity="3.5", reference="R")
    assert not StockMovement.objects.exists()
    supplier = SupplierFactory()
    with pytest.raises(ValidationFailed) as caught:
        purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=warehouse.pk,
            lines=[PurchaseLineInput(product_id=each_product.pk, quantity=Decimal("4.5"))],
        )
    assert caught.value.fields == {"lines[0].quantity": ["EA is counted in whole units."]}
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        lines=[PurchaseLineInput(product_id=each_product.pk, quantity=Decimal(5))],
    )
    for target in (PurchaseOrderStatus.APPROVED, PurchaseOrderStatus.SENT):
        purchase_order_transition(purchase_order_id=po.pk, target=target)
    line = po.lines.get()
    with pytest.raises(ValidationFailed) as caught:
        purchase_order_receive(purchase_order_id=po.pk, lines=[ReceiptInput(line_id=line.pk, quantity="1.5")])
    assert caught.value.fields == {"lines[0].quantity": ["EA is counted in whole units."]}
    assert PurchaseOrderLine.objects.get().quantity_received == 0 and not StockMovement.objects.exists()


@pytest.mark.integration
@pytest.mark.django_db
def test_kilograms_take_three_decimals_in_stock(django_assert_max_num_queries):
    product = ProductFactory(uom=UnitOfMeasureFactory(code="KG"))
    with django_assert_max_num_queries(1):
        base_quantities_check({"quantity": (product.pk, Decimal("2.125"))})
    warehouse = WarehouseFactory()
    position = stock_receive(
        product_id=product.pk, warehouse_id=warehouse.pk, quantity="2.125", reference="R"
    )
    assert position.on_hand == Decimal("2.125")
