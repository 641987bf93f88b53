"""Cost of change: what a revision undoes downstream, priced by the admin's rules.

Registered as orders' change-cost assessor (`orders.change_cost`, from `FulfillmentConfig.ready`),
so a revision from a channel or a staff edit learns its cost before it is accepted. Reads only,
in a constant number of queries whatever the number of lines: the rules, the policy, the
order's open fulfillment lines with their purchase orders, their open shipment requests.

How a revision lands on fulfillment (`changes.order_revision_apply`) decides what is priced: a
lowered line shrinks its last open slices first (the earlier ones keep their quantity), and a
slice that shrinks to nothing is canceled. For each slice that changes:
- an open shipment request (requested, picked, packed) is canceled at the warehouse (and made
  again for a smaller quantity): `shipment_request_cancel`, per unit lowered;
- goods already picked or packed go back to stock: `restocking_fee`;
- a purchase order sent to the supplier is changed (`purchase_order_change`) or, for a slice
  that goes, canceled (`purchase_order_cancel`);
and for the order: a shipping charge that rises with the change (a free-shipping threshold no
longer met) is a `lost_shipping_discount`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, Q
from django.utils import timezone

from inventory.states import PurchaseOrderStatus
from oms.kernel.exceptions import NotFound
from oms.kernel.money import convert, round_money
from orders.change_cost import ChangeCost, ChangeRequest, CostItem
from pricing.selectors import exchange_rate_on

from ..cost_rules import ChangeCostPolicy, ChangeCostRule
from ..models import FulfillmentLine, ShipmentLine
from ..states import (
    FL_SHIPPED_OR_LATER,
    SHIPMENT_CANCELABLE,
    ChangeCostKind,
    FulfillmentLineStatus,
    ShipmentStatus,
)

K = ChangeCostKind
OPEN_PURCHASE = (
    PurchaseOrderStatus.APPROVED,
    PurchaseOrderStatus.SENT,
    PurchaseOrderStatus.PARTIALLY_RECEIVED,
)
PICKED = (ShipmentStatus.PICKED, ShipmentStatus.PACKED)


@dataclass
class Pricer:
    """The active rules by kind, priced into one currency (rates read once per currency)."""

    currency: str
    rules: dict[str, list[ChangeCostRule]]
    notes: list[str] = field(default_factory=list)
    _rates: dict[str, Decimal | None] = field(default_factory=dict)

    @classmethod
    def load(cls, currency: str) -> Pricer:
        rules: dict[str, list[ChangeCostRule]] = defaultdict(list)
        for rule in ChangeCostRule.objects.filter(active=True).order_by("kind", "pk"):
            rules[rule.kind].append(rule)
        return cls(currency=currency, rules=rules)

    def rate(self, currency: str) -> Decimal | None:
        if currency == self.currency:
            return Decimal(1)
        if currency not in self._rates:
            try:
                rate = exchange_rate_on(base=currency, quote=self.currency, on=timezone.localdate()).rate
            except NotFound:
                rate = None
                self.notes.append(
                    f"No exchange rate {currency}->{self.currency}: rules in {currency} left out."
                )
            self._rates[currency] = rate
        return self._rates[currency]

    def items(
        self,
        kind: str,
        *,
        units: Decimal = Decimal(0),
        value: Decimal = Decimal(0),
        warehouse_id: int | None = None,
        source_line_id: str = "",
        reference: str = "",
        what: str = "",
    ) -> list[CostItem]:
        """What every active rule of `kind` (for this warehouse or any) charges."""
        out = []
        for rule in self.rules.get(kind, ()):
            if rule.warehouse_id is not None and rule.warehouse_id != warehouse_id:
                continue
            rate = self.rate(rule.currency)
            if rate is None:
                continue
            amount = convert(rule.fixed_amount + rule.per_unit_amount * units, rate, self.currency)
            amount += round_money(value * rule.percent_of_value / Decimal(100), self.currency)
            if amount <= 0:
                continue
            label = f"{rule.name}: {what}" if what else rule.name
            out.append(
                CostItem(
                    kind=kind, label=label, amount=amount, source_line_id=source_line_id, reference=reference
                )
            )
        return out


def _open_slices(order_number: str) -> dict[str, list[FulfillmentLine]]:
    lines = (
        FulfillmentLine.objects.filter(order_number=order_number)
        .exclude(status__in=[*FL_SHIPPED_OR_LATER, FulfillmentLineStatus.CANCELED])
        .select_related("purchase_order")
        .prefetch_related(
            Prefetch(
                "shipment_lines",
                queryset=ShipmentLine.objects.filter(shipment__status__in=SHIPMENT_CANCELABLE)
                .select_related("shipment")
                .order_by("-pk"),
                to_attr="open_requests",
            )
        )
        .order_by("pk")
    )
    by_source: dict[str, list[FulfillmentLine]] = defaultdict(list)
    for line in lines:
        by_source[line.source_line_id].append(line)
    return by_source


def slice_undo_items(
    pricer: Pricer, line: FulfillmentLine, *, units: Decimal, price: Decimal, goes: bool
) -> list[CostItem]:
    """What undoing `units` of one open slice costs at its current state (`goes`: the whole
    slice is canceled). Needs `line.open_requests` (see `_open_slices`)."""
    items: list[CostItem] = []
    value = units * price
    sid = line.source_line_id
    request = line.open_requests[0] if getattr(line, "open_requests", None) else None
    if request is not None:
        shipment = request.shipment
        items += pricer.items(
            K.SHIPMENT_REQUEST_CANCEL,
            units=units,
            value=value,
            warehouse_id=shipment.warehouse_id,
            source_line_id=sid,
            reference=shipment.number,
            what=f"shipment request {shipment.number} ({shipment.get_status_display().lower()})",
        )
        if shipment.status in PICKED:
            items += pricer.items(
                K.RESTOCKING_FEE,
                units=units,
                value=value,
                warehouse_id=shipment.warehouse_id,
                source_line_id=sid,
                reference=shipment.number,
                what=f"{units.normalize():f} {shipment.get_status_display().lower()} at the warehouse",
            )
    po = line.purchase_order
    if po is not None and po.status in OPEN_PURCHASE:
        items += pricer.items(
            K.PURCHASE_ORDER_CANCEL if goes else K.PURCHASE_ORDER_CHANGE,
            units=units,
            value=value,
            warehouse_id=po.warehouse_id,
            source_line_id=sid,
            reference=po.number,
            what=f"{po.number} ({po.get_status_display().lower()})",
        )
    return items


def _policy(channel_id: int) -> ChangeCostPolicy | None:
    found = {
        p.channel_id: p
        for p in ChangeCostPolicy.objects.filter(Q(channel_id=channel_id) | Q(channel__isnull=True))
    }
    return found.get(channel_id) or found.get(None)


def change_cost_of(request: ChangeRequest) -> ChangeCost:
    """The cost of revising the order as `request` says, at the current state of fulfillment."""
    pricer = Pricer.load(request.currency)
    items: list[CostItem] = []
    slices = _open_slices(request.order_number)
    for change in request.lines:
        lowered = change.lowered_by
        if lowered <= 0:
            continue
        # The last open slices shrink first, as the revision will apply it.
        for line in reversed(slices.get(change.source_line_id, [])):
            if lowered <= 0:
                break
            units = min(lowered, line.quantity)
            items += slice_undo_items(
                pricer, line, units=units, price=change.unit_net_price, goes=units >= line.quantity
            )
            lowered -= units
    rise = request.shipping_after - request.shipping_before
    if rise > 0:
        items += pricer.items(
            K.LOST_SHIPPING_DISCOUNT,
            value=rise,
            what=f"shipping rises by {rise} {request.currency}",
        )
    total = round_money(sum((i.amount for i in items), Decimal(0)), request.currency)
    reasons: list[str] = []
    refusal = ""
    policy = _policy(request.channel_id) if total > 0 else None
    if policy is not None:
        rate = Decimal(1)
        if policy.currency != request.currency:
            try:
                rate = exchange_rate_on(
                    base=request.currency, quote=policy.currency, on=timezone.localdate()
                ).rate
            except NotFound:
                rate = None
        if rate is None:
            reasons.append(
                f"Cost of change {total} {request.currency}: "
                f"no exchange rate to {policy.currency} to check it."
            )
        else:
            in_policy = convert(total, rate, policy.currency)
            if policy.refusal_threshold is not None and in_policy > policy.refusal_threshold:
                refusal = (
                    f"The change would cost {total} {request.currency}, over the limit of "
                    f"{round_money(policy.refusal_threshold, policy.currency)} {policy.currency}: "
                    "it is refused."
                )
            elif in_policy > policy.approval_threshold:
                reasons.append(
                    f"Cost of change {total} {request.currency} over the threshold of "
                    f"{round_money(policy.approval_threshold, policy.currency)} {policy.currency}."
                )
    return ChangeCost(
        currency=request.currency,
        total=total,
        items=tuple(items),
        approval_reasons=tuple(reasons),
        refusal=refusal,
        notes=tuple(pricer.notes),
    )
