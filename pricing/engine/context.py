"""Working state of one pricing call: the per-call context and each line being priced."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from oms.kernel.money import quantum

from .snapshot import ItemFacts, PriceListFacts, PricingSnapshot, ProductFacts
from .types import Component, FxUse, LineRequest, PriceRequest, Recurring, TraceEntry

ZERO = Decimal(0)
HUNDRED = Decimal(100)
LEVELS = ("customer", "segment", "channel", "default")
LEVEL_RANK = {name: i for i, name in enumerate(LEVELS)}
MANUAL_KINDS = ("price_override", "percent_off", "amount_off", "markup")


class _Line:
    """Mutable working state of one line while pricing (frozen into a LinePrice at the end)."""

    __slots__ = (
        "base_qty",
        "charge_type",
        "components",
        "fx",
        "index",
        "item",
        "line_discount",
        "list_amount",
        "manual_reason",
        "notes",
        "order_discount",
        "price_list",
        "product",
        "qty",
        "recurring",
        "req",
        "running",
        "shipping",
        "source",
        "uom",
    )

    def __init__(self, index: int, req: LineRequest, product: ProductFacts, uom: str, zero: Decimal):
        self.index = index
        self.req = req
        self.product = product
        self.qty = req.quantity
        self.uom = uom
        self.base_qty = req.quantity
        self.components: list[Component] = []
        self.notes: list[str] = []
        self.fx: FxUse | None = None
        self.item: ItemFacts | None = None
        self.price_list: PriceListFacts | None = None
        self.list_amount = zero
        self.running = zero
        self.line_discount = zero
        self.order_discount = zero
        self.shipping = zero
        self.charge_type = "one_time"
        self.recurring: Recurring | None = None
        self.source = False
        self.manual_reason: str | None = None


class _Ctx:
    """Per-call context: the request, the snapshot, the resolved precedence, the trace."""

    def __init__(self, request: PriceRequest, snapshot: PricingSnapshot, explain: bool):
        self.req = request
        self.snap = snapshot
        self.rs = snapshot.ruleset
        self.on = snapshot.pricing_date
        self.currency = request.currency
        self.q = quantum(request.currency)
        self.zero = ZERO.quantize(self.q)  # zeros carry the currency's places too
        self.trace: list[TraceEntry] | None = [] if explain else None
        self.errors: dict[str, list[str]] = {}
        self.rates: dict[tuple[str, str], FxUse] = {}
        self.list_order: dict[int, tuple[int, ...]] = {}
        self.context_id = 0  # the rule set's id for this order's applicable rules and ranks
        self.single_level = True  # every applicable rule at one precedence level (set by _context_rules)

    def round(self, amount: Decimal) -> Decimal:
        """round_money semantics (half up to the minor unit), without its per-call lookups."""
        return amount.quantize(self.q, ROUND_HALF_UP)

    def note(self, scope: str, step: str, subject: str, outcome: str, reason: str) -> None:
        self.trace.append(TraceEntry(scope, step, subject, outcome, reason))

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def rate(self, base: str, on_missing_path: str | None = None) -> FxUse | None:
        """The dated rate base -> order currency (recorded once per pair)."""
        if base == self.currency:
            return None
        key = (base, self.currency)
        fx = self.rates.get(key)
        if fx is None:
            fx = self.rs.rates.lookup(base, self.currency, self.on)
            if fx is None:
                if on_missing_path:
                    self.error(
                        on_missing_path,
                        f"No exchange rate from {base} to {self.currency} on or before {self.on}.",
                    )
                return None
            self.rates[key] = fx
            if self.trace is not None:
                self.note(
                    "order",
                    "fx",
                    f"{base}->{self.currency}",
                    "used",
                    f"1 {base} = {fx.rate} {self.currency}, rate of {fx.valid_on}"
                    + (" (reciprocal of the stored reverse rate)" if fx.inverted else ""),
                )
        return fx

    def in_currency(self, amount: Decimal, currency: str) -> Decimal | None:
        """An amount in `currency` expressed in the order currency (exact; callers round)."""
        if not currency or currency == self.currency:
            return amount
        fx = self.rate(currency)
        return None if fx is None else amount * fx.rate
