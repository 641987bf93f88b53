"""The reorder scan: set-based SQL over every reorder rule, a constant number of statements.

Inventory position = on-hand - reserved - open back-orders + on order (approved, sent or partly
received PO lines) + in transit (inbound transfers). Where position <= the reorder point (never
below safety stock), the need is `order_up_to - position` (or the fixed order quantity), at least
the minimum order quantity, rounded up to the lot multiple. Needs go onto one draft PO per
supplier x warehouse that the scan owns: missing POs are created, missing lines inserted, and
lines below the need topped up. Draft quantities are not counted as on order, so a re-run computes
the same needs and changes nothing (idempotent); a buyer who approves the draft turns it into
on-order supply and the next scan starts a fresh draft only if still needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction
from django.utils import timezone


@dataclass(frozen=True)
class ReorderScanResult:
    purchase_orders_created: int
    lines_created: int
    lines_topped_up: int


def _dialect() -> dict:
    if connection.vendor == "postgresql":
        return {
            "greatest": lambda a, b: f"GREATEST({a}, {b})",
            "ceil": lambda x: f"CEIL({x})",
            "add_days": lambda d, n: f"(CAST({d} AS date) + ({n}))",
            "div": lambda a, b: f"{a} / {b}",
            "true": "TRUE",
        }
    return {
        "greatest": lambda a, b: f"MAX({a}, {b})",
        # Positive x only (needs are > 0): truncate, add one if anything was cut off.
        "ceil": lambda x: f"(CAST({x} AS INTEGER) + (({x}) > CAST({x} AS INTEGER)))",
        "add_days": lambda d, n: f"date({d}, '+' || ({n}) || ' days')",
        # NUMERIC affinity stores whole quantities as integers: divide as reals, not integers.
        "div": lambda a, b: f"CAST({a} AS REAL) / {b}",
        "true": "1",
    }


def _needs_cte(sql: dict) -> str:
    return f"""
WITH backordered AS (
    SELECT product_id, warehouse_id, SUM(quantity) AS q FROM inventory_demand
     WHERE status = 'open' AND warehouse_id IS NOT NULL GROUP BY product_id, warehouse_id
), on_order AS (
    SELECT l.product_id, po.warehouse_id, SUM(l.quantity_ordered - l.quantity_received) AS q
      FROM inventory_purchaseorderline l
      JOIN inventory_purchaseorder po ON po.id = l.purchase_order_id
     WHERE po.status IN ('approved', 'sent', 'partially_received')
       AND l.quantity_ordered > l.quantity_received
     GROUP BY l.product_id, po.warehouse_id
), in_transit AS (
    SELECT tl.product_id, t.to_warehouse_id AS warehouse_id, SUM(tl.quantity) AS q
      FROM inventory_transferline tl JOIN inventory_transfer t ON t.id = tl.transfer_id
     WHERE t.status = 'in_transit' GROUP BY tl.product_id, t.to_warehouse_id
), positions AS (
    SELECT r.product_id, r.warehouse_id, r.lead_time_days, r.reorder_point, r.safety_stock,
           r.order_up_to, r.fixed_order_quantity, r.lot_multiple, r.min_order_quantity,
           COALESCE(r.preferred_supplier_id, pr.primary_supplier_id) AS supplier_id,
           COALESCE(sp.on_hand, 0) - COALESCE(sp.reserved, 0) - COALESCE(b.q, 0)
             + COALESCE(o.q, 0) + COALESCE(t.q, 0) AS inv_position
      FROM inventory_reorderrule r
      JOIN catalog_product pr ON pr.id = r.product_id
      JOIN inventory_warehouse w ON w.id = r.warehouse_id AND w.active = {sql["true"]}
      LEFT JOIN inventory_stockposition sp
             ON sp.product_id = r.product_id AND sp.warehouse_id = r.warehouse_id
      LEFT JOIN backordered b ON b.product_id = r.product_id AND b.warehouse_id = r.warehouse_id
      LEFT JOIN on_order o ON o.product_id = r.product_id AND o.warehouse_id = r.warehouse_id
      LEFT JOIN in_transit t ON t.product_id = r.product_id AND t.warehouse_id = r.warehouse_id
     WHERE r.active = {sql["true"]}
), raw AS (
    SELECT p.*, CASE WHEN p.order_up_to IS NOT NULL THEN p.order_up_to - p.inv_position
                     ELSE p.fixed_order_quantity END AS raw_qty
      FROM positions p
     WHERE p.supplier_id IS NOT NULL
       AND p.inv_position <= {sql["greatest"]("p.reorder_point", "p.safety_stock")}
), needs AS (
    SELECT product_id, warehouse_id, supplier_id, lead_time_days,
           {sql["ceil"](sql["div"](sql["greatest"]("raw_qty", "min_order_quantity"), "lot_multiple"))}
             * lot_multiple AS qty
      FROM raw
)
"""  # noqa: S608 (dialect fragments are constants)


def _rowcount(cursor) -> int:
    # Python's sqlite3 reports -1 for statements that start with WITH; ask SQLite itself.
    if cursor.rowcount >= 0:
        return cursor.rowcount
    cursor.execute("SELECT changes()")
    return cursor.fetchone()[0]


@transaction.atomic
def reorder_scan(*, today: date | None = None) -> ReorderScanResult:
    """Create or top up draft purchase order lines for every rule at or below its reorder point."""
    today = today or timezone.localdate()
    now = timezone.now()
    sql = _dialect()
    needs = _needs_cte(sql)
    scan_draft = f"po.status = 'draft' AND po.from_reorder_scan = {sql['true']}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Two scans at once would both create the same draft: let them queue.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('inventory.reorder_scan'))")
        cursor.execute(
            f"""{needs}
INSERT INTO inventory_purchaseorder
       (supplier_id, warehouse_id, status, kind, from_reorder_scan, demand_type, demand_id, ship_to,
        expected_date, currency, created_at, updated_at)
SELECT n.supplier_id, n.warehouse_id, 'draft', 'standard', {sql["true"]}, '', '', '',
       {sql["add_days"]("%s", "MAX(n.lead_time_days)")}, 'USD', %s, %s
  FROM needs n
 WHERE NOT EXISTS (SELECT 1 FROM inventory_purchaseorder po
                    WHERE po.supplier_id = n.supplier_id AND po.warehouse_id = n.warehouse_id
                      AND {scan_draft})
 GROUP BY n.supplier_id, n.warehouse_id""",  # noqa: S608
            [today, now, now],
        )
        created = _rowcount(cursor)
        cursor.execute(
            f"""{needs}
UPDATE inventory_purchaseorderline AS l
   SET quantity_ordered = n.qty
  FROM needs n, inventory_purchaseorder po
 WHERE po.id = l.purchase_order_id AND {scan_draft}
   AND po.supplier_id = n.supplier_id AND po.warehouse_id = n.warehouse_id
   AND l.product_id = n.product_id AND l.quantity_ordered < n.qty""",  # noqa: S608
        )
        topped_up = _rowcount(cursor)
        cursor.execute(
            f"""{needs}
INSERT INTO inventory_purchaseorderline
       (purchase_order_id, product_id, quantity_ordered, quantity_received, unit_cost, expected_date)
SELECT po.id, n.product_id, n.qty, 0, NULL, {sql["add_days"]("%s", "n.lead_time_days")}
  FROM needs n
  JOIN inventory_purchaseorder po
    ON po.supplier_id = n.supplier_id AND po.warehouse_id = n.warehouse_id AND {scan_draft}
 WHERE NOT EXISTS (SELECT 1 FROM inventory_purchaseorderline l
                    WHERE l.purchase_order_id = po.id AND l.product_id = n.product_id)""",  # noqa: S608
            [today],
        )
        lines_created = _rowcount(cursor)
    return ReorderScanResult(created, lines_created, topped_up)
