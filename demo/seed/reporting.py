"""Reports: standard costs (so the margin ranking has figures) and the sales facts rebuilt over
the month of orders (the history is back-dated after capture, which publishes no event)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F

from pricing.models import PriceListItem
from reporting.models import ProductCost, SalesFact
from reporting.reports.rollups import facts_kept, facts_rebuild

from .base import Context

# A standard cost for most products: 55-70 % of the USD list price (every seventh has none, to show
# that margin covers only the lines whose cost is known).
COST_SHARE = (Decimal("0.55"), Decimal("0.60"), Decimal("0.65"), Decimal("0.70"))


def reports(ctx: Context) -> None:
    prices = (
        PriceListItem.objects.filter(price_list__currency="USD", uom=F("product__uom"))
        .order_by("product_id", "pk")
        .values_list("product_id", "unit_price")
    )
    seen: dict[int, Decimal] = {}
    for product_id, price in prices:
        seen.setdefault(product_id, price)
    wanted = created = 0
    for product_id, price in sorted(seen.items()):
        if product_id % 7 == 0:
            continue
        wanted += 1
        cost = (price * COST_SHARE[product_id % len(COST_SHARE)]).quantize(Decimal("0.01"))
        _, new = ProductCost.objects.get_or_create(
            product_id=product_id, currency="USD", defaults={"unit_cost": cost}
        )
        created += new
    ctx.progress("standard costs", wanted, wanted, created)
    # The subscriber kept most of them current while the orders were captured; the back-dating
    # that followed published nothing, so they are rebuilt (the same rows again on a second run).
    if not facts_kept():
        ctx.write(f"  {'report sales facts':<22} not kept: the reports need PostgreSQL (DATABASE_URL)")
        return
    written = facts_rebuild()
    ctx.write(f"  {'report sales facts':<22} rebuilt: {written} lines ({SalesFact.objects.count()} rows)")
