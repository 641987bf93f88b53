"""Orders captured through the real pipeline."""

from __future__ import annotations

import random
from decimal import Decimal

from catalog.models import (
    Product,
    ProductType,
)
from customers.models import (
    Customer,
    CustomerKind,
    CustomerStatus,
)
from partners.models import Channel

from .base import SEED, Context

DEMO_ORDERS = 24


def orders(ctx: Context, products: list[Product]) -> None:
    """A few orders from the storefront and the call center, captured through the same service
    as the API (pricing, checks, reservations, events), so the staff screens and the workers
    have something to show. Orders already captured (by source order id) are skipped."""
    from oms.kernel.exceptions import DomainError
    from orders.actors import Actor
    from orders.inputs import CustomerInput, LineInput, OrderInput
    from orders.models import SalesOrder
    from orders.services import order_submit

    rng = random.Random(SEED + 7)
    stocked = [p for p in products if p.product_type == ProductType.GOODS and p.active]
    accounts = list(
        Customer.objects.filter(kind=CustomerKind.B2B, status=CustomerStatus.ACTIVE, credit_currency="USD")
        .order_by("account_number")
        .values_list("account_number", flat=True)[:12]
    )
    channels = {c.code: c for c in Channel.objects.filter(code__in=["web", "call_center"])}
    if not stocked or not accounts or len(channels) < 2:
        return
    created = refused = 0
    for n in range(DEMO_ORDERS):
        channel = channels["web" if n % 3 else "call_center"]
        source_id = f"DEMO-{n + 1:04d}"
        picks = rng.sample(stocked, rng.randint(1, 3))
        data = OrderInput(
            source_order_id=source_id,
            customer=CustomerInput(account_number=accounts[n % len(accounts)]),
            lines=tuple(
                LineInput(source_line_id=str(i + 1), sku=p.sku, quantity=Decimal(rng.randint(1, 4)))
                for i, p in enumerate(picks)
            ),
            customer_po=f"PO-{4500 + n}",
        )
        if SalesOrder.objects.filter(channel=channel, source_order_id=source_id).exists():
            continue
        try:
            order_submit(channel=channel, actor=Actor.for_channel(channel), data=data)
        except DomainError as exc:  # e.g. a customer on credit hold policy; shown, not fatal
            refused += 1
            ctx.write(f"    {source_id}: not captured ({exc})")
        else:
            created += 1
    ctx.progress("demo orders", DEMO_ORDERS, DEMO_ORDERS, created)
