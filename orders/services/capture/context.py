"""What the capture stages share: the order being captured, filled in stage by stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from catalog.models import Product
from customers.models import Customer, CustomerSite
from oms.kernel.exceptions import DomainError
from partners.models import Channel
from pricing.engine import PriceResult

from ...actors import Actor
from ...inputs import OrderInput
from ...models import ChannelOrderPolicy, OrderEvent, OrderHold, OrderLine, SalesOrder
from ...reference import channel_order_policy
from ...states import OrderStatus

MAX_LINES = 1000
DEMAND_TYPE = "order_line"


class ComplianceRejected(DomainError):
    status_code = 422
    code = "compliance_rejected"
    default_message = "The order cannot be accepted under trade-compliance rules."


@dataclass
class Plan:
    """What the checks decided, before the first write."""

    status: str = OrderStatus.OPEN
    holds: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (code, reason, details)
    approval_reasons: list[str] = field(default_factory=list)
    credit_amount: Decimal = Decimal(0)
    credit_currency: str = ""


@dataclass
class SubmitResult:
    order: SalesOrder
    revised_from: SalesOrder | None = None
    change_cost: Any = None  # orders.change_cost.ChangeCost of a revision


@dataclass
class Capture:
    """One capture in progress. The inputs come first; each stage fills in what it decides and
    later stages read it. Nothing here is written to the database until `persist`."""

    channel: Channel
    actor: Actor
    data: OrderInput
    # check_revision
    current: SalesOrder | None = None
    # validate_lines: products by normalized SKU, and (product id, unit) -> base units per unit
    products: dict[str, Product] = field(default_factory=dict)
    factors: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    # resolve_customer
    customer: Customer | None = None
    customer_created: bool = False
    # apply_defaults (addresses as stored: normalized, keys in the JSON column's order)
    currency: str = ""
    bill_to: dict[str, str] | None = None
    ship_to: dict[str, str] | None = None
    line_ship_tos: list[dict[str, str] | None] = field(default_factory=list)
    sites: list[CustomerSite] | None = None  # the customer's active sites, when they were read
    ship_method: str = ""
    priority: int = 5
    demand_class: str = ""
    notes: str = ""
    source_page: str = ""
    campaign: str = ""
    # price
    priced: PriceResult | None = None
    # screen, check_credit_and_approvals
    plan: Plan = field(default_factory=Plan)
    # assess_change_cost (a revision): what the change costs downstream
    change_cost: Any = None
    # supersede_current: (shipped, billed) per source line id, carried over from the revision
    shipped: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    # persist
    warehouse_ids: list[int] = field(default_factory=list)
    order: SalesOrder | None = None
    lines: list[OrderLine] = field(default_factory=list)
    holds: list[OrderHold] = field(default_factory=list)
    events: list[OrderEvent] = field(default_factory=list)  # audit rows, written by record_events
    # reserve
    backordered: list[OrderLine] = field(default_factory=list)
    # record_events
    diff: dict[str, Any] | None = None

    def policy(self) -> ChannelOrderPolicy:
        """The channel's order policy, asked only where a rule needs it (cached reference data)."""
        return channel_order_policy(self.channel)


def as_stored(value: Any) -> Any:
    """`value` with its keys in the order a JSON column gives them back (PostgreSQL's jsonb sorts
    keys by length, then bytes): the order in hand then renders byte for byte like a re-read one,
    so the capture's response needs no second trip to the database."""
    if isinstance(value, dict):
        ordered = sorted(value.items(), key=lambda item: (len(item[0].encode()), item[0].encode()))
        return {k: as_stored(v) for k, v in ordered}
    if isinstance(value, list):
        return [as_stored(v) for v in value]
    return value
