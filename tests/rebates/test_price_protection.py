"""Price protection: a price drop claims exactly the on-hand of its date per warehouse (the
ledger's sum up to the start of that day) plus the open purchase-order quantities from that
supplier, at the difference in price; once per price drop."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import PurchaseOrder, PurchaseOrderLine, StockMovement
from inventory.services import stock_adjust, stock_receive
from rebates.models import Accrual, PriceDrop, ProgramType, SourceType
from rebates.services.accruals import price_drop_accrue, price_drops_accrue_due
from rebates.services.journal import entry_totals

from .conftest import program

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
D = Decimal


def _backdate(days: int) -> None:
    """The movements just written happened `days` ago (the ledger as it stood then)."""
    StockMovement.objects.filter(created_at__gte=timezone.now() - timedelta(minutes=5)).update(
        created_at=timezone.now() - timedelta(days=days)
    )


def _po(world, supplier, status, ordered, received, *, days_ago=10, product=None, warehouse=None):
    po = PurchaseOrder.objects.create(
        supplier=supplier, warehouse=warehouse or world.warehouse, status=status
    )
    PurchaseOrder.objects.filter(pk=po.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return PurchaseOrderLine.objects.create(
        purchase_order=po, product=product or world.drill, quantity_ordered=D(ordered),
        quantity_received=D(received), unit_cost=D("80.00"),
    )  # fmt: skip


def test_a_price_drop_claims_the_on_hand_of_its_date_per_warehouse_plus_open_purchase_orders(rworld):
    w, drill = rworld, rworld.drill
    p = program(code="pp-acme", program_type=ProgramType.PRICE_PROTECTION, supplier=w.supplier)
    effective = timezone.localdate() - timedelta(days=2)
    p.start_date = effective - timedelta(days=30)
    p.save()
    stock_receive(product_id=drill.pk, warehouse_id=w.warehouse.pk, quantity=100, reference="old")
    stock_receive(product_id=drill.pk, warehouse_id=w.warehouse2.pk, quantity=40, reference="old")
    stock_receive(product_id=w.saw.pk, warehouse_id=w.warehouse.pk, quantity=500, reference="other product")
    _backdate(5)
    stock_adjust(
        product_id=drill.pk, warehouse_id=w.warehouse.pk, quantity=-30, reason="shipped before the date"
    )
    _backdate(3)
    # After the date: a receipt (bought at the new price) and a shipment do not count.
    stock_receive(product_id=drill.pk, warehouse_id=w.warehouse.pk, quantity=50, reference="new price")
    stock_adjust(product_id=drill.pk, warehouse_id=w.warehouse2.pk, quantity=-10, reason="shipped after")
    open_line = _po(w, w.supplier, "partially_received", "60", "15")  # 45 still to come
    sent_line = _po(w, w.supplier, "sent", "12", "0", warehouse=w.warehouse2)  # 12 to come
    _po(w, w.supplier, "received", "20", "20")  # nothing open
    _po(w, w.supplier, "draft", "99", "0")  # not ordered yet
    _po(w, w.supplier, "sent", "7", "0", days_ago=1)  # ordered after the drop: at the new price
    _po(w, w.other_supplier, "sent", "33", "0")  # another supplier's
    _po(w, w.supplier, "sent", "8", "0", product=w.saw)  # another product
    drop = PriceDrop.objects.create(
        program=p, product=drill, effective_date=effective, old_cost=D("80.00"), new_cost=D("72.00")
    )

    rows = price_drop_accrue(price_drop_id=drop.pk)

    got = sorted((a.source_type, a.warehouse_id, a.quantity, a.amount) for a in rows)
    assert got == sorted([
        (SourceType.PRICE_DROP_STOCK, w.warehouse.pk, D("70"), D("560.00")),  # 100 - 30, at 8.00
        (SourceType.PRICE_DROP_STOCK, w.warehouse2.pk, D("40"), D("320.00")),
        (SourceType.PRICE_DROP_PO, w.warehouse.pk, D("45"), D("360.00")),
        (SourceType.PRICE_DROP_PO, w.warehouse2.pk, D("12"), D("96.00")),
    ])  # fmt: skip
    assert {a.source_id for a in rows if a.source_type == SourceType.PRICE_DROP_PO} == {
        f"{drop.pk}:{open_line.pk}",
        f"{drop.pk}:{sent_line.pk}",
    }
    assert all(a.supplier_id == w.supplier.pk and a.product_id == drill.pk for a in rows)
    totals = entry_totals()
    assert totals["debit"] == totals["credit"] == D("1336.00")
    # Once per price drop: the nightly run and a second call accrue nothing more.
    assert price_drop_accrue(price_drop_id=drop.pk) == []
    assert price_drops_accrue_due() == 0
    assert Accrual.objects.filter(program=p).count() == 4


def test_the_nightly_run_accrues_price_drops_whose_date_has_come(rworld):
    p = program(code="pp-nightly", program_type=ProgramType.PRICE_PROTECTION, supplier=rworld.supplier)
    stock_receive(product_id=rworld.drill.pk, warehouse_id=rworld.warehouse.pk, quantity=10, reference="old")
    _backdate(2)
    today = timezone.localdate()
    due = PriceDrop.objects.create(
        program=p, product=rworld.drill, effective_date=today, old_cost=D("5.00"), new_cost=D("4.50")
    )
    later = PriceDrop.objects.create(
        program=p, product=rworld.drill, effective_date=today + timedelta(days=3), old_cost=D("4.50"),
        new_cost=D("4.00"),
    )  # fmt: skip
    assert price_drops_accrue_due() == 1
    assert [a.amount for a in Accrual.objects.filter(program=p)] == [D("5.00")]
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.accrued_at is not None and later.accrued_at is None
