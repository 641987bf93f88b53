"""A dry run of the submission pipeline for the staff order entry: what the order will be if it
is submitted now, before anything is written.

It runs capture's own pure stages -- line validation (units, unit precision), customer lookup,
default addresses and currency, admin defaults, pricing (manual adjustments included),
trade-compliance screening, the credit check and the approval rules -- in the order `_submit`
runs them, and stops before the first write. So the live quote prices exactly what will be
submitted and says which approval or hold the order will hit; no rule is repeated here.

Reads only: no order number is drawn, no stock reserved, no customer created (a consumer order
has no preview: staff enter orders for accounts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Max
from django.utils import timezone

from customers.models import CustomerStatus
from oms.kernel import extensions, refcache
from oms.kernel.exceptions import ValidationFailed
from oms.kernel.formatting import format_quantity
from oms.kernel.money import validate_currency
from partners.models import Channel
from pricing.engine import PriceResult

from ..actors import Actor
from ..inputs import OrderInput
from ..models import COMPLIANCE_HOLD, DefaultableField, OrderLine, SalesOrder
from ..reference import channel_order_policy
from ..states import OrderStatus
from . import capture
from .capture.stages import credit as credit_stage
from .capture.stages import customer as customer_stage
from .capture.stages import defaults as defaults_stage
from .capture.stages import lines as lines_stage
from .capture.stages import pricing as pricing_stage
from .capture.stages import screening as screening_stage

# A line or an order this many times above the customer's usual asks for a confirmation.
UNUSUAL_FACTOR = Decimal(10)


@dataclass
class CustomerDefaults:
    """What capture will use for a customer when the order leaves it blank."""

    customer: Any
    currency: str
    ship_to: dict[str, str] | None
    bill_to: dict[str, str] | None
    ship_method: str


@dataclass
class Preview:
    defaults: CustomerDefaults
    priced: PriceResult
    status: str
    approval_reasons: list[str]
    holds: list[tuple[str, str]]  # (hold code, reason)
    unusual: dict[str, list[str]] = field(default_factory=dict)  # field path -> why it is unusual
    # Line index -> what higher apps say about the line (oms.kernel.extensions: ship-and-debit).
    line_notices: dict[int, list[str]] = field(default_factory=dict)

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.unusual)


def customer_defaults(*, channel: Channel, data: OrderInput) -> CustomerDefaults:
    """The customer, currency, ship-to and bill-to that capture will use: capture's own
    customer lookup and address defaulting. Raises ValidationFailed as capture does."""
    if not data.customer.account_number.strip():
        raise ValidationFailed(
            "A customer is required.", fields={"customer.account_number": ["Pick a customer account."]}
        )
    customer, _ = customer_stage.customer_resolve(channel, data)
    try:
        currency = validate_currency(data.currency or channel.default_currency)
    except ValidationFailed:
        currency = ""
    bill_in, ship_in, _ = defaults_stage.default_addresses(customer, data)
    ship_to, bill_to = defaults_stage.normalized(ship_in), defaults_stage.normalized(bill_in)
    defaults = defaults_stage.defaults_apply(channel, (ship_to or {}).get("country", ""), data)
    return CustomerDefaults(
        customer=customer,
        currency=currency,
        ship_to=ship_to,
        bill_to=bill_to,
        ship_method=data.ship_method or defaults.get(DefaultableField.SHIP_METHOD, ""),
    )


def order_preview(*, channel: Channel, actor: Actor, data: OrderInput) -> Preview:
    """The order as capture would write it now. Raises the DomainError capture would raise."""
    with refcache.scope():
        lines_stage.lines_validate(data.lines, actor, channel)
        defaults = customer_defaults(channel=channel, data=data)
        customer = defaults.customer
        errors: dict[str, list[str]] = {}
        if customer.status == CustomerStatus.INACTIVE:
            errors["customer.account_number"] = ["The customer account is not active."]
        if not defaults.currency:
            errors["currency"] = [f"Unknown currency '{data.currency}'."]
        bill_in, ship_in, sites = defaults_stage.default_addresses(customer, data)
        errors.update(defaults_stage.address_errors(bill_in, "bill_to"))
        errors.update(defaults_stage.address_errors(ship_in, "ship_to"))
        if errors:
            raise ValidationFailed("The order is not valid.", fields=errors)
        priced = pricing_stage.price_request(
            channel=channel,
            customer=customer,
            sites=sites,
            data=data,
            currency=defaults.currency,
            ship_to=defaults.ship_to,
            ship_method=defaults.ship_method,
        )
        plan = capture.Plan()
        screening = screening_stage.screen_parties(
            customer,
            [defaults.bill_to, defaults.ship_to],
            lambda: channel_order_policy(channel).restricted_party_policy,
        )
        if screening.reject:
            raise capture.ComplianceRejected(f"Refused by trade-compliance policy: {screening.reason()}.")
        if screening.hit:
            plan.holds.append((COMPLIANCE_HOLD, f"Trade-compliance screening: {screening.reason()}.", {}))
        credit_stage.credit_check(customer, priced.totals.total, defaults.currency, plan)
        approvals = credit_stage.approvals(
            channel=channel,
            customer=customer,
            customer_created=False,
            total=priced.totals.total,
            currency=defaults.currency,
            priced=priced,
        )
    return Preview(
        defaults=defaults,
        priced=priced,
        status=OrderStatus.PENDING_APPROVAL if approvals else OrderStatus.OPEN,
        approval_reasons=approvals,
        holds=[(code, reason) for code, reason, _ in plan.holds],
        unusual=unusual_amounts(customer=customer, data=data, priced=priced),
        line_notices=extensions.line_notices(
            customer_id=customer.pk,
            on=timezone.localdate(),
            lines=[extensions.NoticeLine(lp.index, lp.product_id, lp.quantity) for lp in priced.lines],
        ),
    )


def unusual_amounts(*, customer, data: OrderInput, priced: PriceResult) -> dict[str, list[str]]:
    """Quantities and totals far above the customer's history (a fat finger: 999,999 for 9):
    a line more than UNUSUAL_FACTOR times the customer's usual line quantity, or an order total
    more than UNUSUAL_FACTOR times their largest order. A customer without history is measured
    against every customer's. Two aggregate queries."""
    history = SalesOrder.objects.filter(is_current=True).exclude(status=OrderStatus.CANCELED)
    mine = history.filter(customer=customer)
    scope = mine if mine.exists() else history
    usual_qty = OrderLine.objects.filter(order__in=scope).aggregate(q=Avg("quantity"))["q"]
    largest = scope.filter(currency=priced.currency).aggregate(t=Max("total"))["t"]
    who = "this customer's" if scope is mine else "the usual"
    found: dict[str, list[str]] = {}
    if usual_qty:
        usual = Decimal(usual_qty)
        for i, line in enumerate(data.lines):
            if line.quantity > usual * UNUSUAL_FACTOR:
                times = format_quantity((line.quantity / usual).quantize(Decimal(1)))
                found[f"lines[{i}].quantity"] = [
                    f"{times} times {who} usual line quantity "
                    f"({format_quantity(usual.quantize(Decimal('0.1')))}): confirm it is not a typing slip."
                ]
    if largest and priced.totals.total > largest * UNUSUAL_FACTOR:
        times = format_quantity((priced.totals.total / largest).quantize(Decimal(1)))
        found["total"] = [f"The total is {times} times {who} largest order: confirm before submitting."]
    return found


__all__ = ["CustomerDefaults", "Preview", "customer_defaults", "order_preview", "unusual_amounts"]
