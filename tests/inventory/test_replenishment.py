from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from inventory.errors import OverReceipt
from inventory.models import (
    DocumentEvent,
    MovementKind,
    PurchaseOrder,
    PurchaseOrderLine,
    StockPosition,
)
from inventory.selectors import low_stock_positions
from inventory.services import (
    PurchaseLineInput,
    ReceiptInput,
    ReserveLine,
    TransferLineInput,
    backorder_create,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_transition,
    reorder_scan,
    stock_receive,
    stock_reserve,
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from inventory.states import PO_TRANSITIONS, TRANSFER_TRANSITIONS, PurchaseOrderStatus, TransferStatus
from oms.kernel.exceptions import IllegalTransition, ValidationFailed
from oms.kernel.models import OutboxEvent
from tests.factories.catalog import ProductFactory, SupplierFactory
from tests.factories.inventory import ReorderRuleFactory, WarehouseFactory
from tests.inventory.conftest import ledger_sum

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
TODAY = date(2026, 3, 2)


def _draft_qty(product, warehouse) -> Decimal | None:
    line = PurchaseOrderLine.objects.filter(
        product=product, purchase_order__warehouse=warehouse, purchase_order__status="draft"
    ).first()
    return line.quantity_ordered if line else None


def _sent_po(supplier, warehouse, product, qty, *, today=TODAY) -> PurchaseOrder:
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        lines=[PurchaseLineInput(product.pk, Decimal(qty))],
        lead_time_days=4,
        today=today,
    )
    for target in ("approved", "sent"):
        purchase_order_transition(purchase_order_id=po.pk, target=target)
    return po


# --- reorder scan ---------------------------------------------------------------------------


def test_reorder_scan_quantities_follow_point_max_lot_and_moq(warehouse):
    supplier = SupplierFactory()
    up_to, lot, moq, fixed, fine = ProductFactory.create_batch(5)
    for p in (up_to, lot, moq, fixed, fine):
        stock_receive(product_id=p.pk, warehouse_id=warehouse.pk, quantity=8, reference="OPEN")
    rule = {"warehouse": warehouse, "preferred_supplier": supplier, "reorder_point": Decimal(10)}
    ReorderRuleFactory(product=up_to, order_up_to=Decimal(50), **rule)  # 50 - 8 = 42
    ReorderRuleFactory(product=lot, order_up_to=Decimal(50), lot_multiple=Decimal(12), **rule)  # 42 -> 48
    ReorderRuleFactory(
        product=moq, order_up_to=Decimal(20), min_order_quantity=Decimal(30), **rule
    )  # 12 -> 30
    ReorderRuleFactory(product=fixed, order_up_to=None, fixed_order_quantity=Decimal(25), **rule)
    ReorderRuleFactory(product=fine, order_up_to=Decimal(50), **{**rule, "reorder_point": Decimal(7)})
    # reserved stock and back-orders lower the position, on-order supply raises it
    stock_reserve(lines=[ReserveLine(up_to.pk, warehouse.pk, Decimal(2), "order_line", "1")])
    backorder_create(
        demand_type="order_line", demand_id="2", product_id=up_to.pk, quantity=1, warehouse_id=warehouse.pk
    )
    _sent_po(supplier, warehouse, lot, 6)  # position 8 + 6 = 14 > 10: lot needs nothing
    result = reorder_scan(today=TODAY)
    assert _draft_qty(up_to, warehouse) == Decimal(45)  # 50 - (8 - 2 - 1)
    assert _draft_qty(lot, warehouse) is None
    assert _draft_qty(moq, warehouse) == Decimal(30)
    assert _draft_qty(fixed, warehouse) == Decimal(25)
    assert _draft_qty(fine, warehouse) is None  # 8 > 7
    assert (result.purchase_orders_created, result.lines_created) == (1, 3)
    po = PurchaseOrder.objects.get(status="draft", from_reorder_scan=True)
    assert po.supplier == supplier and po.expected_date == TODAY + timedelta(days=5)


def test_lot_multiple_rounds_up(warehouse):
    supplier = SupplierFactory()
    (p,) = ProductFactory.create_batch(1)
    stock_receive(product_id=p.pk, warehouse_id=warehouse.pk, quantity=8, reference="OPEN")
    ReorderRuleFactory(
        product=p,
        warehouse=warehouse,
        preferred_supplier=supplier,
        order_up_to=Decimal(50),
        lot_multiple=Decimal(12),
    )
    reorder_scan(today=TODAY)
    assert _draft_qty(p, warehouse) == Decimal(48)  # 42 rounded up to 4 lots of 12


def test_reorder_scan_is_idempotent_and_tops_up(warehouse):
    supplier = SupplierFactory()
    p = ProductFactory()
    stock_receive(product_id=p.pk, warehouse_id=warehouse.pk, quantity=8, reference="OPEN")
    ReorderRuleFactory(product=p, warehouse=warehouse, preferred_supplier=supplier, order_up_to=Decimal(50))
    reorder_scan(today=TODAY)
    again = reorder_scan(today=TODAY)
    assert (again.purchase_orders_created, again.lines_created, again.lines_topped_up) == (0, 0, 0)
    assert PurchaseOrder.objects.count() == 1 and PurchaseOrderLine.objects.count() == 1
    stock_reserve(lines=[ReserveLine(p.pk, warehouse.pk, Decimal(5), "order_line", "9")])
    topped = reorder_scan(today=TODAY)
    assert topped.lines_topped_up == 1 and _draft_qty(p, warehouse) == Decimal(47)
    assert PurchaseOrderLine.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.parametrize("rules", [1, 30])
def test_reorder_scan_query_count_does_not_grow_with_rules(warehouse, django_assert_num_queries, rules):
    supplier = SupplierFactory()
    for p in ProductFactory.create_batch(rules):
        ReorderRuleFactory(product=p, warehouse=warehouse, preferred_supplier=supplier)
    # savepoint, advisory lock, insert POs, top up lines, insert lines, release
    with django_assert_num_queries(6):
        reorder_scan(today=TODAY)
    assert PurchaseOrderLine.objects.count() == rules


def test_positions_without_a_rule_show_as_low_stock(warehouse):
    covered, bare, plenty = ProductFactory.create_batch(3)
    for p, qty in ((covered, 1), (bare, 1), (plenty, 40)):
        stock_receive(product_id=p.pk, warehouse_id=warehouse.pk, quantity=qty, reference="OPEN")
    ReorderRuleFactory(product=covered, warehouse=warehouse)
    low = list(low_stock_positions(threshold=Decimal(5)))
    assert [pos.product for pos in low] == [bare]


# --- purchase orders -----------------------------------------------------------------------


def test_po_transition_table_refuses_every_pair_not_in_it(warehouse):
    for current, allowed in PO_TRANSITIONS.items():
        for target in PurchaseOrderStatus.values:
            po = purchase_order_create(
                supplier_id=SupplierFactory().pk,
                warehouse_id=warehouse.pk,
                lines=[PurchaseLineInput(ProductFactory().pk, Decimal(1))],
            )
            PurchaseOrder.objects.filter(pk=po.pk).update(status=current)
            if target in allowed:
                assert purchase_order_transition(purchase_order_id=po.pk, target=target).status == target
            else:
                with pytest.raises(IllegalTransition):
                    purchase_order_transition(purchase_order_id=po.pk, target=target)


def test_receiving_a_po_line_goes_through_the_ledger_and_frees_a_backorder(warehouse):
    supplier, p = SupplierFactory(), ProductFactory()
    demand = backorder_create(demand_type="order_line", demand_id="41", product_id=p.pk, quantity=6)
    po = _sent_po(supplier, warehouse, p, 10)
    line = po.lines.get()
    po = purchase_order_receive(purchase_order_id=po.pk, lines=[ReceiptInput(line.pk, Decimal(4))])
    assert po.status == "partially_received"
    demand.refresh_from_db()
    assert demand.status == "open"  # 4 on hand does not cover 6
    po = purchase_order_receive(purchase_order_id=po.pk, lines=[ReceiptInput(line.pk, Decimal(6))])
    assert po.status == "received"
    pos = StockPosition.objects.get(product=p, warehouse=warehouse)
    assert pos.on_hand == 10 == ledger_sum(pos)
    assert set(pos.movements.values_list("kind", flat=True)) == {MovementKind.RECEIPT}
    demand.refresh_from_db()
    assert demand.status == "reserved" and pos.reserved == 6
    assert OutboxEvent.objects.filter(topic="stock.received").count() == 2
    actions = list(DocumentEvent.objects.filter(document_id=po.pk).values_list("after", flat=True))
    assert actions == ["draft", "approved", "sent", "partially_received", "received"]


def test_over_receipt_beyond_tolerance_is_refused(warehouse, settings):
    settings.OMS_RECEIPT_OVER_TOLERANCE_PERCENT = 10
    supplier, p = SupplierFactory(), ProductFactory()
    po = _sent_po(supplier, warehouse, p, 10)
    line = po.lines.get()
    with pytest.raises(OverReceipt):
        purchase_order_receive(purchase_order_id=po.pk, lines=[ReceiptInput(line.pk, Decimal("12"))])
    assert not StockPosition.objects.exists()
    po = purchase_order_receive(purchase_order_id=po.pk, lines=[ReceiptInput(line.pk, Decimal(11))])
    assert po.status == "received"


def test_back_to_back_and_drop_ship_pos_carry_their_demand(warehouse):
    supplier, p = SupplierFactory(), ProductFactory()
    with pytest.raises(ValidationFailed):
        purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=warehouse.pk,
            lines=[PurchaseLineInput(p.pk, 1)],
            kind="back_to_back",
        )
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        lines=[PurchaseLineInput(p.pk, 1)],
        kind="drop_ship",
        demand_type="order_line",
        demand_id="77",
        ship_to="1 Main St, Springfield",
    )
    assert (po.kind, po.demand_type, po.demand_id) == ("drop_ship", "order_line", "77")


# --- transfers ------------------------------------------------------------------------------


def test_transfer_moves_stock_through_in_transit(warehouse):
    dest, p = WarehouseFactory(), ProductFactory()
    stock_receive(product_id=p.pk, warehouse_id=warehouse.pk, quantity=10, reference="OPEN")
    t = transfer_create(
        from_warehouse_id=warehouse.pk,
        to_warehouse_id=dest.pk,
        lines=[TransferLineInput(p.pk, Decimal(4))],
        expected_arrival=TODAY,
    )
    transfer_ship(transfer_id=t.pk)
    assert StockPosition.objects.get(warehouse=warehouse).on_hand == 6
    assert not StockPosition.objects.filter(warehouse=dest).exists()
    transfer_receive(transfer_id=t.pk)
    for wh, qty in ((warehouse, 6), (dest, 4)):
        pos = StockPosition.objects.get(warehouse=wh)
        assert pos.on_hand == qty == ledger_sum(pos)
    with pytest.raises(IllegalTransition):
        transfer_cancel(transfer_id=t.pk)
    assert TRANSFER_TRANSITIONS[TransferStatus.RECEIVED] == frozenset()


def test_canceling_in_transit_puts_the_stock_back(warehouse):
    dest, p = WarehouseFactory(), ProductFactory()
    stock_receive(product_id=p.pk, warehouse_id=warehouse.pk, quantity=5, reference="OPEN")
    t = transfer_create(
        from_warehouse_id=warehouse.pk, to_warehouse_id=dest.pk, lines=[TransferLineInput(p.pk, 5)]
    )
    transfer_ship(transfer_id=t.pk)
    transfer_cancel(transfer_id=t.pk)
    pos = StockPosition.objects.get(warehouse=warehouse)
    assert pos.on_hand == 5 == ledger_sum(pos)


# --- ledger check ---------------------------------------------------------------------------


def test_check_stock_ledger_exits_non_zero_on_a_mismatch(warehouse, capsys):
    p = ProductFactory()
    pos = stock_receive(product_id=p.pk, warehouse_id=warehouse.pk, quantity=5, reference="OPEN")
    call_command("check_stock_ledger")
    assert "0 mismatches" in capsys.readouterr().out
    StockPosition.objects.filter(pk=pos.pk).update(on_hand=7)  # a write that bypassed the services
    with pytest.raises(SystemExit) as exit_:
        call_command("check_stock_ledger")
    assert exit_.value.code == 1
    assert f"position {pos.pk}" in capsys.readouterr().out


def test_the_reorder_scan_runs_under_beat_at_the_configured_interval(settings, warehouse):
    from oms.celery import _beat_schedule

    settings.OMS_REORDER_SCAN_MINUTES = 5
    entry = _beat_schedule()["inventory-reorder-scan"]
    assert entry["task"] == "inventory.tasks.reorder_scan" and entry["schedule"] == 300
    from inventory.tasks import reorder_scan as task

    supplier, p = SupplierFactory(), ProductFactory()
    ReorderRuleFactory(product=p, warehouse=warehouse, preferred_supplier=supplier)
    assert task.apply().get()["lines_created"] == 1  # runs the real task body in-process
    assert task.apply().get()["lines_created"] == 0
