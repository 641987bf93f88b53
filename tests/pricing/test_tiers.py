"""All-units vs graduated vs block on the same tiers: hand-computed amounts at every boundary.

Tiers (docs/pricing.md): over 0 up to 10 @ 5.00, over 10 up to 50 @ 4.00, over 50 @ 3.00.
Block pricing charges that price per block of 5 units (the band chosen by the quantity).
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from pricing.engine.snapshot import ItemFacts, TierFacts
from pricing.engine.tiers import extended_amount
from pricing.models import tiers_validate

pytestmark = pytest.mark.unit

TIERS = (
    TierFacts(D(0), D(10), D("5.00")),
    TierFacts(D(10), D(50), D("4.00")),
    TierFacts(D(50), None, D("3.00")),
)


def item(
    mode: str, *, basis: str = "quantity", tiers=TIERS, unit_price="5.00", block_size=None, rounding="up"
):
    return ItemFacts(
        id=1,
        price_list_id=1,
        product_id=1,
        uom="EA",
        unit_price=D(unit_price),
        tier_basis=basis,
        tier_mode=mode,
        block_size=D(block_size) if block_size else None,
        block_rounding=rounding,
        tiers=tiers,
    )


# quantity: (all units, graduated, block of 5 rounded up, block of 5 pro-rated)
EXPECTED = {
    "1": ("5.00", "5.00", "5.00", "1.00"),  # 1 x 5 | 1 x 5 | 1 block x 5 | 0.2 block x 5
    "9.5": ("47.50", "47.50", "10.00", "9.50"),
    "10": ("50.00", "50.00", "10.00", "10.00"),  # the last unit of band 1, in every mode
    "10.5": ("42.00", "52.00", "12.00", "8.40"),  # band 2 reached: 10.5 x 4 | 50 + 0.5 x 4 | 3 x 4 | 2.1 x 4
    "11": ("44.00", "54.00", "12.00", "8.80"),
    "50": ("200.00", "210.00", "40.00", "40.00"),  # 50 x 4 | 50 + 40 x 4 | 10 x 4
    "51": ("153.00", "213.00", "33.00", "30.60"),  # 51 x 3 | 210 + 1 x 3 | 11 x 3 | 10.2 x 3
    "100": ("300.00", "360.00", "60.00", "60.00"),
}


@pytest.mark.parametrize("qty", list(EXPECTED))
def test_the_three_modes_on_the_same_tiers_at_every_boundary(qty):
    all_units, graduated, block_up, block_prorate = (D(v) for v in EXPECTED[qty])
    q = D(qty)
    assert extended_amount(item("all_units"), q)[0] == all_units
    assert extended_amount(item("graduated"), q)[0] == graduated
    assert extended_amount(item("block", block_size="5"), q)[0] == block_up
    assert extended_amount(item("block", block_size="5", rounding="prorate"), q)[0] == block_prorate


def test_the_band_reported_is_the_one_the_quantity_falls_in():
    assert extended_amount(item("all_units"), D(10))[1].unit_price == D("5.00")
    assert extended_amount(item("all_units"), D("10.0001"))[1].unit_price == D("4.00")
    amount, band, blocks = extended_amount(item("block", block_size="5"), D(11))
    assert band.unit_price == D("4.00") and blocks == 3 and amount == D("12.00")


def test_without_tiers_the_unit_price_applies_and_block_mode_prices_blocks():
    assert extended_amount(item("all_units", tiers=()), D(3))[0] == D("15.00")
    assert extended_amount(item("graduated", tiers=()), D(3))[0] == D("15.00")
    assert extended_amount(item("block", tiers=(), block_size="12"), D(13))[0] == D("10.00")  # 2 blocks
    assert extended_amount(item("block", tiers=(), block_size="12", rounding="prorate"), D(6))[0] == D(
        "2.500"
    )


AMOUNT_TIERS = (
    TierFacts(D(0), D(100), D("2.00")),
    TierFacts(D(100), D(500), D("1.80")),
    TierFacts(D(500), None, D("1.50")),
)


@pytest.mark.parametrize(
    ("qty", "all_units", "graduated"),
    [
        ("50", "100.00", "100.00"),  # amount 100: still band 1
        ("51", "91.80", "101.80"),  # amount 102: 51 x 1.80 | 50 x 2.00 + 1 x 1.80
        ("250", "450.00", "460.00"),  # amount 500: 250 x 1.80 | 100 + 200 x 1.80
        ("300", "450.00", "535.00"),  # amount 600: 300 x 1.50 | 100 + 360 + 50 x 1.50
    ],
)
def test_amount_based_breaks_measure_quantity_times_unit_price(qty, all_units, graduated):
    kwargs = {"basis": "amount", "tiers": AMOUNT_TIERS, "unit_price": "2.00"}
    assert extended_amount(item("all_units", **kwargs), D(qty))[0] == D(all_units)
    assert extended_amount(item("graduated", **kwargs), D(qty))[0] == D(graduated)


def test_tier_validation_reports_overlaps_gaps_and_open_ends():
    assert tiers_validate([(D(0), D(10)), (D(10), None)]) == []
    assert any("overlap" in p for p in tiers_validate([(D(0), D(10)), (D(5), None)]))
    assert any("Gap" in p for p in tiers_validate([(D(0), D(10)), (D(12), None)]))
    assert any("start at 0" in p for p in tiers_validate([(D(1), None)]))
    assert any("no upper bound" in p for p in tiers_validate([(D(0), D(10)), (D(10), D(20))]))
    assert any("has no upper bound but" in p for p in tiers_validate([(D(0), None), (D(10), None)]))
