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
