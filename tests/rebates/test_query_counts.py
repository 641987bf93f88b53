"""An accrual run is set-based: its number of queries does not grow with the lines it accrues
(the 100,000-line figure is bench/bench_rebates_accrual.py)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pricing.models import SegmentMembership
from rebates.models import ProgramType, ShipDebitAuthorization
from rebates.services.accruals import accrue_shipment_lines
from tests.factories.pricing import PricingSegmentFactory

from .conftest import program, ship

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _programs(world):
    program(
        code="sr",
        program_type=ProgramType.SUPPLIER_REBATE,
        supplier=world.supplier,
        basis="shipments",
        tiers=[(0, 100, 1), (100, None, 2)],
        tier_mode="retrospective",
    )
    group = PricingSegmentFactory(code="grp")
    SegmentMembership.objects.create(segment=group, customer=world.customer)
    program(
        code="cv",
        program_type=ProgramType.CUSTOMER_VOLUME,
        customer_segment=group,
        basis="shipments",
        tiers=[(0, None, 1)],
        budget_cap=1000,
    )
    sd = program(code="sd", program_type=ProgramType.SHIP_AND_DEBIT, supplier=world.supplier)
    auth = ShipDebitAuthorization.objects.create(
        program=sd,
        number="A",
        valid_from=date(2026, 1, 1),
        valid_to=date(2026, 12, 31),
        max_quantity=500,
        method="amount_off",
        value=1,
    )
    auth.customers.set([world.customer])
    auth.products.set([world.drill])


def test_the_queries_of_an_accrual_run_do_not_grow_with_its_lines(rworld):
    _programs(rworld)
    counts = []
    for n, day in ((2, 3), (40, 4)):
        lines = ship(rworld, rworld.customer, [(rworld.drill, 1, "10")] * n, on=date(2026, 5, day))
        with CaptureQueriesContext(connection) as ctx:
            run = accrue_shipment_lines(shipment_line_ids=[sl.pk for sl in lines])
        assert len(run.created) == 3 * n
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 30, counts
