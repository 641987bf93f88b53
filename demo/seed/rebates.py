"""Rebate programs of every type, approved by the demo finance user, and the accruals the demo's
shipped history earns under them (the same services the outbox subscriber and the nightly run
call): a retrospective supplier rebate in USD re-rated across a tier, a stepped per-unit supplier
rebate in EUR, a ship-and-debit authorization whose maximum the history crosses, a customer volume
rebate, price protection on a price drop, and a draft and a pending program for the console.

Runs after the orders (their shipments are dated by then). Idempotent: programs are keyed on their
code, accruals are unique per (program, source line), the re-rating on the period's last accrual."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from catalog.models import Supplier
from customers.models import Customer
from fulfillment.models import ShipmentLine
from rebates.models import Accrual, PriceDrop, ProgramTier, ProgramType, RebateProgram, ShipDebitAuthorization
from rebates.services.accruals import accrue_shipment_lines, price_drops_accrue_due, programs_rerate
from rebates.services.programs import program_approve, program_submit

from .base import Context

D = Decimal


def _shipped():
    return ShipmentLine.objects.filter(quantity_shipped__gt=0, shipment__shipped_at__isnull=False)


def _tiers(program: RebateProgram, tiers) -> None:
    ProgramTier.objects.bulk_create(
        ProgramTier(program=program, lower=D(lo), upper=None if up is None else D(up), rate=D(rate))
        for lo, up, rate in tiers
    )


def rebates(ctx: Context) -> None:
    before = RebateProgram.objects.count()
    finance = get_user_model().objects.filter(username="finance").first()
    by_supplier = list(
        _shipped()
        .values("fulfillment_line__product__primary_supplier")
        .annotate(v=Sum(F("quantity_shipped") * F("fulfillment_line__order_line__unit_net_price")))
        .exclude(fulfillment_line__product__primary_supplier=None)
        .order_by("-v")
        .values_list("fulfillment_line__product__primary_supplier", flat=True)
    )
    if len(by_supplier) < 2 or finance is None:
        return
    top, second = Supplier.objects.get(pk=by_supplier[0]), Supplier.objects.get(pk=by_supplier[1])
    top_lines = _shipped().filter(fulfillment_line__product__primary_supplier=top)
    products = list(
        top_lines.values("fulfillment_line__product")
        .annotate(q=Sum("quantity_shipped"))
        .order_by("-q", "fulfillment_line__product")
        .values_list("fulfillment_line__product", "q")[:5]
    )
    customers = list(
        _shipped()
        .values("fulfillment_line__order__customer")
        .annotate(v=Sum(F("quantity_shipped") * F("fulfillment_line__order_line__unit_net_price")))
        .order_by("-v", "fulfillment_line__order__customer")
        .values_list("fulfillment_line__order__customer", flat=True)[:3]
    )
    accounts = dict(Customer.objects.filter(pk__in=customers).values_list("pk", "account_number"))
    today = timezone.localdate()
    start, end = today - timedelta(days=120), today + timedelta(days=245)
    common = {"start_date": start, "end_date": end, "created_by": finance}

    def make(code: str, **fields) -> RebateProgram | None:
        if RebateProgram.objects.filter(code=code).exists():
            return None
        return RebateProgram.objects.create(code=code, **common, **fields)

    approved: list[RebateProgram] = []
    p = make(
        f"{top.code}-volume",
        name=f"{top.name}: quarterly volume rebate",
        program_type=ProgramType.SUPPLIER_REBATE,
        supplier=top,
        basis="shipments",
        calc_method="percent",
        tier_mode="retrospective",
        tier_measure="value",
        period="quarter",
        currency="USD",
        budget_cap=D("250000"),
    )
    if p:
        _tiers(p, [(0, 2000, "2"), (2000, 10000, "3"), (10000, None, "4")])
        approved.append(p)
    p = make(
        f"{second.code}-units-eur",
        name=f"{second.name}: units rebate (EUR)",
        program_type=ProgramType.SUPPLIER_REBATE,
        supplier=second,
        basis="shipments",
        calc_method="per_unit",
        tier_mode="stepped",
        tier_measure="quantity",
        period="month",
        currency="EUR",
    )
    if p:
        _tiers(p, [(0, 50, "0.40"), (50, None, "0.65")])
        approved.append(p)
    p = make(
        f"sd-{top.code}",
        name=f"{top.name}: ship-and-debit",
        program_type=ProgramType.SHIP_AND_DEBIT,
        supplier=top,
        currency="USD",
    )
    if p:
        # The buyers of those products, and a maximum that their shipments cross.
        buyers = list(
            top_lines.filter(fulfillment_line__product__in=[pid for pid, _ in products])
            .values("fulfillment_line__order__customer")
            .annotate(q=Sum("quantity_shipped"))
            .order_by("-q", "fulfillment_line__order__customer")
            .values_list("fulfillment_line__order__customer", "q")[:3]
        )
        # The maximum falls inside a line half-way through their history: that line accrues the rest.
        history = list(
            top_lines.filter(
                fulfillment_line__product__in=[pid for pid, _ in products],
                fulfillment_line__order__customer__in=[cid for cid, _ in buyers],
            )
            .order_by(TruncDate("shipment__shipped_at"), "pk")  # the order the engine accrues in
            .values_list("quantity_shipped", flat=True)
        )
        cumulative, maximum = D(0), None
        for n, qty in enumerate(history):
            if n >= len(history) // 2 and qty >= 2 and maximum is None:
                maximum = cumulative + 1
            cumulative += qty
        auth = ShipDebitAuthorization.objects.create(
            program=p,
            number=f"SD-{today.year}-0001",
            valid_from=start,
            valid_to=end,
            method="amount_off",
            value=D("3.00"),
            max_quantity=maximum or max(D(1), cumulative),
        )
        auth.customers.set([cid for cid, _ in buyers])
        auth.products.set([pid for pid, _ in products])
        approved.append(p)
    p = make(
        f"cv-{accounts[customers[0]]}".lower(),
        name="Key account volume rebate",
        program_type=ProgramType.CUSTOMER_VOLUME,
        customer_id=customers[0],
        basis="shipments",
        calc_method="percent",
        tier_mode="stepped",
        tier_measure="value",
        period="year",
        currency="USD",
        payout_method="credit_memo",
    )
    if p:
        _tiers(p, [(0, 5000, "1"), (5000, 20000, "1.5"), (20000, None, "2")])
        approved.append(p)
    p = make(
        f"pp-{top.code}",
        name=f"{top.name}: price protection",
        program_type=ProgramType.PRICE_PROTECTION,
        supplier=top,
        currency="USD",
    )
    if p:
        _stock_bought_before_the_drop(top, products[0][0], today - timedelta(days=12))
        PriceDrop.objects.create(
            program=p,
            product_id=products[0][0],
            effective_date=today - timedelta(days=5),
            old_cost=D("42.00"),
            new_cost=D("37.80"),
        )
        approved.append(p)
    for program in approved:
        program_submit(program_id=program.pk, user=finance)
        program_approve(program_id=program.pk, user=finance)
    p = make(
        f"{second.code}-2027",
        name=f"{second.name}: next year's rebate (draft)",
        program_type=ProgramType.SUPPLIER_REBATE,
        supplier=second,
        basis="receipts",
        period="year",
    )
    if p:
        _tiers(p, [(0, None, "1.5")])
    p = make(
        f"cv-{accounts[customers[1]]}".lower(),
        name="Second key account rebate (waiting for finance)",
        program_type=ProgramType.CUSTOMER_VOLUME,
        customer_id=customers[1],
        basis="invoices",
        period="quarter",
    )
    if p:
        _tiers(p, [(0, None, "1")])
        program_submit(program_id=p.pk, user=finance)
    total = RebateProgram.objects.count()
    ctx.progress("rebate programs", total, total, total - before)

    accruals_before = Accrual.objects.count()
    accrue_shipment_lines(shipment_line_ids=list(_shipped().values_list("pk", flat=True)))
    price_drops_accrue_due(today=today)
    programs_rerate(today=today)
    total = Accrual.objects.count()
    ctx.progress("rebate accruals", total, total, total - accruals_before)


def _stock_bought_before_the_drop(supplier: Supplier, product_id: int, when) -> None:
    """The price-protected product's history: a receipt into two warehouses and a purchase order
    still in transit, both from before the drop (the demo's history is dated back, as the
    orders' is), so the drop has on-hand of its date and open PO quantities to claim."""
    from datetime import datetime, time

    from inventory.models import PurchaseOrder, PurchaseOrderLine, StockMovement, Warehouse
    from inventory.services import stock_receive

    moment = timezone.make_aware(datetime.combine(when, time(10)))
    ids = []
    for code, qty in (("us-east-nj", 120), ("us-west-ca", 45)):
        warehouse = Warehouse.objects.get(code=code)
        stock_receive(product_id=product_id, warehouse_id=warehouse.pk, quantity=qty, reference="PP-DEMO")
        ids.append(
            StockMovement.objects.filter(reference="PP-DEMO", position__warehouse=warehouse).latest("pk").pk
        )
    StockMovement.objects.filter(pk__in=ids).update(created_at=moment)
    po = PurchaseOrder.objects.create(
        supplier=supplier, warehouse=Warehouse.objects.get(code="us-east-nj"), status="sent", currency="USD"
    )
    PurchaseOrderLine.objects.create(
        purchase_order=po,
        product_id=product_id,
        quantity_ordered=D(80),
        quantity_received=D(0),
        unit_cost=D("42.00"),
    )
    PurchaseOrder.objects.filter(pk=po.pk).update(created_at=moment)


# --- claims (owned by the claims work) -------------------------------------------------------------

# The story each newly generated claim is given, in turn (a second run generates none: its accruals
# are claimed already, so nothing changes).
CLAIM_STORIES = ("settled", "partial", "disputed", "submitted", "approved", "open", "written_off")


def claims(ctx: Context) -> None:
    """Claims of the demo programs in every state: generated from their unclaimed accruals by the
    claim service, then submitted, approved, disputed (with a reason), settled (one in part, its
    rest claimed again on a child claim), written off when small, or left open."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from rebates.models import Claim
    from rebates.services.claims import (
        claim_approve,
        claim_dispute,
        claim_settle,
        claim_submit,
        claim_write_off,
        claims_generate,
        write_off_threshold,
    )
    from rebates.states import DisputeReason

    finance = get_user_model().objects.get(username="finance")
    created = claims_generate(actor=finance)
    for i, claim in enumerate(created):
        story = CLAIM_STORIES[i % len(CLAIM_STORIES)]
        if story == "open":
            continue
        if story == "written_off" and claim.amount > write_off_threshold():
            story = "submitted"
        claim_submit(claim_id=claim.pk, actor=finance, reference=f"RB-{claim.pk:05d}")
        method = claim.program.payout_method
        if story == "settled":
            claim_settle(claim_id=claim.pk, amount=claim.amount, method=method, reference=f"CHK-{9000 + i}",
                         actor=finance)  # fmt: skip
        elif story == "partial":
            paid = (claim.amount * Decimal("0.7")).quantize(Decimal("0.01"))
            claim_settle(
                claim_id=claim.pk, amount=paid, method=method, reference=f"CM-{7000 + i}", actor=finance
            )
        elif story == "disputed":
            claim_dispute(claim_id=claim.pk, reason=DisputeReason.QUANTITY, actor=finance,
                          note="Supplier counts fewer units shipped in the period.")  # fmt: skip
        elif story == "approved":
            claim_approve(claim_id=claim.pk, actor=finance)
        elif story == "written_off":
            claim_write_off(claim_id=claim.pk, actor=finance, note="Below the write-off threshold.")
    by_status = {}
    for status in Claim.objects.values_list("status", flat=True):
        by_status[status] = by_status.get(status, 0) + 1
    total = sum(by_status.values())
    ctx.progress("rebate claims", total, total, len(created))
    ctx.write("    " + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())))
