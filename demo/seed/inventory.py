"""Warehouses, opening stock, channel warehouse rankings and reorder rules."""

from __future__ import annotations

import random
from decimal import Decimal

from catalog.models import (
    Product,
    ProductType,
)
from inventory.models import ChannelWarehouse, ReorderRule, Warehouse, WarehouseType
from inventory.selectors import CHANNEL_RANKINGS, positions_missing
from inventory.services import ReceiptLine, stock_receive_bulk
from oms.kernel import refcache
from partners.models import Channel

from .base import SEED, Context, Tally
from .partners import CHANNELS

CHANNEL_WAREHOUSES = ["us-east-nj", "us-west-ca", "eu-rotterdam", "apac-singapore"]

WAREHOUSES = [
    ("us-east-nj", "US-East (Edison, NJ)", "US", "NJ", "08837", "40.518700", "-74.412100"),
    ("us-west-ca", "US-West (Ontario, CA)", "US", "CA", "91761", "34.063300", "-117.650900"),
    ("eu-rotterdam", "EU (Rotterdam)", "NL", "Zuid-Holland", "3011", "51.924400", "4.477700"),
    ("apac-singapore", "APAC (Singapore)", "SG", "Singapore", "018956", "1.352100", "103.819800"),
]


def warehouses(ctx: Context) -> list[Warehouse]:
    tally = Tally()
    for code, name, country, region, postcode, lat, lon in WAREHOUSES:
        _, created = Warehouse.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "type": WarehouseType.DISTRIBUTION_CENTER,
                "country": country,
                "region": region,
                "postcode": postcode,
                "latitude": Decimal(lat),
                "longitude": Decimal(lon),
            },
        )
        tally.created += created
    ctx.progress("warehouses", len(WAREHOUSES), len(WAREHOUSES), tally.created)
    return list(Warehouse.objects.filter(code__in=[w[0] for w in WAREHOUSES]).order_by("code"))


def stock(ctx: Context, products: list[Product], warehouses: list[Warehouse]) -> None:
    rng = ctx.rng
    # Decide every pair's opening stock from the seed first, so a re-run makes the same
    # choices whatever already exists; then receive only into positions that are missing.
    wanted: dict[tuple[int, int], Decimal] = {}
    for product in products:
        if product.product_type != ProductType.GOODS:
            continue
        for warehouse in warehouses:
            if rng.random() < 0.85:
                wanted[(product.pk, warehouse.pk)] = Decimal(rng.choice([5, 12, 24, 40, 60, 120, 250, 500]))
    missing = positions_missing(pairs=list(wanted))
    stock_receive_bulk(
        lines=[ReceiptLine(p, w, wanted[(p, w)]) for p, w in missing],
        reference="SEED-OPENING",
        reason="Opening balance (seed_demo)",
    )
    ctx.progress("stock positions", len(wanted), len(wanted), len(missing))


def sourcing(ctx: Context, products: list[Product], warehouses: list[Warehouse]) -> None:
    """Which warehouses serve each channel (nearest first), and reorder rules for every stocked
    goods product with a supplier in the US warehouses, so the reorder scan has work. Idempotent."""
    by_code = {w.code: w for w in warehouses}
    rankings = [
        ChannelWarehouse(channel=channel, warehouse=by_code[code], rank=rank)
        for channel in Channel.objects.filter(code__in=[c[0] for c in CHANNELS]).order_by("code")
        for rank, code in enumerate(CHANNEL_WAREHOUSES, start=1)
        if code in by_code
    ]
    # bulk_create(ignore_conflicts=True) returns every row it was given, inserted or not: count.
    before = ChannelWarehouse.objects.count()
    ChannelWarehouse.objects.bulk_create(rankings, ignore_conflicts=True)
    created = ChannelWarehouse.objects.count() - before
    if created:
        refcache.bump(CHANNEL_RANKINGS)  # bulk_create sends no signals: other processes reload
    ctx.progress("channel warehouses", len(rankings), len(rankings), created)
    rng = random.Random(SEED + 5)  # its own stream: adding this changes no earlier choice
    rules = []
    for product in products:
        if product.product_type != ProductType.GOODS or product.primary_supplier_id is None:
            continue
        for code in ("us-east-nj", "us-west-ca"):
            if code not in by_code:
                continue
            point = Decimal(rng.choice([10, 20, 40]))
            rules.append(
                ReorderRule(
                    product=product,
                    warehouse=by_code[code],
                    reorder_point=point,
                    safety_stock=point / 2,
                    order_up_to=point * 6,
                    lot_multiple=Decimal(rng.choice([1, 6, 12])),
                    preferred_supplier_id=product.primary_supplier_id,
                    lead_time_days=rng.choice([5, 7, 14]),
                )
            )
    before = ReorderRule.objects.count()
    ReorderRule.objects.bulk_create(rules, ignore_conflicts=True)
    ctx.progress("reorder rules", len(rules), len(rules), ReorderRule.objects.count() - before)
