"""Retrospective vs stepped tiers on the same volume, against amounts computed by hand, with the
re-rating adjustment when a tier is crossed mid-period, in two currencies (a USD program on USD
sales; a EUR program on USD sales converted at the ship date's rate, journal in USD)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from rebates.models import Accrual, AccrualKind, JournalLine, ProgramType
from rebates.services.accruals import accrue_shipment_lines, period_bounds, programs_rerate, tier_amount
from rebates.services.journal import entry_totals
from tests.factories.pricing import ExchangeRateFactory

from .conftest import program, ship

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TIERS = [(0, 1000, 2), (1000, None, 4)]  # value tiers in the program currency: 2 % then 4 %
D = Decimal


def _programs(world, currency):
    common = {
        "program_type": ProgramType.SUPPLIER_REBATE, "supplier": world.supplier, "currency": currency,
        "basis": "shipments", "calc_method": "percent", "tier_measure": "value", "period": "month",
        "tiers": TIERS,
    }  # fmt: skip
    return (
        program(code=f"retro-{currency.lower()}", tier_mode="retrospective", **common),
        program(code=f"step-{currency.lower()}", tier_mode="stepped", **common),
    )


def _amounts(p, kind=AccrualKind.ACCRUAL):
    return [a.amount for a in Accrual.objects.filter(program=p, kind=kind).order_by("source_date", "pk")]


# (program currency, unit price in USD, functional amount of 12.00 program-currency units)
CASES = [("USD", "60.00", D("12.00")), ("EUR", "75.00", D("15.00"))]


@pytest.mark.parametrize(("currency", "unit_price", "functional_12"), CASES)
def test_retrospective_and_stepped_tiers_give_the_hand_computed_amounts(
    rworld, currency, unit_price, functional_12
):
    ExchangeRateFactory(base="EUR", quote="USD", rate=D("1.25"), valid_on=date(2026, 1, 1))
    retro, step = _programs(rworld, currency)
    # Two shipments of 10 drills: 600.00 each in the program currency (USD 750.00 = EUR 600.00).
    first = ship(rworld, rworld.customer, [(rworld.drill, 10, unit_price)], on=date(2026, 1, 5))
    second = ship(rworld, rworld.customer, [(rworld.drill, 10, unit_price)], on=date(2026, 1, 20))
    accrue_shipment_lines(shipment_line_ids=[sl.pk for sl in first])
    accrue_shipment_lines(shipment_line_ids=[sl.pk for sl in second])

    # Retrospective: 600 @ 2 % = 12.00; then the period reaches 1,200, tier 2: 600 @ 4 % = 24.00.
    assert _amounts(retro) == [D("12.00"), D("24.00")]
    # Stepped: 600 @ 2 % = 12.00; then 400 @ 2 % + 200 @ 4 % = 8.00 + 8.00 = 16.00.
    assert _amounts(step) == [D("12.00"), D("16.00")]
    a = Accrual.objects.filter(program=retro).order_by("pk").last()
    assert (a.value, a.tier, a.rate, a.currency) == (D("600.00"), 2, D("4"), currency)
    assert a.source_currency == "USD"
    assert a.fx_rate == (D("1") if currency == "USD" else D("0.8"))
    assert a.functional_currency == "USD" and a.functional_amount == functional_12 * 2

    # The nightly re-rating: the whole period at tier 2 is 1,200 @ 4 % = 48.00, accrued 36.00.
    adjustments = programs_rerate(today=date(2026, 1, 31))
    assert [(x.program_id, x.amount) for x in adjustments] == [(retro.pk, D("12.00"))]
    # Stepped already matches its period (1,000 @ 2 % + 200 @ 4 % = 28.00): no adjustment.
    assert sum(_amounts(step)) == D("28.00")
    assert sum(a.amount for a in Accrual.objects.filter(program=retro)) == D("48.00")
    adj = Accrual.objects.get(program=retro, kind=AccrualKind.ADJUSTMENT)
    assert adj.functional_amount == functional_12 and adj.basis["expected"] == "48.00"
    # A second run finds nothing new: no second adjustment.
    assert programs_rerate(today=date(2026, 1, 31)) == []

    # The subledger: debits = credits in both currencies, receivable = earned = total accrued.
    totals = entry_totals()
    assert totals["debit"] == totals["credit"] == D("76.00")
    assert totals["fdebit"] == totals["fcredit"] == functional_12 * D("76") / D("12")
    receivable = sum(ln.debit for ln in JournalLine.objects.filter(account="1350"))
    earned = sum(ln.credit for ln in JournalLine.objects.filter(account="5150"))
    assert receivable == earned == D("76.00")


def test_a_new_period_starts_again_from_the_first_tier(rworld):
    retro, step = _programs(rworld, "USD")
    lines = ship(rworld, rworld.customer, [(rworld.drill, 20, "60.00")], on=date(2026, 1, 31))
    lines += ship(rworld, rworld.customer, [(rworld.drill, 10, "60.00")], on=date(2026, 2, 1))
    accrue_shipment_lines(shipment_line_ids=[sl.pk for sl in lines])
    # January: 1,200 retrospective at 4 % = 48.00; February: 600 back at 2 % = 12.00.
    assert _amounts(retro) == [D("48.00"), D("12.00")]
    # Stepped: 1,000 @ 2 % + 200 @ 4 % = 28.00; then 600 @ 2 % = 12.00.
    assert _amounts(step) == [D("28.00"), D("12.00")]
    assert {(a.period_start, a.period_end) for a in Accrual.objects.filter(program=retro)} == {
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
    }


def test_only_the_suppliers_eligible_products_inside_the_dates_accrue(rworld):
    retro, step = _programs(rworld, "USD")
    retro.products.set([rworld.drill])  # the other program takes every product of the supplier
    lines = ship(
        rworld, rworld.customer, [(rworld.drill, 1, "10"), (rworld.saw, 1, "10"), (rworld.widget, 1, "10")],
        on=date(2026, 3, 1),
    )  # fmt: skip
    late = ship(rworld, rworld.customer, [(rworld.drill, 1, "10")], on=date(2027, 1, 2))
    run = accrue_shipment_lines(shipment_line_ids=[sl.pk for sl in lines + late])
    assert sorted((a.program_id, a.source_id) for a in run.created) == [
        (retro.pk, str(lines[0].pk)),
        (step.pk, str(lines[0].pk)),
        (step.pk, str(lines[1].pk)),
    ]


def test_a_budget_cap_clips_the_accrual_that_reaches_it(rworld):
    capped = program(
        code="capped", program_type=ProgramType.SUPPLIER_REBATE, supplier=rworld.supplier, basis="shipments",
        calc_method="per_unit", tier_measure="quantity", tier_mode="stepped", period="year",
        tiers=[(0, None, "1.50")], budget_cap=D("20.00"),
    )  # fmt: skip
    lines = ship(
        rworld, rworld.customer, [(rworld.drill, 10, "5"), (rworld.saw, 10, "5")], on=date(2026, 4, 1)
    )
    accrue_shipment_lines(shipment_line_ids=[sl.pk for sl in lines])
    # 10 x 1.50 = 15.00; the next 15.00 is clipped to the 5.00 left of the budget.
    assert _amounts(capped) == [D("15.00"), D("5.00")]
    capped.refresh_from_db()
    assert capped.accrued_amount == capped.budget_cap


@pytest.mark.unit
def test_tier_arithmetic_and_calendar_periods():
    tiers = [(D(0), D(100), D(1)), (D(100), D(200), D(2)), (D(200), None, D(3))]
    # Stepped per unit: 150 units starting at 50 -> 50 @ 1 + 100 @ 2 = 250.
    amount, tier, _rate, bands = tier_amount(tiers, "stepped", "per_unit", D(50), D(150), D(150))
    assert (amount, tier, len(bands)) == (D(250), 2, 2)
    # Retrospective: reaching exactly 200 is tier 3.
    assert tier_amount(tiers, "retrospective", "per_unit", D(150), D(50), D(50))[:2] == (D(150), 3)
    assert period_bounds("quarter", date(2026, 8, 15)) == (date(2026, 7, 1), date(2026, 9, 30))
    assert period_bounds("month", date(2028, 2, 10)) == (date(2028, 2, 1), date(2028, 2, 29))
    assert period_bounds("year", date(2026, 12, 31)) == (date(2026, 1, 1), date(2026, 12, 31))
