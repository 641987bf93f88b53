"""The pricing trace of a stored order, from one engine run that also gives the charges.

The trace used to be a re-run of one line on its own, so an order-level rule ("order over
1,000") read as "skipped" for a line whose stored charges, shown just above, applied it. Now
the whole order is priced again -- every line, its manual adjustment or channel price, the
ship-to, ship method and coupons, on the order's date -- with the trace switched on, and the
charges shown beside the trace are that run's. They are compared with the stored charges: when
the rules changed since the order was priced the screen says so instead of disagreeing silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from oms.kernel.money import round_money
from pricing.engine import LineRequest, ManualAdjustment, PriceRequest, PriceResult, ShipTo, TraceEntry
from pricing.models import CouponRedemption
from pricing.services import price_quote

from .models import EventKind, OrderEvent, SalesOrder

HUNDRED = Decimal(100)
MANUAL_KINDS = ("price_override", "percent_off", "amount_off", "markup")  # pricing's vocabulary


@dataclass(frozen=True)
class LineTrace:
    line_id: int
    line_number: int
    components: list[dict]  # the run's charges, as stored breakdowns write them
    stored: list[dict]  # the order's stored charges
    entries: list[TraceEntry]  # this line's and the order's trace steps
    agrees: bool


def _component(kind: str, amount, label: str, rule) -> dict:
    return {"kind": kind, "amount": str(amount), "label": label, "rule": rule}


def _manual_value(kind: str, off: Decimal, running: Decimal, quantity: Decimal, currency: str) -> Decimal:
    """The adjustment value that makes the engine take `off` again from `running` (the engine's
    own formulas, inverted), as short as it can be written."""
    if kind == "percent_off":
        exact = off / running * HUNDRED if running else Decimal(0)
        again = lambda v: round_money(running * v / HUNDRED, currency)  # noqa: E731
    elif kind == "markup":
        exact = -off / running * HUNDRED if running else Decimal(0)
        again = lambda v: -round_money(running * v / HUNDRED, currency)  # noqa: E731
    elif kind == "price_override":
        exact = (running - off) / quantity
        again = lambda v: running - round_money(v * quantity, currency)  # noqa: E731
    else:  # amount_off
        return off
    short = exact.quantize(Decimal("0.000001")).normalize()
    return short if again(short) == off else exact


def _manual_adjustment(line, reasons: dict[int, str], currency: str) -> ManualAdjustment | None:
    """The line's manual adjustment, rebuilt from its stored charge: the kind from the charge's
    words ("Manual percent off"), the value that reproduces the amount it took off."""
    running = Decimal(0)
    for c in (line.price_breakdown or {}).get("components", []):
        amount = Decimal(c["amount"])
        if c["kind"] == "manual":
            kind = c["label"].removeprefix("Manual ").replace(" ", "_")
            if kind not in MANUAL_KINDS:
                kind = "amount_off"
            value = _manual_value(kind, -amount, running, line.quantity, currency)
            return ManualAdjustment(kind=kind, value=value, reason_code=reasons.get(line.pk, ""))
        running += amount
    return None


def order_request(order: SalesOrder, lines: list) -> PriceRequest:
    """The pricing request the order was captured with, rebuilt from what the order stores."""
    reasons = dict(
        OrderEvent.objects.filter(order=order, kind=EventKind.PRICE_OVERRIDE, line__isnull=False).values_list(
            "line_id", "reason"
        )
    )
    coupons = tuple(
        CouponRedemption.objects.filter(order_ref=order.number).values_list("coupon__code", flat=True)
    )
    ship = order.ship_to or {}
    requests = []
    for line in lines:
        source = line.price_source == "source"
        list_amount = Decimal((line.price_breakdown or {}).get("list_amount", "0"))
        requests.append(
            LineRequest(
                sku=line.product.sku,
                quantity=line.quantity,
                uom=line.uom or None,
                manual_adjustment=None if source else _manual_adjustment(line, reasons, order.currency),
                source_unit_price=(list_amount / line.quantity) if source and line.quantity else None,
            )
        )
    return PriceRequest(
        currency=order.currency,
        lines=tuple(requests),
        customer_account=order.customer.account_number or None,
        channel_code=order.channel.code,
        pricing_date=timezone.localdate(order.created_at),
        ship_to=ShipTo(ship.get("country", ""), ship.get("region", ""), ship.get("postcode", ""))
        if ship
        else None,
        ship_method=order.ship_method or None,
        coupon_codes=coupons,
    )


def order_price_trace(order: SalesOrder) -> tuple[PriceResult, list[LineTrace]]:
    """One explained engine run over the whole order, and per line its charges, the stored
    charges, its trace steps (and the order-level ones) and whether the two sets of charges
    agree. Raises the engine's DomainError when the order can no longer be priced."""
    lines = sorted(order.lines.all(), key=lambda ln: ln.line_number)
    result = price_quote(order_request(order, lines), explain=True)
    traces = []
    for line, lp in zip(lines, result.lines, strict=True):
        scope = f"line {lp.index + 1}"
        components = [_component(c.kind, c.amount, c.label, c.rule) for c in lp.components]
        stored = [
            _component(c["kind"], Decimal(c["amount"]), c["label"], c.get("rule"))
            for c in (line.price_breakdown or {}).get("components", [])
        ]
        traces.append(
            LineTrace(
                line_id=line.pk,
                line_number=line.line_number,
                components=components,
                stored=stored,
                entries=[t for t in result.trace or () if t.scope in (scope, "order")],
                agrees=components == stored and lp.total == line.line_total,
            )
        )
    return result, traces


__all__ = ["LineTrace", "order_price_trace", "order_request"]
