"""Reads for inventory: positions, availability (ATP), low stock, the ledger check."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from django.db import connection
from django.db.models import (
    BooleanField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Product
from customers.models import DemandClass
from oms.kernel import refcache

from .atp import Timeline, visible_share
from .errors import UnknownSku
from .models import ChannelWarehouse, ReorderRule, StockPosition, Warehouse, WarehouseType


def positions_missing(*, pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (product_id, warehouse_id) pairs that have no stock position yet, in input order."""
    if not pairs:
        return []
    existing = set(
        StockPosition.objects.filter(
            product_id__in={p for p, _ in pairs}, warehouse_id__in={w for _, w in pairs}
        ).values_list("product_id", "warehouse_id")
    )
    return [pair for pair in pairs if pair not in existing]


def position_list() -> QuerySet[StockPosition]:
    """Every stock position with its product and warehouse; the list's filters are
    `inventory.filters.StockPositionFilter`."""
    return StockPosition.objects.select_related("product", "warehouse").order_by("pk")


CHANNEL_RANKINGS = "inventory.channel_warehouses"


def channel_rankings_load() -> MappingProxyType[int, tuple[int, ...]]:
    """Every channel's active warehouses, best rank first (cached: `oms.kernel.refcache`)."""
    rankings: dict[int, list[int]] = defaultdict(list)
    for channel_id, warehouse_id in (
        ChannelWarehouse.objects.filter(warehouse__active=True)
        .order_by("channel_id", "rank", "warehouse_id")
        .values_list("channel_id", "warehouse_id")
    ):
        rankings[channel_id].append(warehouse_id)
    return MappingProxyType({channel_id: tuple(ids) for channel_id, ids in rankings.items()})


def channel_warehouse_ids(*, channel_id: int) -> list[int]:
    """The channel's active warehouses, best rank first: the ranking `stock_reserve_ranked` takes.
    From the per-process cache, reloaded after a ranking or a warehouse changed."""
    return list(refcache.get(CHANNEL_RANKINGS).get(channel_id, ()))


def low_stock_positions(*, threshold: Decimal = Decimal(0)) -> QuerySet[StockPosition]:
    """Positions with no reorder rule whose available stock is at or below `threshold`:
    nobody replenishes them automatically, so a person has to look."""
    has_rule = ReorderRule.objects.filter(
        product_id=OuterRef("product_id"), warehouse_id=OuterRef("warehouse_id")
    )
    return (
        StockPosition.objects.filter(warehouse__active=True)
        .filter(~Exists(has_rule))
        .alias(available_now=F("on_hand") - F("reserved"))
        .filter(available_now__lte=threshold)
        .select_related("product", "warehouse")
        .order_by("warehouse__code", "product__sku")
    )


def ledger_mismatches() -> list[tuple[int, Decimal, Decimal]]:
    """(position id, on-hand, sum of movements) wherever they differ; one set-based query."""
    rows = (
        StockPosition.objects.annotate(ledger=Coalesce(Sum("movements__quantity"), Value(Decimal(0))))
        .exclude(on_hand=F("ledger"))
        .values_list("pk", "on_hand", "ledger")
        .order_by("pk")
    )
    return [(pk, Decimal(on_hand), Decimal(ledger)) for pk, on_hand, ledger in rows]


# --- available to promise ------------------------------------------------------------------------


@dataclass(frozen=True)
class SkuAvailability:
    sku: str
    product_id: int
    timeline: Timeline

    def available_by(self, when: date) -> Decimal:
        return self.timeline.available_by(when)

    def earliest_date(self, quantity: Decimal) -> date | None:
        return self.timeline.earliest_date(quantity)


def _as_decimal(value) -> Decimal:
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def availability(
    *,
    skus: Sequence[str],
    warehouse_id: int | None = None,
    warehouse_code: str | None = None,
    ship_to_country: str | None = None,
    demand_class: str = DemandClass.STANDARD,
    today: date | None = None,
) -> dict[str, SkuAvailability]:
    """ATP timelines for many SKUs in ONE query (a UNION ALL of products, positions, open PO
    lines, inbound transfers, open back-orders and allocation rules).

    Per warehouse when `warehouse_id` is given, else over all active stocking warehouses (in
    `ship_to_country` when given). Unknown SKUs raise `UnknownSku`.
    """
    today = today or timezone.localdate()
    wanted = list(dict.fromkeys(skus))
    if not wanted:
        return {}
    wh_conditions = ["w.active = %s", "w.type <> %s"]
    wh_params: list = [True, WarehouseType.IN_TRANSIT]
    if warehouse_id is not None:
        wh_conditions.append("w.id = %s")
        wh_params.append(warehouse_id)
    if warehouse_code is not None:
        wh_conditions.append("w.code = %s")
        wh_params.append(warehouse_code)
    if ship_to_country:
        wh_conditions.append("w.country = %s")
        wh_params.append(ship_to_country.upper())
    # Back-orders not tied to a warehouse compete for the pooled total only.
    demand_wh = (
        "d.warehouse_id IN (SELECT id FROM whs)"
        if warehouse_id is not None or warehouse_code is not None
        else "d.warehouse_id IN (SELECT id FROM whs) OR d.warehouse_id IS NULL"
    )
    sku_marks = ", ".join(["%s"] * len(wanted))
    sql = f"""
WITH wanted AS (SELECT id, sku, category_id FROM catalog_product WHERE sku IN ({sku_marks})),
whs AS (SELECT w.id FROM inventory_warehouse w WHERE {" AND ".join(wh_conditions)})
SELECT 'product', p.id, CAST(NULL AS date), CAST(NULL AS numeric), CAST(NULL AS integer), p.sku
  FROM wanted p
UNION ALL
SELECT 'now', sp.product_id, NULL, sp.on_hand - sp.reserved, NULL, NULL
  FROM inventory_stockposition sp JOIN wanted p ON p.id = sp.product_id
 WHERE sp.warehouse_id IN (SELECT id FROM whs)
UNION ALL
SELECT 'po', l.product_id, COALESCE(l.expected_date, po.expected_date),
       l.quantity_ordered - l.quantity_received, NULL, NULL
  FROM inventory_purchaseorderline l JOIN inventory_purchaseorder po ON po.id = l.purchase_order_id
  JOIN wanted p ON p.id = l.product_id
 WHERE po.status IN ('approved', 'sent', 'partially_received') AND l.quantity_ordered > l.quantity_received
   AND po.kind <> 'drop_ship' AND po.warehouse_id IN (SELECT id FROM whs)
UNION ALL
SELECT 'transfer', tl.product_id, t.expected_arrival, tl.quantity, NULL, NULL
  FROM inventory_transferline tl JOIN inventory_transfer t ON t.id = tl.transfer_id
  JOIN wanted p ON p.id = tl.product_id
 WHERE t.status = 'in_transit' AND t.to_warehouse_id IN (SELECT id FROM whs)
UNION ALL
SELECT 'demand', d.product_id, d.need_date, -d.quantity, NULL, NULL
  FROM inventory_demand d JOIN wanted p ON p.id = d.product_id
 WHERE d.status = 'open' AND ({demand_wh})
UNION ALL
SELECT 'alloc', p.id, NULL, a.share_percent,
       CASE WHEN a.product_id IS NOT NULL THEN 2 WHEN a.category_id IS NOT NULL THEN 1 ELSE 0 END,
       a.demand_class
  FROM inventory_allocationrule a JOIN wanted p
    ON a.product_id = p.id OR a.category_id = p.category_id
       OR (a.product_id IS NULL AND a.category_id IS NULL)
 WHERE a.active = %s
"""  # noqa: S608 (placeholders and constant fragments only)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*wanted, *wh_params, True])
        rows = cursor.fetchall()
    products: dict[int, str] = {}
    now: dict[int, Decimal] = defaultdict(Decimal)
    dated: dict[int, list[tuple[date | None, Decimal]]] = defaultdict(list)
    rules: dict[int, list[tuple[str, int, Decimal]]] = defaultdict(list)
    for kind, product_id, when, qty, specificity, text in rows:
        if kind == "product":
            products[product_id] = text
        elif kind == "now":
            now[product_id] += _as_decimal(qty)
        elif kind == "alloc":
            rules[product_id].append((text, int(specificity), _as_decimal(qty)))
        else:
            dated[product_id].append((_as_date(when), _as_decimal(qty)))
    unknown = [sku for sku in wanted if sku not in products.values()]
    if unknown:
        raise UnknownSku(f"Unknown SKU(s): {', '.join(unknown)}.", fields={"sku": unknown})
    return {
        sku: SkuAvailability(
            sku=sku,
            product_id=pid,
            timeline=Timeline.build(
                today=today,
                now=now[pid],
                dated=dated[pid],
                visible_share=visible_share(rules[pid], demand_class),
            ),
        )
        for pid, sku in products.items()
    }


def _one(product, warehouse, demand_class, today) -> SkuAvailability:
    sku = product if isinstance(product, str) else product.sku
    warehouse_id = warehouse.pk if isinstance(warehouse, Warehouse) else warehouse
    return availability(skus=[sku], warehouse_id=warehouse_id, demand_class=demand_class, today=today)[sku]


def available_by(
    product,
    on_date: date,
    warehouse=None,
    demand_class: str = DemandClass.STANDARD,
    today: date | None = None,
) -> Decimal:
    """How many of `product` (a Product or SKU) can be promised by `on_date`."""
    return _one(product, warehouse, demand_class, today).available_by(on_date)


def earliest_date(
    product, quantity, warehouse=None, demand_class: str = DemandClass.STANDARD, today: date | None = None
) -> date | None:
    """The first date by which `quantity` can be promised; None when supply never reaches it."""
    return _one(product, warehouse, demand_class, today).earliest_date(Decimal(quantity))


# --- lookups for the API -------------------------------------------------------------------------


def products_by_sku(*, skus: Sequence[str]) -> dict[str, int]:
    """sku -> product id for every SKU, in one query; an unknown SKU raises `UnknownSku`."""
    from catalog.models import Product

    found = dict(Product.objects.filter(sku__in=set(skus)).values_list("sku", "pk"))
    unknown = sorted(set(skus) - set(found))
    if unknown:
        raise UnknownSku(f"Unknown SKU(s): {', '.join(unknown)}.", fields={"sku": unknown})
    return found


def warehouse_by_code(*, code: str) -> Warehouse:
    from oms.kernel.exceptions import ValidationFailed

    warehouse = Warehouse.objects.filter(code=code).first()
    if warehouse is None:
        raise ValidationFailed(f"Unknown warehouse '{code}'.", fields={"warehouse": ["Unknown."]})
    return warehouse


def stock_across_warehouses(*, sku_prefix: str = "") -> QuerySet[Product]:
    """Products that have stock positions, each with its positions in every warehouse (one row
    per product; a page of them is three queries: count, products, positions)."""
    qs = (
        Product.objects.filter(Exists(StockPosition.objects.filter(product=OuterRef("pk"))))
        .prefetch_related(
            Prefetch(
                "stock_positions",
                queryset=StockPosition.objects.filter(warehouse__active=True).order_by("warehouse_id"),
                to_attr="positions",
            )
        )
        .order_by("sku")
    )
    if sku_prefix:
        qs = qs.filter(sku__startswith=sku_prefix)
    return qs


def reorder_rule_list(*, only_to_reorder: bool) -> QuerySet[ReorderRule]:
    """Active reorder rules with what their position has available (on hand less reserved; no
    position counts as nothing), and whether that is at or below the reorder point. With
    `only_to_reorder`, only those rows: what the next scan will buy."""
    available = Subquery(
        StockPosition.objects.filter(product_id=OuterRef("product_id"), warehouse_id=OuterRef("warehouse_id"))
        .annotate(free=F("on_hand") - F("reserved"))
        .values("free")[:1],
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )
    qs = (
        ReorderRule.objects.filter(active=True)
        .select_related("product", "warehouse", "preferred_supplier")
        .annotate(available_now=Coalesce(available, Value(Decimal(0)), output_field=DecimalField()))
        .annotate(
            below=ExpressionWrapper(Q(available_now__lte=F("reorder_point")), output_field=BooleanField())
        )
        .order_by("warehouse__code", "product__sku")
    )
    if only_to_reorder:
        qs = qs.filter(available_now__lte=F("reorder_point"))
    return qs
