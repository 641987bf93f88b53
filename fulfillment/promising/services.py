"""Promising use cases: promise an order draft, list what-if options (writing nothing), choose one
(reserving exactly it, or refusing a stale option with fresh ones), consume facility capacity, and
record a fulfillment line's promise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone

from inventory.errors import WarehouseInactive
from inventory.services import ReserveLine, backorder_create, stock_reserve
from oms.kernel.exceptions import Conflict, InsufficientStock, ValidationFailed

from .engine import Destination, LineRequest, Mode, OrderPromise, Piece, Promiser, Rule
from .snapshot import reference_for, supply_load

MAX_HORIZON_DAYS = 3650  # a need date further out cannot be promised (nor added to)
OPTION_KINDS = ("best", "single", "split", "fastest", "cheapest", "drop_ship")
OPTION_LABELS = {
    "best": "On time from the best source",
    "single": "One source (perhaps later)",
    "split": "Split across sources",
    "fastest": "Fastest",
    "cheapest": "Cheapest",
    "drop_ship": "Drop ship from the supplier",
}


@dataclass(frozen=True)
class PromiseDraft:
    ship_to: dict
    lines: Sequence[LineRequest]
    demand_class: str = "standard"
    fallback: Rule | None = None
    today: date | None = None


@dataclass
class Promised:
    draft: PromiseDraft
    options: list[OrderPromise] = field(default_factory=list)


class StaleOption(Conflict):
    code = "stale_option"
    default_message = "That option can no longer be kept; here are fresh ones."

    def __init__(self, message: str | None = None, *, options: list[OrderPromise]):
        super().__init__(message)
        self.options = options


def lines_validate(raw: Sequence[dict]) -> list[LineRequest]:
    """Input lines -> requests; a zero or missing quantity is refused naming the line."""
    errors: dict[str, list[str]] = {}
    out = []
    for i, ln in enumerate(raw):
        try:
            qty = Decimal(str(ln.get("quantity")))
        except (InvalidOperation, ValueError):
            qty = Decimal(0)
        if not qty.is_finite() or qty <= 0:
            errors[f"lines[{i}].quantity"] = ["Enter a quantity above zero."]
            continue
        need = ln.get("need_date")
        if need is not None and need > timezone.localdate() + timedelta(days=MAX_HORIZON_DAYS):
            errors[f"lines[{i}].need_date"] = [f"At most {MAX_HORIZON_DAYS} days ahead."]
            continue
        out.append(
            LineRequest(
                key=str(ln.get("key") or i + 1),
                sku=str(ln.get("sku", "")),
                quantity=qty,
                need_date=ln.get("need_date"),
                unit_price=Decimal(str(ln.get("unit_price") or 0)),
                ship_set=ln.get("ship_set", "") or "",
                arrival_set=ln.get("arrival_set", "") or "",
                allow_split=bool(ln.get("allow_split", True)),
            )
        )
    if errors:
        raise ValidationFailed("Some lines cannot be promised.", fields=errors)
    return out


def _promiser(draft: PromiseDraft, strategy: str, *, allow_drop_ship: bool = True) -> tuple[Promiser, dict]:
    today = draft.today or timezone.localdate()
    supply, facilities, signature = supply_load(skus=[ln.sku for ln in draft.lines], today=today)
    unknown = {
        f"lines[{i}].sku": [f"Unknown SKU {ln.sku!r}."]
        for i, ln in enumerate(draft.lines)
        if ln.sku not in supply.products or not supply.products[ln.sku].active
    }
    if unknown:
        raise ValidationFailed("Some lines name an unknown product.", fields=unknown)
    reference = reference_for(supply_facilities=facilities, signature=signature)
    promiser = Promiser(
        reference=reference,
        supply=supply,
        today=today,
        destination=Destination.of(draft.ship_to),
        demand_class=draft.demand_class,
        strategy=strategy,
        fallback=draft.fallback,
        allow_drop_ship=allow_drop_ship,
    )
    return promiser, facilities


def order_promise(
    *, draft: PromiseDraft, strategy: str = "best", allow_drop_ship: bool = True
) -> OrderPromise:
    """Promise every line of `draft` (one read of supply; nothing written)."""
    promiser, _ = _promiser(draft, strategy, allow_drop_ship=allow_drop_ship)
    return promiser.promise(draft.lines)


def promise_options(*, draft: PromiseDraft, limit: int = 6) -> list[OrderPromise]:
    """Up to `limit` distinct options (best, single source, split, fastest, cheapest, drop ship),
    from ONE read of supply: each option starts from the same picture. Writes nothing."""
    promiser, _ = _promiser(draft, "best")
    seen, options = set(), []
    for kind in OPTION_KINDS:
        fresh = Promiser(
            reference=promiser.ref,
            supply=promiser.supply,
            today=promiser.today,
            destination=promiser.dest,
            demand_class=promiser.demand_class,
            strategy=kind,
            fallback=promiser.fallback,
        )
        option = fresh.promise(draft.lines)
        if any(ln.parked for ln in option.lines) and kind != "best":
            continue
        if option.option_id in seen:
            continue
        seen.add(option.option_id)
        options.append(option)
        if len(options) >= limit:
            break
    return options


def option_choose(*, draft: PromiseDraft, option_id: str, reference: str) -> tuple[OrderPromise, list[int]]:
    """Reserve exactly the option `option_id`: its stock pieces under row locks (all or nothing),
    its back-ordered pieces as dated demand, its capacity. An option that is no longer offered
    (a source went inactive, the stock went elsewhere) is refused with fresh options."""
    options = promise_options(draft=draft)
    chosen = next((o for o in options if o.option_id == option_id), None)
    if chosen is None:
        raise StaleOption(options=options)
    try:
        with transaction.atomic():
            reservation_ids = _reserve_option(chosen, draft, reference)
    except (InsufficientStock, WarehouseInactive):
        raise StaleOption(options=promise_options(draft=draft)) from None
    return chosen, reservation_ids


def _reserve_option(option: OrderPromise, draft: PromiseDraft, reference: str) -> list[int]:
    skus = {ln.key: ln.sku for ln in draft.lines}
    from catalog.models import Product

    ids = dict(Product.objects.filter(sku__in=set(skus.values())).values_list("sku", "pk"))
    stock, backorders, pieces = [], [], []
    for ln in option.lines:
        for n, p in enumerate(ln.pieces):
            pieces.append(p)
            demand_id = f"{reference}:{ln.key}:{n}"
            if p.mode in (Mode.WAREHOUSE, Mode.STORE):
                stock.append(
                    ReserveLine(
                        product_id=ids[skus[ln.key]],
                        warehouse_id=p.warehouse_id,
                        quantity=p.quantity,
                        demand_type="promise",
                        demand_id=demand_id,
                        demand_class=draft.demand_class,
                        need_date=p.ship_date,
                    )
                )
            elif p.mode == Mode.BACKORDER:
                backorders.append((ids[skus[ln.key]], p, demand_id))
    result = stock_reserve(lines=stock)
    for product_id, p, demand_id in backorders:
        backorder_create(
            demand_type="promise",
            demand_id=demand_id,
            product_id=product_id,
            warehouse_id=p.warehouse_id,
            quantity=p.quantity,
            demand_class=draft.demand_class,
            need_date=p.ship_date,
        )
    capacity_consume(pieces=pieces)
    return [r.pk for r in result.reservations if r is not None]


def capacity_consume(*, pieces: Sequence[Piece]) -> None:
    """Add the pieces to their facilities' daily usage, one statement for all of them (only
    facilities with a capacity calendar are counted)."""
    from .models import FacilityCapacity

    if not pieces:
        return
    counted = set(
        FacilityCapacity.objects.filter(warehouse_id__in={p.warehouse_id for p in pieces}).values_list(
            "warehouse_id", flat=True
        )
    )
    totals: dict[tuple[int, date], list] = {}
    for p in pieces:
        if p.warehouse_id not in counted:
            continue
        slot = totals.setdefault((p.warehouse_id, p.ship_date), [0, 1, Decimal(0)])
        slot[0] += 1
        slot[2] += p.quantity
    if not totals:
        return
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(totals))
    params: list = []
    for (wid, day), (lines, orders, units) in sorted(totals.items()):
        params += [wid, day, lines, orders, units]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
INSERT INTO fulfillment_capacityusage (warehouse_id, day, lines, orders, units)
VALUES {values}
ON CONFLICT (warehouse_id, day) DO UPDATE
   SET lines = fulfillment_capacityusage.lines + EXCLUDED.lines,
       orders = fulfillment_capacityusage.orders + EXCLUDED.orders,
       units = fulfillment_capacityusage.units + EXCLUDED.units""",  # noqa: S608 (placeholders only)
            params,
        )


def option_as_dict(option: OrderPromise) -> dict:
    return {
        "option_id": option.option_id,
        "kind": option.kind,
        "label": OPTION_LABELS.get(option.kind, option.kind),
        "promised_date": option.promised_date.isoformat() if option.promised_date else None,
        "cost": f"{option.cost:f}",
        "lines": [
            {
                "key": ln.key,
                "sku": ln.sku,
                "quantity": f"{ln.quantity:f}",
                "rule": ln.rule_name,
                "promised_date": ln.promised_date.isoformat() if ln.promised_date else None,
                "parked_quantity": f"{ln.parked:f}",
                "pieces": [p.as_dict() for p in ln.pieces],
                "trace": ln.trace,
            }
            for ln in option.lines
        ],
    }
