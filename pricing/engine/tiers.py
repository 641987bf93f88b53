"""Tier arithmetic: exact Decimal amounts (rounded later, once, at the line boundary).

Bands are `lower < measure <= upper` (upper None = no limit), contiguous from 0. The measure is the
quantity, or for amount-based tiers quantity x the item's unit price (blocks x unit price in block
mode).

- all_units: every unit at the price of the band the measure falls in.
- graduated: each band's share of the measure at that band's price.
- block: the price (the band's, or the unit price without tiers) is per block of `block_size`
  units; a partial block is charged in full (`up`) or pro rata (`prorate`).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from .snapshot import ItemFacts, TierFacts

ZERO = Decimal(0)


def band_for(measure: Decimal, tiers: tuple[TierFacts, ...]) -> TierFacts:
    for t in tiers:
        if t.upper is None or measure <= t.upper:
            return t
    return tiers[-1]  # validated tiers always end open; a hand-built set falls back to its last band


def blocks(quantity: Decimal, block_size: Decimal, rounding: str) -> Decimal:
    exact = quantity / block_size
    return exact.to_integral_value(rounding=ROUND_CEILING) if rounding == "up" else exact


def extended_amount(item: ItemFacts, quantity: Decimal) -> tuple[Decimal, TierFacts | None, Decimal | None]:
    """(amount, band used or None, blocks or None) for `quantity` in the item's unit."""
    tiers = item.tiers
    if item.tier_mode == "block":
        n = blocks(quantity, item.block_size, item.block_rounding)
        if not tiers:
            return n * item.unit_price, None, n
        measure = quantity if item.tier_basis == "quantity" else n * item.unit_price
        band = band_for(measure, tiers)
        return n * band.unit_price, band, n
    if not tiers:
        return quantity * item.unit_price, None, None
    if item.tier_basis == "quantity":
        if item.tier_mode == "all_units":
            band = band_for(quantity, tiers)
            return quantity * band.unit_price, band, None
        total = ZERO
        for t in tiers:  # graduated
            if quantity <= t.lower:
                break
            top = quantity if t.upper is None or quantity < t.upper else t.upper
            total += (top - t.lower) * t.unit_price
        return total, band_for(quantity, tiers), None
    # Amount-based: the bands measure quantity x unit price.
    measure = quantity * item.unit_price
    if item.tier_mode == "all_units" or item.unit_price == 0:
        band = band_for(measure, tiers)
        return quantity * band.unit_price, band, None
    total = ZERO
    for t in tiers:  # graduated over amounts: each band's share of the measure, re-priced
        if measure <= t.lower:
            break
        top = measure if t.upper is None or measure < t.upper else t.upper
        total += (top - t.lower) * t.unit_price / item.unit_price
    return total, band_for(measure, tiers), None
