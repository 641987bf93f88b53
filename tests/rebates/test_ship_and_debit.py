"""Ship-and-debit: an accrual appears only for a shipment to an eligible customer (directly or
through a customer group) of an eligible product inside the dates and under the maximum
quantity; the shipment that crosses the maximum accrues only the remainder; a redelivered
shipment event accrues nothing twice; a return reverses it (and gives the quantity back)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from oms.kernel import events
from oms.kernel.models import OutboxDelivery
from pricing.models import SegmentMembership
from rebates.models import Accrual, AccrualKind, ProgramType, ShipDebitAuthorization
from rebates.services.accruals import accrual_reverse, accrue_shipment_lines
from rebates.services.journal import entry_totals
from tests.factories.customers import CustomerFactory
from tests.factories.pricing import PricingSegmentFactory

from .conftest import program, ship

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
D = Decimal


@pytest.fixture
def sd(rworld):
    p = program(code="sd-acme", program_type=ProgramType.SHIP_AND_DEBIT, supplier=rworld.supplier)
    group = PricingSegmentFactory(code="hospitals")
    member = CustomerFactory(account_number="C-HOSP")
    SegmentMembership.objects.create(segment=group, customer=member)
    auth = ShipDebitAuthorization.objects.create(
        program=p, number="SD-2026-001", valid_from=date(2026, 3, 1), valid_to=date(2026, 3, 31),
        max_quantity=D("25"), method="new_cost", base_cost=D("80.00"), value=D("65.00"),
    )  # fmt: skip
    auth.customers.set([rworld.customer])
    auth.segments.set([group])
    auth.products.set([rworld.drill])
    rworld.member = member
    return p, auth


def _publish_shipped(lines) -> None:
    shipment = lines[0].shipment
    with transaction.atomic():
        events.publish(
            "shipment.shipped",
            {"number": shipment.order_number, "shipment": shipment.number, "lines": []},
            aggregate=("order", shipment.order_number),
        )
    events.relay_run()


def test_only_eligible_customer_product_and_dates_accrue_at_the_unit_debit(rworld, sd):
    p, auth = sd
    on = date(2026, 3, 10)
    cases = [
        ship(rworld, rworld.customer, [(rworld.drill, 4, "100.00")], on=on),  # eligible customer
        ship(rworld, rworld.member, [(rworld.drill, 2, "100.00")], on=on),  # through the customer group
        ship(rworld, rworld.customer2, [(rworld.drill, 3, "100.00")], on=on),  # not an eligible customer
        ship(rworld, rworld.customer, [(rworld.saw, 3, "100.00")], on=on),  # not an eligible product
        ship(rworld, rworld.customer, [(rworld.drill, 3, "100.00")], on=date(2026, 4, 1)),  # after the dates
        ship(rworld, rworld.customer, [(rworld.drill, 3, "100.00")], on=date(2026, 2, 28)),  # before them
    ]
    for lines in cases:
        _publish_shipped(lines)
    got = [(a.source_id, a.quantity, a.amount) for a in Accrual.objects.filter(program=p).order_by("pk")]
    # New cost 65.00 against a book cost of 80.00: 15.00 a unit.
    assert got == [(str(cases[0][0].pk), D("4"), D("60.00")), (str(cases[1][0].pk), D("2"), D("30.00"))]
    a = Accrual.objects.filter(program=p).first()
    assert (a.authorization_id, a.supplier_id, a.customer_id) == (
        auth.pk,
        rworld.supplier.pk,
        rworld.customer.pk,
    )
    assert D(a.basis["unit_debit"]) == D("15") and a.document == cases[0][0].shipment.number


def test_the_shipment_that_crosses_the_maximum_accrues_only_the_remainder(rworld, sd):
    p, auth = sd
    on = date(2026, 3, 12)
    first = ship(rworld, rworld.customer, [(rworld.drill, 20, "100.00")], on=on)
    crossing = ship(rworld, rworld.customer, [(rworld.drill, 8, "100.00")], on=on)
    after = ship(rworld, rworld.customer, [(rworld.drill, 1, "100.00")], on=on)
    for lines in (first, crossing, after):
        _publish_shipped(lines)
    got = [(a.quantity, a.amount) for a in Accrual.objects.filter(program=p).order_by("pk")]
    assert got == [(D("20"), D("300.00")), (D("5"), D("75.00"))]  # 25 is the maximum; nothing after it
    auth.refresh_from_db()
    assert auth.consumed_quantity == auth.max_quantity == D("25")
    assert (
        Accrual.objects.get(program=p, source_id=str(crossing[0].pk)).basis["remainder_of_maximum"]
        == "5.0000"
    )


def test_a_redelivered_shipment_event_accrues_nothing_twice(rworld, sd):
    p, auth = sd
    lines = ship(rworld, rworld.customer, [(rworld.drill, 4, "100.00")], on=date(2026, 3, 10))
    _publish_shipped(lines)
    _publish_shipped(lines)  # the warehouse sent its advice again: a second event for the same lines
    run = accrue_shipment_lines(
        shipment_line_ids=[lines[0].pk]
    )  # and a direct re-run of the handler's service
    assert run.created == [] and run.already == 1
    assert Accrual.objects.filter(program=p).count() == 1
    assert OutboxDelivery.objects.filter(subscriber="rebates.accrue_shipments", status="done").count() == 2
    auth.refresh_from_db()
    assert auth.consumed_quantity == D("4")
    assert entry_totals()["debit"] == D("60.00")


def test_a_return_reverses_the_accrual_and_gives_the_quantity_back(rworld, sd):
    p, auth = sd
    lines = ship(rworld, rworld.customer, [(rworld.drill, 4, "100.00")], on=date(2026, 3, 10))
    _publish_shipped(lines)
    # The topic returns will publish; a partial return of 1 of the 4 units, delivered twice.
    for _ in range(2):
        with transaction.atomic():
            events.publish(
                "shipment.returned",
                {"shipment": lines[0].shipment.number, "return": "RMA-1",
                 "lines": [{"shipment_line": lines[0].pk, "quantity": "1"}]},
            )  # fmt: skip
        events.relay_run()
    rows = [(a.kind, a.quantity, a.amount) for a in Accrual.objects.filter(program=p).order_by("pk")]
    assert rows == [(AccrualKind.ACCRUAL, D("4"), D("60.00")), (AccrualKind.REVERSAL, D("-1"), D("-15.00"))]
    # The rest comes back (a full return): only what is left is reversed.
    reversed_rest = accrual_reverse(
        source_type="shipment_line", source_id=str(lines[0].pk), event_key="RMA-2"
    )
    assert [(r.quantity, r.amount) for r in reversed_rest] == [(D("-3"), D("-45.00"))]
    assert accrual_reverse(source_type="shipment_line", source_id=str(lines[0].pk), event_key="RMA-3") == []
    assert sum(a.amount for a in Accrual.objects.filter(program=p)) == 0
    auth.refresh_from_db()
    p.refresh_from_db()
    assert auth.consumed_quantity == 0 and p.accrued_amount == 0
    original = Accrual.objects.get(program=p, kind=AccrualKind.ACCRUAL)
    assert set(original.reversals.values_list("event_key", flat=True)) == {"return:RMA-1", "RMA-2"}
    totals = entry_totals()
    assert totals["debit"] == totals["credit"] == D("120.00")  # 60 accrued, 15 + 45 reversed
