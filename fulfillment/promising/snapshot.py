"""What promising reads, in as few statements as possible.

`supply_load` is the hot path: ONE statement (a UNION ALL) returns the products asked about, every
facility, their stock now, open PO lines, transfers in flight, open back-orders, the capacity
already taken from today on, and a signature of the reference data (rules, sources, capacity
calendars, allocation shares). Being one statement, it is one consistent picture.

The reference data (`Reference`: rules indexed for matching, capacity calendars, allocation) is
kept in memory per process and rebuilt when the signature moves. A rebuild reads everything, with
its own signature, in one statement (never a half-changed rule set) and runs in one thread at a time;
while it runs, other readers keep answering from the previous reference (`reference_for`), so
promising never waits on a refresh. Facilities come with every supply read, so a warehouse turned
inactive is seen at once.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal

from django.db import connection

from .engine import Allocation, Facility, ProductInfo, Reference, Rule, Source, Supply

_SIGNATURE_EXPR = """
  (SELECT CAST(count(*) AS varchar) || '/' || COALESCE(CAST(max(updated_at) AS varchar), '')
     FROM fulfillment_sourcingrule) || '|' ||
  (SELECT CAST(count(*) AS varchar) || '/' || CAST(COALESCE(max(id), 0) AS varchar) || '/'
          || CAST(COALESCE(sum(transit_days + lead_time_days), 0) AS varchar) || '/'
          || CAST(COALESCE(sum(shipping_cost + transfer_cost + unit_cost), 0) AS varchar)
     FROM fulfillment_sourcingrulesource) || '|' ||
  (SELECT CAST(count(*) AS varchar) || '/' || COALESCE(CAST(max(updated_at) AS varchar), '')
     FROM fulfillment_facilitycapacity) || '|' ||
  (SELECT CAST(count(*) AS varchar) || '/' || CAST(COALESCE(max(id), 0) AS varchar) || '/'
          || CAST(COALESCE(sum(share_percent), 0) AS varchar) || '/'
          || CAST(COALESCE(sum(release_days_before_receipt), 0) AS varchar) || '/'
          || CAST(COALESCE(sum(CASE WHEN active THEN 1 ELSE 0 END), 0) AS varchar)
     FROM inventory_allocationrule)
"""
_SIGNATURE_SQL = f"SELECT 'sig', NULL, NULL, CAST(NULL AS date), CAST(NULL AS numeric), {_SIGNATURE_EXPR}"


def _d(value) -> Decimal:
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def supply_load(*, skus: Sequence[str], today: date) -> tuple[Supply, dict[int, tuple], str]:
    """(supply of `skus`, facilities by id as raw tuples, reference signature) in one statement."""
    wanted = list(dict.fromkeys(skus)) or [""]
    marks = ", ".join(["%s"] * len(wanted))
    sql = f"""
WITH wanted AS (SELECT id, sku, category_id, active FROM catalog_product WHERE sku IN ({marks}))
SELECT 'product', p.id, p.category_id, CAST(NULL AS date), CAST(NULL AS numeric),
       p.sku || '|' || CASE WHEN p.active THEN '1' ELSE '0' END
  FROM wanted p
UNION ALL
SELECT 'wh', w.id, NULL, NULL, NULL,
       w.code || '|' || w.type || '|' || CASE WHEN w.active THEN '1' ELSE '0' END || '|' || w.working_days
  FROM inventory_warehouse w
UNION ALL
SELECT 'now', sp.product_id, sp.warehouse_id, NULL, sp.on_hand - sp.reserved, NULL
  FROM inventory_stockposition sp JOIN wanted p ON p.id = sp.product_id
UNION ALL
SELECT 'in', l.product_id, po.warehouse_id, COALESCE(l.expected_date, po.expected_date),
       l.quantity_ordered - l.quantity_received, NULL
  FROM inventory_purchaseorderline l JOIN inventory_purchaseorder po ON po.id = l.purchase_order_id
  JOIN wanted p ON p.id = l.product_id
 WHERE po.status IN ('approved', 'sent', 'partially_received') AND l.quantity_ordered > l.quantity_received
   AND po.kind <> 'drop_ship'
UNION ALL
SELECT 'in', tl.product_id, t.to_warehouse_id, t.expected_arrival, tl.quantity, NULL
  FROM inventory_transferline tl JOIN inventory_transfer t ON t.id = tl.transfer_id
  JOIN wanted p ON p.id = tl.product_id
 WHERE t.status = 'in_transit'
UNION ALL
SELECT 'out', d.product_id, d.warehouse_id, d.need_date, -d.quantity, NULL
  FROM inventory_demand d JOIN wanted p ON p.id = d.product_id
 WHERE d.status = 'open' AND d.warehouse_id IS NOT NULL
UNION ALL
SELECT 'cap', u.warehouse_id, u.lines, u.day, u.units, CAST(u.orders AS varchar)
  FROM fulfillment_capacityusage u WHERE u.day >= %s
UNION ALL
{_SIGNATURE_SQL}
"""  # noqa: S608 (placeholders and constant fragments only)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*wanted, today])
        rows = cursor.fetchall()
    supply = Supply()
    facilities: dict[int, tuple] = {}
    signature = ""
    for kind, a, b, when, qty, text in rows:
        if kind == "product":
            sku, active = text.rsplit("|", 1)
            supply.products[sku] = ProductInfo(a, sku, b, active == "1")
        elif kind == "wh":
            code, wtype, active, days = text.split("|")
            facilities[a] = (code, wtype, active == "1", frozenset(int(c) for c in days))
        elif kind == "now":
            supply.now[(a, b)] = supply.now.get((a, b), Decimal(0)) + _d(qty)
        elif kind in ("in", "out"):
            supply.dated[(a, b)].append((_date(when), _d(qty)))
        elif kind == "cap":
            supply.used[(a, _date(when))] = (int(b), int(text), _d(qty))
        else:
            signature = text or ""
    return supply, facilities, signature


# --- the reference cache ----------------------------------------------------------------------------


class _ReferenceCache:
    def __init__(self) -> None:
        self.current: Reference | None = None
        self.lock = threading.Lock()

    def get(self, signature: str) -> Reference:
        current = self.current
        if current is not None and current.signature == signature:
            return current
        if current is not None and not self.lock.acquire(blocking=False):
            return current  # someone is rebuilding: answer from the previous consistent picture
        if current is None:
            self.lock.acquire()
        try:
            if self.current is not None and self.current.signature == signature:
                return self.current
            fresh = reference_load()
            self.current = fresh  # one assignment: readers see the old or the new, never a mix
            return fresh
        finally:
            self.lock.release()

    def clear(self) -> None:
        self.current = None


REFERENCE_CACHE = _ReferenceCache()


_REFERENCE_SQL = f"""
SELECT 'src', r.id, r.product_id, r.category_id, s.warehouse_id, s.rank, s.transit_days, s.lead_time_days,
       r.effective_from, r.effective_to, r.min_split_quantity, s.shipping_cost, s.transfer_cost, s.unit_cost,
       r.name, r.country, r.region, r.postcode_from, r.postcode_to, r.ranking
  FROM fulfillment_sourcingrule r JOIN fulfillment_sourcingrulesource s ON s.rule_id = r.id
 WHERE r.active = %s
UNION ALL
SELECT 'cap', c.warehouse_id, c.daily_limit, NULL, NULL, NULL, NULL, NULL, c.valid_from, c.valid_to,
       NULL, NULL, NULL, NULL, c.unit, NULL, NULL, NULL, NULL, NULL
  FROM fulfillment_facilitycapacity c
UNION ALL
SELECT 'alloc', a.product_id, a.category_id, a.release_days_before_receipt, NULL, NULL, NULL, NULL,
       NULL, NULL, a.share_percent, NULL, NULL, NULL, a.demand_class, NULL, NULL, NULL, NULL, NULL
  FROM inventory_allocationrule a WHERE a.active = %s
UNION ALL
SELECT 'sig', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       {_SIGNATURE_EXPR}, NULL, NULL, NULL, NULL, NULL
"""  # noqa: S608 (constant fragments only)


def reference_load() -> Reference:
    """Rules with their sources, capacity calendars, allocation shares and the signature they
    carry, in ONE statement: one consistent picture, never a half-changed rule set."""
    with connection.cursor() as cursor:
        cursor.execute(_REFERENCE_SQL, [True, True])
        rows = cursor.fetchall()
    rules: dict[int, dict] = {}
    sources: dict[int, list[Source]] = defaultdict(list)
    capacity: dict[int, list] = defaultdict(list)
    allocation, signature = [], ""
    for row in rows:
        kind = row[0]
        if kind == "src":
            (_, rid, product_id, category_id, wid, rank, transit, lead, eff_from, eff_to, min_split,
             ship, transfer, unit, name, country, region, pc_from, pc_to, ranking) = row  # fmt: skip
            sources[rid].append(Source(wid, rank, transit, lead, _d(ship), _d(transfer), _d(unit)))
            rules[rid] = {
                "id": rid, "name": name, "country": country.upper(), "region": region.upper(),
                "postcode_from": pc_from.upper().replace(" ", ""),
                "postcode_to": pc_to.upper().replace(" ", ""),
                "product_id": product_id, "category_id": category_id, "effective_from": _date(eff_from),
                "effective_to": _date(eff_to), "ranking": ranking, "min_split": _d(min_split),
            }  # fmt: skip
        elif kind == "cap":
            capacity[row[1]].append((_date(row[8]), _date(row[9]), row[14], int(row[2])))
        elif kind == "alloc":
            allocation.append(Allocation(row[1], row[2], row[14], _d(row[10]), row[3]))
        else:
            signature = row[14] or ""
    built = [
        Rule(sources=tuple(sorted(sources[rid], key=lambda s: s.rank)), **fields)
        for rid, fields in rules.items()
    ]
    facilities = [
        Facility(wid, "", capacity=tuple(sorted(cal, key=lambda c: c[0]))) for wid, cal in capacity.items()
    ]
    return Reference.build(rules=built, facilities=facilities, allocation=allocation, signature=signature)


def reference_for(*, supply_facilities: dict[int, tuple], signature: str) -> Reference:
    """The cached reference, with the facilities as this very read saw them (active, type)."""
    ref = REFERENCE_CACHE.get(signature)
    facilities = {}
    for wid, (code, wtype, active, days) in supply_facilities.items():
        cal = ref.facilities.get(wid)
        facilities[wid] = Facility(
            wid, code, wtype, active, days, capacity=cal.capacity if cal is not None else ()
        )
    return replace(ref, facilities=facilities)
