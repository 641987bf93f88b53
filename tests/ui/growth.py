"""Add `k` more rows to every list a screen shows, through the same services people use, so a
test can show that a page's query count does not change with the number of rows."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from customers.services import interaction_log, lead_create, lead_stage_change
from inventory.services import (
    PurchaseLineInput,
    TransferLineInput,
    backorder_create,
    purchase_order_create,
    stock_receive,
    transfer_create,
)
from orders.actors import Actor
from orders.services import hold_apply
from partners.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from tests.factories.catalog import ProductFactory, SupplierFactory
from tests.factories.customers import CustomerFactory, CustomerSiteFactory
from tests.factories.inventory import ReorderRuleFactory, WarehouseFactory
from tests.factories.pricing import PriceListItemFactory

from .world import submit


def grow(ui, k: int, tag: str) -> None:
    desk = ui.users.desk
    second = WarehouseFactory(code=f"wh-{tag.lower()}")
    supplier = SupplierFactory()
    endpoint = WebhookEndpoint.objects.create(
        url=f"https://hooks.example/{tag}", secret="s", topics=["order.*"]
    )
    for i in range(k):
        product = ProductFactory(sku=f"G{tag}-{i:03d}", tax_class=ui.tax, primary_supplier=supplier)
        PriceListItemFactory(
            price_list=ui.price_list, product=product, uom=product.uom, unit_price=Decimal("5")
        )
        stock_receive(
            product_id=product.pk, warehouse_id=ui.warehouse.pk, quantity=40, reference=f"grow {tag}"
        )
        stock_receive(product_id=product.pk, warehouse_id=second.pk, quantity=5, reference=f"grow {tag}")
        ReorderRuleFactory(product=product, warehouse=ui.warehouse, preferred_supplier=supplier)
        customer = CustomerFactory(account_number=f"G{tag}{i:03d}", credit_limit=Decimal("100000"))
        CustomerSiteFactory(customer=customer, country="US", region="PA")
        order = submit(
            ui, desk, f"G-{tag}-{i}", [("DRILL-1", "1"), (product.sku, "2")], account=customer.account_number
        )
        hold_apply(order_id=order.pk, actor=Actor.for_user(desk), code="manual", reason=f"grow {i}")
        submit(ui, desk, f"GP-{tag}-{i}", [("DRILL-1", "55")], account=customer.account_number)
        backorder_create(
            demand_type="order_line", demand_id=f"{tag}-{i}", product_id=product.pk, quantity=3,
            warehouse_id=ui.warehouse.pk,
        )  # fmt: skip
        transfer_create(
            from_warehouse_id=ui.warehouse.pk,
            to_warehouse_id=second.pk,
            lines=[TransferLineInput(product_id=product.pk, quantity=Decimal(1))],
        )
        purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=ui.warehouse.pk,
            lines=[PurchaseLineInput(product_id=product.pk, quantity=Decimal(10), unit_cost=Decimal("2"))],
        )
        WebhookDelivery.objects.create(
            endpoint=endpoint, event_id=i, topic="order.submitted", payload={}, attempts=5,
            status=WebhookDeliveryStatus.FAILED, last_error="HTTP 500", created_at=timezone.now(),
        )  # fmt: skip
        # Leads on the board and in the list, each with an interaction and a follow-up due for
        # the admin (the user the query-count tests sign in as); the main customer's log grows too.
        lead = lead_create(
            company=f"Lead {tag} {i}", contact_name="Kim", email=f"kim{tag}{i}@lead.test",
            owner=ui.users.admin, estimated_value=Decimal("100"),
        )  # fmt: skip
        if i % 2:
            lead_stage_change(lead_id=lead.pk, to="contacted", user=ui.users.admin)
        interaction_log(kind="call", subject=f"Call {tag}{i}", lead_id=lead.pk, user=ui.users.admin,
                        follow_up_on=timezone.localdate())  # fmt: skip
        interaction_log(kind="note", subject=f"Note {tag}{i}", customer_id=ui.customer.pk, user=desk,
                        follow_up_on=timezone.localdate(), follow_up_owner_id=ui.users.admin.pk)  # fmt: skip
