"""Operational reports against figures worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from inventory.models import Demand
from orders.models import OrderHold
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
