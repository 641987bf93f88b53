"""Inventory: the reorder scan over 100,000 product x warehouse positions (target < 10 s), its
query count, and multi-line reservation throughput, on PostgreSQL.

Data is built set-based (INSERT ... SELECT generate_series), once; re-runs reuse it. Every timed
scan starts from the same state (the scan's own draft POs are deleted first).
"""

from __future__ import annotations

import statistics
import time

from _common import Timer, emit, setup_django

PRODUCTS = 10_000
WAREHOUSES = 10  # x PRODUCTS = 100,000 positions, each with a reorder rule
RUNS = 5
ORDERS, LINES = 300, 10


def _build() -> None:
    from django.db import connection, transaction

    from catalog.models import Brand, Category, Supplier, TaxClass, UnitOfMeasure
    from inventory.models import Warehouse

    brand, _ = Brand.objects.get_or_create(code="bench", defaults={"name": "Bench brand"})
    category, _ = Category.objects.get_or_create(code="bench", defaults={"name": "Bench"})
    uom, _ = UnitOfMeasure.objects.get_or_create(code="EA", defaults={"name": "Each"})
    tax, _ = TaxClass.objects.get_or_create(code="standard", defaults={"name": "Standard"})
    suppliers = [
        Supplier.objects.get_or_create(
            code=f"bench-sup-{i}", defaults={"name": f"Bench supplier {i}", "country": "US"}
        )[0]
        for i in range(4)
    ]
    for i in range(WAREHOUSES):
        Warehouse.objects.get_or_create(
            code=f"bench-wh-{i:02d}", defaults={"name": f"Bench {i}", "country": "US"}
        )
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            """
INSERT INTO catalog_product (sku, name, product_type, weight_kg, lot_controlled, active, created_at,
                             updated_at, brand_id, category_id, primary_supplier_id, tax_class_id, uom_id)
SELECT 'BENCH-' || lpad(g::text, 6, '0'), 'Bench product ' || g, 'goods', 1, false, true, now(), now(),
       %s, %s, (ARRAY[%s, %s, %s, %s]::bigint[])[1 + g %% 4], %s, %s
  FROM generate_series(1, %s) AS g
ON CONFLICT (sku) DO NOTHING""",
            [brand.pk, category.pk, *[s.pk for s in suppliers], tax.pk, uom.pk, PRODUCTS],
        )
        # on-hand 0..79 spread over positions; a receipt movement keeps the ledger equal to it
        cur.execute(
            """
INSERT INTO inventory_stockposition (product_id, warehouse_id, on_hand, reserved, updated_at)
SELECT p.id, w.id, (p.id * 7 + w.id * 13) % 80, 0, now()
  FROM catalog_product p CROSS JOIN inventory_warehouse w
 WHERE p.sku LIKE 'BENCH-%' AND w.code LIKE 'bench-wh-%'
ON CONFLICT (product_id, warehouse_id) DO NOTHING
RETURNING 1""",
        )
        if cur.rowcount:
            cur.execute(
                """
INSERT INTO inventory_stockmovement (position_id, kind, quantity, reason, reference, created_at)
SELECT sp.id, 'receipt', sp.on_hand, 'bench opening stock', 'BENCH', now()
  FROM inventory_stockposition sp JOIN inventory_warehouse w ON w.id = sp.warehouse_id
 WHERE w.code LIKE 'bench-wh-%' AND sp.on_hand > 0
   AND NOT EXISTS (SELECT 1 FROM inventory_stockmovement m WHERE m.position_id = sp.id)"""
            )
        cur.execute(
            """
INSERT INTO inventory_reorderrule (product_id, warehouse_id, reorder_point, safety_stock, order_up_to,
       fixed_order_quantity, lot_multiple, min_order_quantity, preferred_supplier_id, lead_time_days, active)
SELECT sp.product_id, sp.warehouse_id, 20, 5, 60, NULL, 6, 12, NULL, 3 + sp.product_id % 10, true
  FROM inventory_stockposition sp JOIN inventory_warehouse w ON w.id = sp.warehouse_id
 WHERE w.code LIKE 'bench-wh-%'
ON CONFLICT (product_id, warehouse_id) DO NOTHING"""
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def _reset_scan_drafts() -> None:
    from inventory.models import PurchaseOrder, PurchaseOrderLine

    PurchaseOrderLine.objects.filter(
        purchase_order__from_reorder_scan=True, purchase_order__status="draft"
    ).delete()
    PurchaseOrder.objects.filter(from_reorder_scan=True, status="draft").delete()


def _reservation_throughput() -> float:
    from decimal import Decimal

    from django.db import connection

    from inventory.models import Reservation, StockPosition
    from inventory.services import ReserveLine, stock_reserve

    positions = list(
        StockPosition.objects.filter(warehouse__code="bench-wh-00", on_hand__gte=40)
        .order_by("pk")
        .values_list("product_id", "warehouse_id")[: ORDERS * LINES]
    )
    with Timer() as t:
        for o in range(ORDERS):
            chunk = positions[(o * LINES) % len(positions) :][:LINES] or positions[:LINES]
            stock_reserve(
                lines=[ReserveLine(p, w, Decimal(1), "bench", f"{o}-{i}") for i, (p, w) in enumerate(chunk)]
            )
    lines_per_s = ORDERS * LINES / t.elapsed
    # give the stock back so the next run (and the scan) sees the same positions
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE inventory_stockposition SET reserved = 0 WHERE id IN "
            "(SELECT position_id FROM inventory_reservation WHERE demand_type = 'bench')"
        )
    Reservation.objects.filter(demand_type="bench").delete()
    return lines_per_s


def run() -> dict:
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inventory.models import PurchaseOrderLine, ReorderRule
    from inventory.services import reorder_scan

    with Timer() as build:
        _build()
    rules = ReorderRule.objects.filter(warehouse__code__startswith="bench-wh-").count()
    samples, queries, lines = [], 0, 0
    for _ in range(RUNS):
        _reset_scan_drafts()
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            result = reorder_scan()
            samples.append(time.perf_counter() - start)
        queries, lines = len(ctx.captured_queries), result.lines_created
    with CaptureQueriesContext(connection) as rerun_ctx, Timer() as rerun:
        again = reorder_scan()
    assert again.lines_created == 0 and again.purchase_orders_created == 0, "a re-run creates nothing"
    assert PurchaseOrderLine.objects.filter(purchase_order__from_reorder_scan=True).count() == lines
    throughput = _reservation_throughput()
    return {
        "name": "inventory_reorder",
        "figures": {
            "positions with a reorder rule": rules,
            "reorder scan, median s": round(statistics.median(samples), 3),
            "reorder scan, queries": queries,
            "reorder scan re-run (idempotent), s": round(rerun.elapsed, 3),
            "reorder scan re-run, queries": len(rerun_ctx.captured_queries),
            "draft PO lines created per scan": lines,
            f"reserve {LINES}-line orders, lines/s": round(throughput, 1),
        },
        "unit": {},
        "notes": f"{PRODUCTS} products x {WAREHOUSES} warehouses; median of {RUNS} scans; "
        f"data build {build.elapsed:.1f}s (first run only builds rows)",
    }


if __name__ == "__main__":
    emit(run())
