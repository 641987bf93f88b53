"""Everyday screens: forms that keep what was typed, the workbench's per-queue summaries and
mass reject, dashboard links, the customer's credit, and the inventory views."""

from __future__ import annotations

from decimal import Decimal

import pytest

from customers.models import CreditExposure, SitePurpose
from inventory.services import (
    PurchaseLineInput,
    purchase_order_create,
    purchase_order_transition,
    stock_receive,
)
from inventory.states import PurchaseOrderStatus
from orders.models import EventKind, OrderEvent, OrderHold, SalesOrder
from orders.states import OrderStatus
from reporting.models import SavedSearch
from tests.factories.catalog import ProductFactory, SupplierFactory
from tests.factories.customers import CustomerSiteFactory
from tests.factories.inventory import ReorderRuleFactory, WarehouseFactory

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


# --- forms keep what was typed ---------------------------------------------------------------------


def test_mass_release_without_a_row_keeps_the_reason_and_says_so_on_the_rows(ui, login):
    response = login(ui.users.desk).post(
        "/workbench/holds/action?code=manual", {"action": "release", "reason": "Address confirmed"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert '<p class="field-error" id="ids-err" role="alert">Select at least one row.</p>' in page
    assert 'name="reason" required value="Address confirmed"' in page
    assert OrderHold.objects.filter(released_at__isnull=True).count() == 1


def test_mass_release_without_a_reason_keeps_the_ticked_rows(ui, login):
    response = login(ui.users.desk).post(
        "/workbench/holds/action", {"action": "release", "ids": [ui.hold.pk]}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert f'value="{ui.hold.pk}" id="hold-{ui.hold.pk}" checked' in page
    assert '<p class="field-error" id="mass-reason-err">Enter a reason' in page


def test_saved_search_without_a_name_keeps_the_filter_and_says_so_on_the_name(ui, login):
    client = login(ui.users.desk)
    response = client.post(
        "/orders/saved", {"name": " ", "status": "open", "hold": "manual", "sort": "-total"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert '<p class="field-error" id="saved-name-err">A saved search needs a name.</p>' in page
    assert response.context["form"]["status"].value() == "open"
    assert response.context["form"]["hold"].value() == "manual"
    assert '<input type="hidden" name="hold" value="manual">' in page  # a second try saves the filter
    assert not SavedSearch.objects.exists()


def test_stock_adjustment_with_an_unknown_sku_stays_on_its_warehouse_with_the_input(ui, login):
    WarehouseFactory(code="wh-west")
    response = login(ui.users.fulfillment).post(
        "/inventory/adjust",
        {"warehouse": "wh-west", "sku": "NOPE-1", "quantity": "3", "kind": "adjustment", "reason": "found"},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert response.context["warehouse"].code == "wh-west"
    assert '<p class="field-error" id="id_sku-err">No product has the SKU NOPE-1.</p>' in page
    assert 'value="NOPE-1"' in page and 'value="found"' in page and 'value="3"' in page
    assert '<option value="wh-west" selected>' in page


def test_stock_adjustment_missing_reason_is_named_on_its_field(ui, login):
    response = login(ui.users.fulfillment).post(
        "/inventory/adjust", {"warehouse": "wh-east", "sku": "DRILL-1", "quantity": "3", "kind": "adjustment"}
    )
    assert response.status_code == 400
    assert (
        '<p class="field-error" id="id_reason-err">This field is required.</p>' in response.content.decode()
    )


# --- workbench -------------------------------------------------------------------------------------


def test_approvals_can_be_rejected_in_bulk_with_a_reason(ui, login):
    client = login(ui.users.approver)
    assert "Reject selected" in client.get("/workbench/approvals/").content.decode()
    refused = client.post("/workbench/approvals/action", {"action": "reject", "ids": [ui.pending_order.pk]})
    assert refused.status_code == 400 and "Enter a reason" in refused.content.decode()
    response = client.post(
        "/workbench/approvals/action",
        {"action": "reject", "ids": [ui.pending_order.pk], "reason": "Over budget", "confirm": "yes"},
        follow=True,
    )
    assert "1 row rejected." in response.content.decode()
    assert SalesOrder.objects.get(pk=ui.pending_order.pk).status == OrderStatus.CANCELED
    assert OrderEvent.objects.get(order=ui.pending_order, kind=EventKind.REJECTED).reason == "Over budget"


def test_order_desk_cannot_reject_from_the_workbench(ui, login):
    response = login(ui.users.desk).post(
        "/workbench/approvals/action",
        {"action": "reject", "ids": [ui.pending_order.pk], "reason": "no", "confirm": "yes"},
        follow=True,
    )
    assert "1 not rejected" in response.content.decode()
    assert SalesOrder.objects.get(pk=ui.pending_order.pk).status == OrderStatus.PENDING_APPROVAL


def test_each_workbench_queue_has_its_own_side_summaries(ui, login):
    client = login(ui.users.admin)
    titles = {
        panel: [s.title for s in client.get(f"/workbench/{panel}/").context["summaries"]]
        for panel in ("holds", "approvals", "backorders", "steps", "webhooks")
    }
    assert titles == {
        "holds": ["Held orders by customer", "Held orders by hold"],
        "approvals": ["Waiting by customer", "Waiting by channel"],
        "backorders": ["Back-orders by product", "Back-orders by supplier", "Back-orders by warehouse"],
        "steps": ["Failed steps by step", "Failed steps by warehouse"],
        "webhooks": ["Failing by endpoint"],
    }
    holds = client.get("/workbench/holds/").context["summaries"]
    assert holds[0].rows == [("C-2", "Globex Hardware", 1)] and holds[1].rows == [
        ("manual", "Manual review", 1)
    ]
    approvals = client.get("/workbench/approvals/").context["summaries"]
    assert approvals[0].rows == [("C-1", "Acme Tools Inc. · 1 orders", "6,000.00 USD")]


# --- dashboard ---------------------------------------------------------------------------------------


def test_dashboard_tiles_and_counts_link_to_their_lists_for_those_who_may_open_them(ui, login):
    page = login(ui.users.approver).get("/").content.decode()
    assert '<a class="kpi-link" href="/workbench/approvals/">' in page
    assert '<a class="kpi-link" href="/workbench/holds/">' in page
    assert '<a href="/workbench/holds/?code=manual">' in page
    assert '<a class="kpi-link" href="/orders/?created_from=' in page
    assert 'href="/workbench/backorders/"' not in page  # not an approver's queue: plain text
    picker = login(ui.users.fulfillment).get("/").content.decode()
    assert '<a class="kpi-link" href="/workbench/backorders/">' in picker


# --- customer ----------------------------------------------------------------------------------------


def test_customer_page_shows_credit_and_labels_bill_to_and_ship_to(ui, login):
    customer = ui.customer
    customer.sites.update(purpose=SitePurpose.BILL_TO)
    CustomerSiteFactory(customer=customer, purpose=SitePurpose.SHIP_TO, name="Dock 4")
    CreditExposure.objects.update_or_create(
        customer=customer,
        defaults={"open_orders_amount": Decimal("6400"), "open_receivables_amount": Decimal("1234.5")},
    )
    page = login(ui.users.finance).get(f"/customers/{customer.pk}/").content.decode()
    assert 'Credit limit</dt><dd class="num">100000.00 USD' in page
    assert "Open balance" in page and "1234.50 USD" in page
    assert 'Exposure</dt><dd class="num">7634.50 USD' in page
    assert 'Still available</dt><dd class="num">92365.50 USD' in page
    assert '<span class="badge">Bill to</span> <span class="badge badge-ok">Main bill-to</span>' in page
    assert (
        'Dock 4 <span class="badge">Ship to</span> <span class="badge badge-ok">Main ship-to</span>' in page
    )


# --- inventory ---------------------------------------------------------------------------------------


def test_stock_across_warehouses_shows_each_product_once_with_every_warehouse(ui, login):
    west = WarehouseFactory(code="wh-west")
    stock_receive(product_id=ui.drill.pk, warehouse_id=west.pk, quantity=7, reference="t")
    response = login(ui.users.fulfillment).get("/inventory/?warehouse=all&sku=DRILL")
    rows = list(response.context["rows"])
    assert [p.sku for p in rows] == ["DRILL-1"]
    cells = {w.code: (c.on_hand if c else None) for w, c in rows[0].cells}
    east_on_hand = cells["wh-east"]
    assert cells["wh-west"] == 7 and rows[0].total_on_hand == east_on_hand + 7
    assert "Stock in every warehouse" in response.content.decode()


def test_reorder_page_shows_rows_to_reorder_unless_asked_for_all(ui, login):
    low = ProductFactory(sku="LOW-1")
    stock_receive(product_id=low.pk, warehouse_id=ui.warehouse.pk, quantity=3, reference="t")
    ReorderRuleFactory(product=low, warehouse=ui.warehouse, reorder_point=Decimal("10"))
    ReorderRuleFactory(product=ui.drill, warehouse=ui.warehouse, reorder_point=Decimal("10"))  # 500 on hand
    client = login(ui.users.fulfillment)
    to_reorder = client.get("/inventory/reorder/")
    assert [r.product.sku for r in to_reorder.context["rows"]] == ["LOW-1"]
    every = client.get("/inventory/reorder/?show=all")
    assert sorted(r.product.sku for r in every.context["rows"]) == ["DRILL-1", "LOW-1"]
    assert [r.below for r in every.context["rows"] if r.product.sku == "DRILL-1"] == [False]


def test_purchase_order_lines_show_product_and_cost_and_the_order_its_total_and_receive_is_empty(ui, login):
    po = purchase_order_create(
        supplier_id=SupplierFactory().pk,
        warehouse_id=ui.warehouse.pk,
        lines=[
            PurchaseLineInput(product_id=ui.drill.pk, quantity=Decimal(10), unit_cost=Decimal("40.125")),
            PurchaseLineInput(product_id=ui.saw.pk, quantity=Decimal(3), unit_cost=Decimal("2.5")),
        ],
    )
    for target in (PurchaseOrderStatus.APPROVED, PurchaseOrderStatus.SENT):
        purchase_order_transition(purchase_order_id=po.pk, target=target, actor=None)
    page = login(ui.users.fulfillment).get(f"/inventory/purchase-orders/{po.pk}/").content.decode()
    assert ui.drill.name in page and ui.saw.name in page
    assert "40.13 USD" in page and "401.25 USD" in page and "7.50 USD" in page
    assert "<strong>408.75 USD</strong>" in page
    line = po.lines.get(product=ui.drill)
    assert f'name="receive-{line.pk}" value="" placeholder="open 10"' in page
