"""Operational reports against figures worked out by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from inventory.models import Demand
from orders.models import OrderHold, SalesOrder
from reporting.reports import operational
from reporting.reports.selectors import ReportFilters
from tests.factories.orders import HoldCodeFactory

from .conftest import at

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.django_db]

WEEK = ReportFilters(date_from=dt.date(2026, 11, 8), date_to=dt.date(2026, 11, 14), currency="USD")


def _hold(order, code, applied: dt.datetime, released: dt.datetime | None):
    return OrderHold.objects.create(
        order=order,
        hold_code=code,
        reason="check",
        applied_by="system",
        applied_at=applied,
        released_at=released,
        release_reason="ok" if released else "",
        released_by="system" if released else "",
    )


def test_hold_durations_by_code_with_percentiles_and_active_holds_apart(sales):
    manual, credit = HoldCodeFactory(code="manual"), HoldCodeFactory(code="credit-review", name="Credit")
    o = sales.orders
    _hold(o[1], manual, at(8), at(8) + dt.timedelta(hours=2))
    _hold(o[2], manual, at(9), at(9) + dt.timedelta(hours=4))
    _hold(o[3], manual, at(10), at(10) + dt.timedelta(hours=10))
    _hold(o[4], credit, at(12), None)
    _hold(o[5], manual, at(3), at(3) + dt.timedelta(hours=99))  # applied before the range: not counted
    r = operational.run("hold_durations", filters=WEEK)
    rows = {row[0]: row for row in r.rows}
    # manual: 2, 4, 10 hours -> p50 4.0; inclusive quantiles: p90 = 4 + 0.8 * 6 = 8.8, p95 = 4 + 0.9 * 6 = 9.4
    assert rows["manual"] == ["manual", 3, 3, 0, D("4.0"), D("8.8"), D("9.4")]
    assert rows["credit-review"] == ["credit-review", 1, 0, 1, None, None, None]
    assert r.summary == {"applied": 4, "still_active": 1}


def test_backorder_aging_buckets_open_backorders_by_age(sales):
    today = timezone.localdate()
    for days, qty in ((0, "1"), (5, "2"), (10, "3"), (45, "4"), (61, "5"), (200, "6")):
        d = Demand.objects.create(
            demand_type="test", demand_id=f"d{days}", product=sales.drill, quantity=D(qty)
        )
        Demand.objects.filter(pk=d.pk).update(created_at=timezone.now() - dt.timedelta(days=days))
    Demand.objects.create(
        demand_type="test", demand_id="done", product=sales.drill, quantity=D("9"), status="reserved"
    )
    r = operational.run("backorder_aging", filters=WEEK)
    assert [(row[0], row[1], row[2]) for row in r.rows] == [
        ("0-7 days", 2, D("3")),
        ("8-14 days", 1, D("3")),
        ("15-30 days", 0, D("0")),
        ("31-60 days", 1, D("4")),
        ("over 60 days", 2, D("11")),
    ]
    assert r.summary["open_backorders"] == 6 and r.summary["as_of"] == today


def test_jeopardy_over_time_counts_raised_resolved_and_open_at_each_days_end(wb):
    from fulfillment.models import JeopardyAlert

    from .workbench_world import raise_alert

    tz = timezone.get_current_timezone()
    lines = iter([wb.wb.east, wb.wb.west, wb.wb.failing, wb.wb.held])  # one unresolved alert per process

    def alert(priority, raised, resolved=None):
        a = raise_alert(next(lines), priority, 50, "late")
        JeopardyAlert.objects.filter(pk=a.pk).update(
            raised_at=dt.datetime.combine(raised, dt.time(9), tzinfo=tz),
            resolved_at=resolved and dt.datetime.combine(resolved, dt.time(17), tzinfo=tz),
            status="resolved" if resolved else "open",
        )

    JeopardyAlert.objects.all().delete()
    d = dt.date(2026, 11, 8)
    alert(
        "low", d - dt.timedelta(days=3), d + dt.timedelta(days=1)
    )  # open before the range, resolved on the 9th
    alert("high", d, d)  # raised and resolved on the 8th
    alert("medium", d + dt.timedelta(days=1))  # raised on the 9th, still open
    alert("high", d + dt.timedelta(days=20))  # after the range
    r = operational.run("jeopardy", filters=WEEK)
    rows = {row[0]: row[1:] for row in r.rows}
    assert len(r.rows) == 7
    assert rows[d] == [0, 0, 1, 1, 1]  # the low one is still open at the end of the 8th
    assert rows[d + dt.timedelta(days=1)] == [0, 1, 0, 1, 1]
    assert rows[d + dt.timedelta(days=6)] == [0, 0, 0, 0, 1]
    assert r.summary == {"raised": 2, "resolved": 2, "open_at_end": 1}


def test_rebates_earned_vs_claimed_by_program(db):
    from rebates.models import Claim, ClaimLine
    from tests.rebates.claims_support import accrue, program

    p = program(code="SR-9")
    a1 = accrue(p, "100", on=dt.date(2026, 11, 9))
    a2 = accrue(p, "50", on=dt.date(2026, 11, 10))
    accrue(p, "-20", on=dt.date(2026, 11, 12), kind="reversal", reverses=a2)
    out = accrue(p, "30", on=dt.date(2026, 11, 20))  # after the range

    def claim(status, accrual, amount, settled="0"):
        money = {"amount": D(amount), "original_amount": D(amount), "settled_amount": D(settled)}
        c = Claim.objects.create(program=p, supplier=p.supplier, status=status, currency="USD", **money)
        ClaimLine.objects.create(claim=c, accrual=accrual, amount=D(amount))

    claim("settled", a1, "100", settled="100")
    claim("canceled", a2, "50")  # canceled: not claimed
    claim("submitted", out, "30")  # its accrual is outside the range
    r = operational.run("rebates", filters=WEEK)
    # earned 100 + 50 - 20 = 130; claimed 100 (settled); unclaimed 30
    assert r.rows == [["SR-9", "USD", D("130.0000"), D("100.0000"), D("100.0000"), D("30.0000"), D("0.7692")]]
    assert r.summary == {"programs": 1, "currencies": 1}


def _hour(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


def _ship(world, order, shipped_at: dt.datetime, units: dict[str, str]) -> None:
    """A shipped shipment of the order's current lines, `units` by SKU."""
    from fulfillment.models import FulfillmentLine, Shipment, ShipmentLine
    from orders.models import OrderLine

    n = Shipment.objects.count() + 1
    shipment = Shipment.objects.create(
        number=f"SH-T{n}", order=order, order_number=order.number, warehouse=world.warehouse,
        status="shipped", request_key=f"t:{n}", shipped_at=shipped_at,
    )  # fmt: skip
    current = SalesOrder.objects.get(number=order.number, is_current=True)
    for sku, qty in units.items():
        line = OrderLine.objects.get(order=current, product__sku=sku)
        fl = FulfillmentLine.objects.filter(order_line=line).first() or FulfillmentLine.objects.create(
            order=current, order_line=line, order_number=order.number, source_line_id=line.source_line_id,
            product=line.product, quantity=line.quantity, warehouse=world.warehouse,
        )  # fmt: skip
        ShipmentLine.objects.create(
            shipment=shipment, fulfillment_line=fl, quantity_requested=D(qty), quantity_shipped=D(qty)
        )


def _invoice(order, issued_at: dt.datetime) -> None:
    from billing.models import Invoice

    n = Invoice.objects.count() + 1
    Invoice.objects.create(
        number=f"INV-T{n}", order=order, order_number=order.number, customer=order.customer,
        status="issued", request_key=f"t:{n}", issued_at=issued_at,
    )  # fmt: skip


@pytest.fixture
def shipped(sales):
    o = sales.orders
    _ship(sales, o[1], _hour(9, 12), {"DRILL-1": "2"})  # 24 h after capture; 2 of its 3 units
    _ship(sales, o[1], _hour(10, 12), {"SAW-1": "1"})  # a later shipment: not the first
    _ship(sales, o[3], _hour(9, 14, 30), {"DRILL-1": "2", "SAW-1": "1"})  # 2.5 h
    _ship(sales, o[2], _hour(11, 12), {"DRILL-1": "3", "SAW-1": "4"})  # 48 h after revision 1
    _ship(sales, o[5], _hour(13, 13, 15), {"DRILL-1": "1"})  # 1.25 h: a tenth rounded half up
    _invoice(o[1], _hour(9, 20))  # 8 h after its first shipment, 32 h after capture
    _invoice(o[2], _hour(11, 14))  # 2 h, 50 h
    return sales


def test_cycle_times_percentiles_interpolate_between_ranks_in_tenths_of_an_hour(shipped):
    report = operational.run("cycle_times", filters=WEEK)
    assert report.rows == [
        # [1.3, 2.5, 24, 48]: p50 halfway between 2.5 and 24 is 13.25, a tenth half up.
        ["capture_to_ship", 4, D("13.3"), D("40.8"), D("44.4")],
        ["ship_to_invoice", 2, D("5.0"), D("7.4"), D("7.7")],
        ["capture_to_invoice", 2, D("41.0"), D("48.2"), D("49.1")],
    ]
    # O1-O6 were first captured in the week (O2 once, though it has two revisions).
    assert report.summary == {"orders_captured": 6, "shipped": 4, "invoiced": 2}
    market = operational.run("cycle_times", filters=dataclasses.replace(WEEK, channel="market"))
    assert market.rows[0] == ["capture_to_ship", 1, D("2.5"), D("2.5"), D("2.5")]
    assert market.rows[1] == ["ship_to_invoice", 0, None, None, None]


def test_fill_rate_is_what_each_orders_first_shipment_carried_of_its_live_units(shipped):
    report = operational.run("fill_rate", filters=WEEK)
    # web: O1 2 of 3 (the saw came later), O2 7 of 7 (revision 2's quantities), O5 1 of 1 (its
    # canceled saw line left out); O6 canceled whole. market: O3 3 of 3; O4 not shipped.
    assert report.rows == [
        ["market", 1, D("3"), D("3"), D("1.0000")],
        ["web", 3, D("11"), D("10"), D("0.9091")],
    ]
    assert report.summary == {
        "orders_shipped": 4,
        "ordered_units": D("14"),
        "first_shipment_units": D("13"),
        "fill_rate": D("0.9286"),
        "orders_not_shipped": 1,
    }
