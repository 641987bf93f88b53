"""A month of orders, captured through the real pipeline (pricing, checks, reservations, events),
then fulfilled through the real services as the workers would have (demo/seed/fulfillment.py),
and back-dated so the dashboard shows the month:

- history: orders every day of the last 30 across every channel; those older than a few days are
  shipped, invoiced and closed (the older invoices paid: demo/seed/billing.py), the recent ones
  are still open for the workers to fulfil;
- one order in each state and exception the OMS handles: waiting for approval, credit hold,
  compliance hold, a manual hold, back-ordered with a purchase order on the way, a failed step
  needing attention, a partial shipment, and a failing webhook;
- the order policies behind them: manual hold codes, an approval rule, a restricted party.

Keyed on the source order id: a second run captures nothing and says 0 new. Back-dating moves
only the orders this run created.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Case, F, Value, When
from django.utils import timezone

from billing.models import Invoice
from catalog.models import Product, ProductType
from customers.models import Customer, CustomerKind, CustomerStatus
from fulfillment.models import FulfillmentEvent, ProductSupply, Shipment, StepInstance
from fulfillment.states import FulfillmentMode, StepStatus
from inventory.models import Demand, PurchaseOrder, StockPosition
from inventory.services import purchase_order_transition, reorder_scan
from inventory.states import DemandStatus, PurchaseOrderStatus
from oms.kernel.exceptions import DomainError
from orders.actors import Actor
from orders.inputs import AddressInput, CustomerInput, LineInput, OrderInput
from orders.models import ApprovalRule, ApprovalRuleKind, HoldCode, OrderEvent, RestrictedParty, SalesOrder
from orders.services import hold_apply, order_submit
from partners.models import Channel, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from partners.services import webhook_deliver
from pricing.models import PriceList, PriceListItem
from pricing.snapshot import ruleset_version_bump

from . import billing, fulfillment
from .base import SEED, Context

HISTORY_DAYS = 30
# Orders of the last few days are still open (the workers pick them up); older ones are closed.
OPEN_DAYS = 4
CHANNEL_ORDER = ["web", "pos", "call_center", "field_sales", "marketplace", "import"]

MANUAL_HOLD_CODES = [
    # code, name, who applies, who releases
    ("address-check", "Check the ship-to address", ["order_desk"], ["order_desk"]),
    ("payment-check", "Payment check", ["order_desk", "finance"], ["finance"]),
    ("customer-request", "Customer asked us to wait", ["order_desk"], ["order_desk"]),
]
APPROVAL_THRESHOLD_USD = Decimal("10000")
RESTRICTED_PARTY = "Red Delta Trading"
DEAD_WEBHOOK_URL = "http://127.0.0.1:9/erp/oms-events"  # nothing listens: every delivery fails
SPECIAL_ORDER_SKU = "SPC-ORD-9001"
LANDING_PAGES = ("/", "/tools/power-drills", "/deals/spring", "/brands/makita", "/search")
CAMPAIGNS = ("", "spring-sale", "newsletter-12", "retargeting", "")


@dataclass
class Placed:
    number: str
    days_ago: int


def orders(ctx: Context, products: list[Product]) -> None:
    policies(ctx, products)
    stocked = [p for p in products if p.product_type == ProductType.GOODS and p.active]
    accounts = list(
        Customer.objects.filter(
            kind=CustomerKind.B2B,
            status=CustomerStatus.ACTIVE,
            credit_currency="USD",
            credit_limit__gte=Decimal("25000"),
        )
        .order_by("account_number")
        .values_list("account_number", flat=True)
    )
    channels = {c.code: c for c in Channel.objects.filter(code__in=CHANNEL_ORDER)}
    if not stocked or not accounts or len(channels) < len(CHANNEL_ORDER):
        return
    placed = _history(ctx, stocked, accounts, channels)
    _fulfil_history(ctx, placed)
    billing.payments(ctx, {p.number: p.days_ago for p in placed})
    _exceptions(ctx, stocked, channels)
    _backdate(placed)


# --- the rules the exceptions come from ------------------------------------------------------------


def policies(ctx: Context, products: list[Product]) -> None:
    """Manual hold codes (so "Apply hold" has choices), an approval rule, a restricted party, a
    special-order product whose supplier is unknown, and an ERP webhook that does not answer."""
    before = (
        HoldCode.objects.filter(is_system=False).count()
        + ApprovalRule.objects.count()
        + RestrictedParty.objects.count()
        + WebhookEndpoint.objects.count()
        + ProductSupply.objects.count()
    )
    for code, name, apply_roles, release_roles in MANUAL_HOLD_CODES:
        HoldCode.objects.get_or_create(
            code=code, defaults={"name": name, "apply_roles": apply_roles, "release_roles": release_roles}
        )
    ApprovalRule.objects.get_or_create(
        name=f"Orders over {APPROVAL_THRESHOLD_USD:,.0f} USD",
        defaults={
            "kind": ApprovalRuleKind.TOTAL_OVER,
            "threshold": APPROVAL_THRESHOLD_USD,
            "threshold_currency": "USD",
        },
    )
    if not RestrictedParty.objects.filter(name=RESTRICTED_PARTY).exists():
        RestrictedParty.objects.create(name=RESTRICTED_PARTY, country="US", source="Demo denied-party list")
    marketplace = Channel.objects.filter(code="marketplace").first()
    WebhookEndpoint.objects.get_or_create(
        url=DEAD_WEBHOOK_URL,
        defaults={"secret": "demo-webhook-secret", "topics": ["order.*"], "channel": marketplace},
    )
    template = next((p for p in products if p.product_type == ProductType.GOODS), None)
    if template is not None:
        special, _ = Product.objects.get_or_create(
            sku=SPECIAL_ORDER_SKU,
            defaults={
                "name": "Special-order Booster Pump (drop ship)",
                "brand_id": template.brand_id,
                "category_id": template.category_id,
                "uom_id": template.uom_id,
                "tax_class_id": template.tax_class_id,
                "primary_supplier": None,  # nobody set up its supplier: the purchase step fails
                "weight_kg": Decimal("12.5"),
            },
        )
        ProductSupply.objects.get_or_create(product=special, defaults={"mode": FulfillmentMode.DROP_SHIP})
        usd = PriceList.objects.filter(code="usd-list").first()
        if usd and not PriceListItem.objects.filter(price_list=usd, product=special).exists():
            PriceListItem.objects.create(
                price_list=usd, product=special, uom_id=special.uom_id, unit_price=Decimal("890")
            )
            ruleset_version_bump()
    after = (
        HoldCode.objects.filter(is_system=False).count()
        + ApprovalRule.objects.count()
        + RestrictedParty.objects.count()
        + WebhookEndpoint.objects.count()
        + ProductSupply.objects.count()
    )
    ctx.progress("order policies", after, after, after - before)


# --- a month of history ----------------------------------------------------------------------------


def _capture(channel: Channel, data: OrderInput, ctx: Context) -> SalesOrder | None:
    if SalesOrder.objects.filter(channel=channel, source_order_id=data.source_order_id).exists():
        return None
    try:
        return order_submit(channel=channel, actor=Actor.for_channel(channel), data=data).order
    except DomainError as exc:  # shown, not fatal
        ctx.write(f"    {data.source_order_id}: not captured ({exc})")
        return None


def _history(ctx: Context, stocked: list[Product], accounts: list[str], channels: dict) -> list[Placed]:
    rng = random.Random(SEED + 7)
    # Plentiful stock only, so history orders reserve and ship (the exceptions come later).
    plenty = set(
        StockPosition.objects.filter(
            product__in=stocked, on_hand__gte=60, warehouse__code="us-east-nj"
        ).values_list("product_id", flat=True)
    )
    pool = [p for p in stocked if p.pk in plenty] or stocked
    placed: list[Placed] = []
    wanted = created = 0
    n = 0
    for days_ago in range(HISTORY_DAYS - 1, -1, -1):
        # Today: one order from every channel; other days one to three.
        count = len(CHANNEL_ORDER) if days_ago == 0 else 1 + (days_ago * 7) % 3
        for _ in range(count):
            n += 1
            code = CHANNEL_ORDER[n % len(CHANNEL_ORDER)]
            picks = rng.sample(pool, 1 if rng.random() < 0.7 else 2)
            quantities = [Decimal(rng.randint(1, 4)) for _ in picks]
            data = OrderInput(
                source_order_id=f"DEMO-{n:04d}",
                customer=CustomerInput(account_number=accounts[n % len(accounts)]),
                lines=tuple(
                    LineInput(source_line_id=str(i + 1), sku=p.sku, quantity=q)
                    for i, (p, q) in enumerate(zip(picks, quantities, strict=True))
                ),
                customer_po=f"PO-{4500 + n}",
                # Web orders say where they came from (the landing-page and campaign reports).
                source_page=LANDING_PAGES[n % len(LANDING_PAGES)] if code == "web" else "",
                campaign=CAMPAIGNS[n % len(CAMPAIGNS)] if code == "web" else "",
            )
            wanted += 1
            order = _capture(channels[code], data, ctx)
            if order is not None:
                created += 1
                placed.append(Placed(order.number, days_ago))
    ctx.progress("demo orders", wanted, wanted, created)
    return placed


def _fulfil_history(ctx: Context, placed: list[Placed]) -> None:
    """Orders older than OPEN_DAYS: scheduled, reserved, shipped, invoiced and closed by the real
    steps; the rest only get their processes started (the workers carry on)."""
    older = [p.number for p in placed if p.days_ago >= OPEN_DAYS]
    fulfillment.settle(older)
    fulfillment.time_passes(older)
    fulfillment.settle(older)
    shipped = sum(fulfillment.ship(number) for number in older)
    fulfillment.settle(older)
    closed = SalesOrder.objects.filter(number__in=older, is_current=True, status="closed").count()
    ctx.write(
        f"  {'fulfilled history':<22} {shipped} shipment(s) confirmed, {closed} order(s) invoiced and closed"
    )


# --- one of each exception -------------------------------------------------------------------------


def _exceptions(ctx: Context, stocked: list[Product], channels: dict) -> None:
    rng = random.Random(SEED + 11)
    accounts = dict(
        Customer.objects.filter(kind=CustomerKind.B2B, credit_currency="USD").values_list(
            "account_number", "credit_limit"
        )
    )
    big = sorted(accounts, key=lambda a: (-accounts[a], a))[0]
    small = sorted(accounts, key=lambda a: (accounts[a], a))[0]
    pricey = _priciest(stocked)
    made: dict[str, SalesOrder | None] = {}

    def line(sku: str, qty: int, n: int = 1, **extra) -> LineInput:
        return LineInput(source_line_id=str(n), sku=sku, quantity=Decimal(qty), **extra)

    # Waiting for approval: a large call-center order.
    made["approval"] = _capture(
        channels["call_center"],
        OrderInput(
            source_order_id="DEMO-X-APPROVAL",
            customer=CustomerInput(account_number=big),
            lines=(line(pricey[0].sku, _units_over(APPROVAL_THRESHOLD_USD, pricey[0])),),
            customer_po="PO-BIG-1",
        ),
        ctx,
    )
    # Credit hold: the account with the smallest limit orders over it.
    made["credit"] = _capture(
        channels["call_center"],
        OrderInput(
            source_order_id="DEMO-X-CREDIT",
            customer=CustomerInput(account_number=small),
            lines=(line(pricey[1].sku, _units_over(accounts[small], pricey[1])),),
            customer_po="PO-CREDIT-1",
        ),
        ctx,
    )
    # Compliance hold: shipped to a restricted party.
    made["compliance"] = _capture(
        channels["web"],
        OrderInput(
            source_order_id="DEMO-X-COMPLIANCE",
            customer=CustomerInput(account_number=big),
            lines=(line(pricey[2].sku, 2),),
            ship_to=AddressInput(name=RESTRICTED_PARTY, line1="1 Harbor Road", city="Newark", region="NJ",
                                 postcode="07102", country="US"),
        ),
        ctx,
    )  # fmt: skip
    # Back-ordered: more than every warehouse holds together, then the reorder scan buys it in.
    short = rng.choice(
        [p for p in stocked if p.primary_supplier_id is not None and p.product_type == ProductType.GOODS]
    )
    held = sum(StockPosition.objects.filter(product=short).values_list("on_hand", flat=True))
    made["backorder"] = _capture(
        channels["web"],
        OrderInput(
            source_order_id="DEMO-X-BACKORDER",
            customer=CustomerInput(account_number=big),
            lines=(line(short.sku, int(held) + 25),),
        ),
        ctx,
    )
    # A failed step: the special-order pump has no supplier, so its purchase step gives up.
    made["failed"] = _capture(
        channels["field_sales"],
        OrderInput(
            source_order_id="DEMO-X-FAILED-STEP",
            customer=CustomerInput(account_number=big),
            lines=(line(SPECIAL_ORDER_SKU, 1),),
        ),
        ctx,
    )
    # A partial shipment: two of five went out, the rest follows.
    made["partial"] = _capture(
        channels["pos"],
        OrderInput(
            source_order_id="DEMO-X-PARTIAL",
            customer=CustomerInput(account_number=big),
            lines=(line(pricey[3].sku, 5),),
        ),
        ctx,
    )
    # A manual hold, applied by the order desk.
    made["manual"] = _capture(
        channels["marketplace"],
        OrderInput(
            source_order_id="DEMO-X-MANUAL-HOLD",
            customer=CustomerInput(account_number=big),
            lines=(line(pricey[4].sku, 1),),
        ),
        ctx,
    )
    # Cost of change: ten units whose shipment request went to the warehouse (below), then lowered.
    made["cost"] = _capture(
        channels["web"],
        OrderInput(
            source_order_id="DEMO-X-COST-OF-CHANGE",
            customer=CustomerInput(account_number=big),
            lines=(line(pricey[5].sku, 10),),
        ),
        ctx,
    )
    created = {k: o for k, o in made.items() if o is not None}
    if "manual" in created:
        desk = get_user_model().objects.filter(username="orderdesk").first()
        actor = Actor.for_user(desk) if desk else Actor.system()
        hold_apply(order_id=created["manual"].pk, actor=actor, code="address-check",
                   reason="The marketplace sent a PO box for a freight delivery.")  # fmt: skip
    numbers = [o.number for o in created.values()]
    fulfillment.settle(numbers)
    for _ in range(4):  # the purchase step's retries, as their back-off passes
        fulfillment.time_passes(numbers)
        fulfillment.settle(numbers)
    if "partial" in created:
        fulfillment.ship(created["partial"].number, fraction=Decimal("0.4"))
        fulfillment.settle([created["partial"].number])
    if "cost" in created:
        _cost_of_change(ctx, created["cost"], channels["web"], big, pricey[5].sku)
    if created:  # a re-run with nothing new changes nothing
        _replenish(ctx)
        _failing_webhook(ctx)
    ctx.progress("exception orders", len(made), len(made), len(created))
    failed = StepInstance.objects.filter(status=StepStatus.FAILED).count()
    backorders = Demand.objects.filter(status=DemandStatus.OPEN).count()
    ctx.write(f"    open back-orders {backorders}, failed steps {failed}")


def _cost_of_change(ctx: Context, order: SalesOrder, channel: Channel, account: str, sku: str) -> None:
    """The channel lowers the quantity after the shipment request went to the warehouse: the
    revision costs the cancellation at the warehouse, over the policy's threshold, so it waits
    for approval with its cost shown (the order page, the approver's box)."""
    fulfillment.time_passes([order.number])
    fulfillment.settle([order.number])
    revised = _capture_revision(
        channel,
        OrderInput(
            source_order_id="DEMO-X-COST-OF-CHANGE",
            revision=2,
            customer=CustomerInput(account_number=account),
            lines=(LineInput(source_line_id="1", sku=sku, quantity=Decimal(4)),),
        ),
        ctx,
    )
    if revised is not None:
        ctx.write(f"    {revised.number} revision 2: {revised.status}, {'; '.join(revised.approval_reasons)}")


def _capture_revision(channel: Channel, data: OrderInput, ctx: Context) -> SalesOrder | None:
    if SalesOrder.objects.filter(
        channel=channel, source_order_id=data.source_order_id, revision=data.revision
    ).exists():
        return None
    try:
        return order_submit(channel=channel, actor=Actor.for_channel(channel), data=data).order
    except DomainError as exc:
        ctx.write(f"    {data.source_order_id} r{data.revision}: not captured ({exc})")
        return None


def _priciest(stocked: list[Product]) -> list[Product]:
    """The dearest well-stocked products (US list price), for orders that must be large."""
    ids = set(
        StockPosition.objects.filter(
            product__in=stocked, on_hand__gte=120, warehouse__code="us-east-nj"
        ).values_list("product_id", flat=True)
    )
    prices = dict(
        PriceListItem.objects.filter(price_list__code="usd-list", product_id__in=ids).values_list(
            "product_id", "unit_price"
        )
    )
    ranked = sorted((p for p in stocked if p.pk in prices), key=lambda p: (-prices[p.pk], p.sku))
    for p in ranked:
        p.list_price = prices[p.pk]
    return (ranked or stocked)[:6]


def _units_over(amount: Decimal, product: Product) -> int:
    """Enough units of the product to pass `amount` at its list price (tax and discounts aside)."""
    price = getattr(product, "list_price", None) or Decimal(1)
    return int(amount * Decimal("1.4") / price) + 1


def _replenish(ctx: Context) -> None:
    """The reorder scan drafts purchase orders for stock at or below its reorder point (the
    back-ordered product's among them); the buyer approves and sends them: on the way."""
    reorder_scan()
    sent = 0
    for po in PurchaseOrder.objects.filter(status=PurchaseOrderStatus.DRAFT, from_reorder_scan=True).order_by(
        "pk"
    ):
        purchase_order_transition(purchase_order_id=po.pk, target=PurchaseOrderStatus.APPROVED)
        purchase_order_transition(purchase_order_id=po.pk, target=PurchaseOrderStatus.SENT)
        sent += 1
    ctx.write(f"  {'replenishment':<22} reorder scan: {sent} purchase order(s) sent to suppliers")


def _failing_webhook(ctx: Context) -> None:
    """The ERP endpoint does not answer: a few deliveries are tried three times (time passing
    between the tries), so the workbench shows them struggling; the workers keep retrying."""
    pending = list(
        WebhookDelivery.objects.filter(
            endpoint__url=DEAD_WEBHOOK_URL, status=WebhookDeliveryStatus.PENDING, attempts__lt=3
        ).order_by("pk")[:3]
    )
    for delivery in pending:
        for _ in range(3):
            WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
            webhook_deliver(delivery_id=delivery.pk)


# --- the month -----------------------------------------------------------------------------------------


def _backdate(placed: list[Placed]) -> None:
    """Move each new order, with its events and shipments, back to the day it was placed (one
    UPDATE per table)."""
    by_age: dict[int, list[str]] = {}
    for p in placed:
        if p.days_ago:
            by_age.setdefault(p.days_ago, []).append(p.number)
    if not by_age:
        return

    def shift(number_field: str, column: str) -> Case:
        return Case(
            *(
                When(**{f"{number_field}__in": numbers}, then=F(column) - Value(timedelta(days=age)))
                for age, numbers in by_age.items()
            ),
            default=F(column),
        )

    numbers = [n for ns in by_age.values() for n in ns]
    ids = dict(SalesOrder.objects.filter(number__in=numbers).values_list("pk", "number"))
    age_of = {n: age for age, ns in by_age.items() for n in ns}
    ids_by_age: dict[int, list[int]] = {}
    for pk, number in ids.items():
        ids_by_age.setdefault(age_of[number], []).append(pk)

    def shift_ids(id_field: str, column: str) -> Case:
        return Case(
            *(
                When(**{f"{id_field}__in": pks}, then=F(column) - Value(timedelta(days=age)))
                for age, pks in ids_by_age.items()
            ),
            default=F(column),
        )

    SalesOrder.objects.filter(pk__in=ids).update(created_at=shift_ids("pk", "created_at"))
    OrderEvent.objects.filter(order_id__in=ids).update(created_at=shift_ids("order_id", "created_at"))
    FulfillmentEvent.objects.filter(order_number__in=numbers).update(
        created_at=shift("order_number", "created_at")
    )
    Shipment.objects.filter(order_number__in=numbers).update(
        requested_at=shift("order_number", "requested_at"), shipped_at=shift("order_number", "shipped_at")
    )
    # Invoices with their orders; a payment arrived PAID_AFTER_DAYS after the order (or today).
    paid_after = timedelta(days=billing.PAID_AFTER_DAYS)
    Invoice.objects.filter(order_number__in=numbers).update(
        created_at=shift("order_number", "created_at"),
        issued_at=shift("order_number", "issued_at"),
        paid_at=Case(
            *(
                When(order_number__in=ns, then=F("paid_at") - Value(timedelta(days=age)) + Value(paid_after))
                for age, ns in by_age.items()
                if age >= billing.PAID_AFTER_DAYS
            ),
            default=F("paid_at"),
        ),
    )
