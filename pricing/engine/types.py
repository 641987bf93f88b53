"""What goes into the engine (a request) and what comes out (a breakdown), as frozen dataclasses.

Amounts are Decimal everywhere, in the order currency, rounded to its minor unit where the
documented boundaries say so (docs/pricing.md). `to_dict()` turns a result into JSON-ready data
with amounts as strings (never floats).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

# --- request ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShipTo:
    country: str = ""
    region: str = ""
    postcode: str = ""


@dataclass(frozen=True, slots=True)
class ManualAdjustment:
    """Staff's last word on a line: applied after the rules, before order-level discounts.

    kind: price_override (unit price), percent_off, amount_off (off the line amount), markup (percent).
    """

    kind: str
    value: Decimal
    reason_code: str


@dataclass(frozen=True, slots=True)
class LineRequest:
    sku: str
    quantity: Decimal
    uom: str | None = None  # default: the product's base unit
    manual_adjustment: ManualAdjustment | None = None
    source_unit_price: Decimal | None = None  # kept only for a channel trusted to send prices


@dataclass(frozen=True, slots=True)
class PriceRequest:
    currency: str
    lines: tuple[LineRequest, ...]
    customer_account: str | None = None  # None: anonymous consumer pricing
    channel_code: str | None = None
    pricing_date: date | None = None  # None: today
    ship_to: ShipTo | None = None  # None: the customer's primary ship-to site, if any
    ship_method: str | None = None  # None: no shipping charge
    coupon_codes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return to_data(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PriceRequest:
        ship = data.get("ship_to")
        return cls(
            currency=data["currency"],
            lines=tuple(
                LineRequest(
                    sku=line["sku"],
                    quantity=Decimal(str(line["quantity"])),
                    uom=line.get("uom"),
                    manual_adjustment=ManualAdjustment(
                        kind=line["manual_adjustment"]["kind"],
                        value=Decimal(str(line["manual_adjustment"]["value"])),
                        reason_code=line["manual_adjustment"]["reason_code"],
                    )
                    if line.get("manual_adjustment")
                    else None,
                    source_unit_price=Decimal(str(line["source_unit_price"]))
                    if line.get("source_unit_price") is not None
                    else None,
                )
                for line in data["lines"]
            ),
            customer_account=data.get("customer_account"),
            channel_code=data.get("channel_code"),
            pricing_date=date.fromisoformat(data["pricing_date"]) if data.get("pricing_date") else None,
            ship_to=ShipTo(**ship) if ship else None,
            ship_method=data.get("ship_method"),
            coupon_codes=tuple(data.get("coupon_codes") or ()),
        )


# --- result -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FxUse:
    """A conversion made: 1 base = rate quote, the rate dated valid_on (latest on or before the date)."""

    base: str
    quote: str
    rate: Decimal
    valid_on: date
    inverted: bool = False  # the stored row was quote->base; rate is its reciprocal


class Component(NamedTuple):
    """One charge component of a line. `amount` is signed: discounts are negative.

    The per-line result types are immutable NamedTuples rather than frozen dataclasses: a frozen
    dataclass costs ~3 us to build, and the engine builds one per applied rule (bench/).
    """

    kind: str  # list_price | source_price | discount | markup | manual | order_discount | shipping | tax
    amount: Decimal
    label: str
    rule: str | None = None  # the rule (or coupon, price list, tax/shipping rule) that produced it
    detail: Mapping[str, Any] | None = None  # read-only


@dataclass(frozen=True, slots=True)
class Recurring:
    period: str  # month | quarter | year
    periods: int | None  # None: until cancelled


class LinePrice(NamedTuple):
    index: int
    sku: str
    product_id: int
    quantity: Decimal
    uom: str
    charge_type: str  # one_time | recurring (then every amount is per period)
    price_list: str | None  # code, or None for a source price
    unit_list_price: Decimal  # list amount / quantity (informative, not rounded)
    list_amount: Decimal
    line_discount: Decimal  # rules + manual adjustments on this line (negative = markup)
    order_discount: Decimal  # this line's share of order-level discounts
    net: Decimal  # list_amount - line_discount - order_discount
    shipping: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal  # net + shipping + tax
    components: tuple[Component, ...]
    recurring: Recurring | None = None
    source_price: bool = False
    manual_reason_code: str | None = None
    fx: FxUse | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Totals:
    list_amount: Decimal
    line_discount: Decimal
    order_discount: Decimal
    net: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class RecurringTotals:
    period: str
    periods: int | None
    net: Decimal
    tax: Decimal
    total: Decimal  # per period
    contract_total: Decimal | None  # total x periods; None when open-ended


@dataclass(frozen=True, slots=True)
class CouponCheck:
    code: str
    valid: bool
    reason: str
    rule: str | None = None
    applied: bool = False


class TraceEntry(NamedTuple):
    scope: str  # "order" or "line 1" (1-based)
    step: str  # segment | strategy | price_list | tier | rule | coupon | manual | shipping | tax | fx
    subject: str
    outcome: str  # applied | skipped | selected | matched | not matched | ...
    reason: str


@dataclass(frozen=True, slots=True)
class PriceResult:
    currency: str
    pricing_date: date
    ruleset_version: int
    customer: str | None
    channel: str | None
    lines: tuple[LinePrice, ...]
    totals: Totals  # one-time charges
    recurring: tuple[RecurringTotals, ...]
    needs_approval: bool
    approval_reasons: tuple[str, ...]
    coupons: tuple[CouponCheck, ...]
    rates: tuple[FxUse, ...]
    shipping_rule: str | None = None
    trace: tuple[TraceEntry, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return to_data(self)


def to_data(value: Any) -> Any:
    """Dataclasses -> dicts, Decimal -> str, date -> ISO string, tuples -> lists."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_data(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # NamedTuple
        return {name: to_data(v) for name, v in zip(value._fields, value, strict=True)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    if isinstance(value, Mapping):
        return {k: to_data(v) for k, v in value.items()}
    return value
