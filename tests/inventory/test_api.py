from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from inventory.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderRule,
    StockMovement,
    StockPosition,
    Transfer,
)
from inventory.services import stock_receive
from oms.kernel.roles import Role, role_sync
from partners import services as partner_services
from partners.models import Channel, ChannelType
from tests.factories.catalog import ProductFactory, SupplierFactory
from tests.factories.inventory import WarehouseFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def product():
    return ProductFactory(sku="WIDGET-1")


@pytest.fixture
def stock(product, warehouse):
    return stock_receive(product_id=product.pk, warehouse_id=warehouse.pk, quantity=10, reference="OPEN")


@pytest.fixture
def clerk(django_user_model):
    role_sync()
    user = django_user_model.objects.create_user(username="clerk", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.FULFILLMENT.label))
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def viewer(django_user_model):
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user(username="viewer", is_staff=True))
    return client


def _nothing_written(position: StockPosition | None = None, movements: int = 0):
    assert StockMovement.objects.count() == movements
    if position is not None:
        fresh = StockPosition.objects.get(pk=position.pk)
        assert (fresh.on_hand, fresh.reserved) == (position.on_hand, position.reserved)


# --- availability -----------------------------------------------------------------------------


def test_availability_single_and_repeated_sku(clerk, stock, warehouse):
    other = ProductFactory(sku="WIDGET-2")
    response = clerk.get("/api/v1/availability", {"sku": ["WIDGET-1", "WIDGET-2"], "quantity": "4"})
    assert response.status_code == 200
    rows = {row["sku"]: row for row in response.json()}
    assert Decimal(rows["WIDGET-1"]["available_now"]) == 10 and rows["WIDGET-1"]["promisable"] is True
    assert rows["WIDGET-2"]["promisable"] is False and rows["WIDGET-2"]["earliest_date"] is None
    assert other.sku in rows


def test_a_channel_key_may_ask_for_availability_but_not_adjust(stock):
    channel = Channel.objects.create(code="web", name="Web", type=ChannelType.WEB)
    key = partner_services.channel_key_issue(channel=channel)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.raw_key}")
    assert client.get("/api/v1/availability", {"sku": "WIDGET-1"}).status_code == 200
    response = client.post(
        "/api/v1/stock-adjustments/", {"sku": "WIDGET-1", "warehouse": "x", "quantity": "1"}
    )
    assert response.status_code == 403
    _nothing_written(stock, movements=1)


def test_batch_availability_is_one_query_per_request(viewer, warehouse, django_assert_num_queries):
    products = ProductFactory.create_batch(30)
    items = [{"sku": p.sku, "quantity": "1"} for p in products]
    with django_assert_num_queries(1):
        response = viewer.post("/api/v1/availability/batch", {"items": items}, format="json")
    assert response.status_code == 200 and len(response.json()) == 30


@pytest.mark.parametrize("quantity", ["0", "-2"])
def test_availability_refuses_a_non_positive_quantity(viewer, stock, quantity):
    response = viewer.get("/api/v1/availability", {"sku": "WIDGET-1", "quantity": quantity})
    assert response.status_code == 400 and response.json()["code"] == "validation_failed"
    assert "quantity" in response.json()["fields"]


def test_availability_of_an_unknown_sku_is_a_400(viewer, stock):
    response = viewer.get("/api/v1/availability", {"sku": ["WIDGET-1", "NOPE"]})
    assert response.status_code == 400 and response.json()["code"] == "unknown_sku"


# --- adjustments ------------------------------------------------------------------------------


def test_an_adjustment_goes_through_the_ledger(clerk, stock, warehouse):
    response = clerk.post(
        "/api/v1/stock-adjustments/",
        {"sku": "WIDGET-1", "warehouse": warehouse.code, "quantity": "-3", "reason": "damaged"},
    )
    assert response.status_code == 201 and Decimal(response.json()["on_hand"]) == 7
    assert StockMovement.objects.filter(kind="adjustment", quantity=-3).exists()


def test_an_adjustment_below_zero_on_hand_is_a_409_and_changes_nothing(clerk, stock, warehouse):
    response = clerk.post(
        "/api/v1/stock-adjustments/",
        {"sku": "WIDGET-1", "warehouse": warehouse.code, "quantity": "-11", "reason": "lost"},
    )
    assert response.status_code == 409 and response.json()["code"] == "negative_on_hand"
    _nothing_written(stock, movements=1)


def test_a_zero_adjustment_is_a_400(clerk, stock, warehouse):
    response = clerk.post(
        "/api/v1/stock-adjustments/",
        {"sku": "WIDGET-1", "warehouse": warehouse.code, "quantity": "0", "reason": "x"},
    )
    assert response.status_code == 400 and response.json()["code"] == "validation_failed"
    _nothing_written(stock, movements=1)


def test_an_adjustment_at_an_inactive_warehouse_is_a_400(clerk, stock, warehouse):
    Warehouse = type(warehouse)
    Warehouse.objects.filter(pk=warehouse.pk).update(active=False)
    response = clerk.post(
        "/api/v1/stock-adjustments/",
        {"sku": "WIDGET-1", "warehouse": warehouse.code, "quantity": "5", "reason": "x"},
    )
    assert response.status_code == 400 and response.json()["code"] == "warehouse_inactive"
    _nothing_written(stock, movements=1)


def test_an_adjustment_of_an_unknown_sku_is_a_400(clerk, stock, warehouse):
    response = clerk.post(
        "/api/v1/stock-adjustments/",
        {"sku": "NOPE", "warehouse": warehouse.code, "quantity": "5", "reason": "x"},
    )
    assert response.status_code == 400 and response.json()["code"] == "unknown_sku"
    _nothing_written(stock, movements=1)


def test_staff_without_the_fulfillment_role_cannot_adjust(viewer, stock, warehouse):
    response = viewer.post(
        "/api/v1/stock-adjustments/",
        {"sku": "WIDGET-1", "warehouse": warehouse.code, "quantity": "5", "reason": "x"},
    )
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    _nothing_written(stock, movements=1)


def test_positions_list_filters_by_sku_and_warehouse(viewer, stock, warehouse):
    other = WarehouseFactory()
    stock_receive(product_id=stock.product_id, warehouse_id=other.pk, quantity=1, reference="R")
    body = viewer.get("/api/v1/stock-positions/", {"sku": "WIDGET-1", "warehouse": other.code}).json()
    assert body["count"] == 1 and body["results"][0]["warehouse"] == other.code


# --- transfers, reorder rules, purchase orders ------------------------------------------------------


def test_a_transfer_with_a_zero_quantity_is_a_400(clerk, stock, warehouse):
    other = WarehouseFactory()
    payload = {
        "from_warehouse": warehouse.code,
        "to_warehouse": other.code,
        "lines": [{"sku": "WIDGET-1", "quantity": "0"}],
    }
    response = clerk.post("/api/v1/transfers/", payload, format="json")
    assert response.status_code == 400 and "lines[0].quantity" in response.json()["fields"]
    assert not Transfer.objects.exists()


def test_transfer_through_the_api(clerk, stock, warehouse):
    other = WarehouseFactory()
    payload = {
        "from_warehouse": warehouse.code,
        "to_warehouse": other.code,
        "lines": [{"sku": "WIDGET-1", "quantity": "4"}],
    }
    created = clerk.post("/api/v1/transfers/", payload, format="json").json()
    assert clerk.post(f"/api/v1/transfers/{created['id']}/ship/").json()["status"] == "in_transit"
    assert clerk.post(f"/api/v1/transfers/{created['id']}/receive/").json()["status"] == "received"
    again = clerk.post(f"/api/v1/transfers/{created['id']}/cancel/")
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"


def test_a_reorder_rule_needs_one_policy(clerk, stock, warehouse):
    payload = {"sku": "WIDGET-1", "warehouse": warehouse.code, "reorder_point": "5"}
    response = clerk.post("/api/v1/reorder-rules/", payload, format="json")
    assert response.status_code == 400 and not ReorderRule.objects.exists()
    response = clerk.post("/api/v1/reorder-rules/", {**payload, "order_up_to": "20"}, format="json")
    assert response.status_code == 201 and ReorderRule.objects.get().order_up_to == 20


def test_purchase_order_flow_and_over_receipt(clerk, product, warehouse):
    supplier = SupplierFactory()
    payload = {
        "supplier": supplier.code,
        "warehouse": warehouse.code,
        "lines": [{"sku": product.sku, "quantity": "5"}],
    }
    po = clerk.post("/api/v1/purchase-orders/", payload, format="json").json()
    early = clerk.post(
        f"/api/v1/purchase-orders/{po['id']}/receive/",
        {"lines": [{"line_id": po["lines"][0]["id"], "quantity": "1"}]},
        format="json",
    )
    assert early.status_code == 409 and early.json()["code"] == "illegal_transition"
    for action in ("approve", "send"):
        assert clerk.post(f"/api/v1/purchase-orders/{po['id']}/{action}/").status_code == 200
    line_id = po["lines"][0]["id"]
    over = clerk.post(
        f"/api/v1/purchase-orders/{po['id']}/receive/",
        {"lines": [{"line_id": line_id, "quantity": "6"}]},
        format="json",
    )
    assert over.status_code == 400 and over.json()["code"] == "over_receipt"
    assert PurchaseOrderLine.objects.get().quantity_received == 0 and not StockMovement.objects.exists()
    done = clerk.post(
        f"/api/v1/purchase-orders/{po['id']}/receive/",
        {"lines": [{"line_id": line_id, "quantity": "5"}]},
        format="json",
    )
    assert done.status_code == 200 and done.json()["status"] == "received"
    assert StockPosition.objects.get().on_hand == 5
    assert PurchaseOrder.objects.get().status == "received"
