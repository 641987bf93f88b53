"""Every ranking against figures computed by hand from the fixed history in conftest.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.test import override_settings

from oms.kernel.exceptions import ValidationFailed
from pricing.models import ExchangeRate
from reporting.models import SalesFact
from reporting.reports.rollups import fx_recheck
from reporting.reports.selectors import DIMENSIONS, ReportFilters, cover, ranking, reads_rollups

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.django_db]

WEEK = ReportFilters(date_from=dt.date(2026, 11, 8), date_to=dt.date(2026, 11, 14), currency="USD")


def rows(r):
    return [(x.label, x.value) for x in r.rows]


def test_the_facts_hold_the_current_revision_and_flag_the_canceled_lines(sales):
    o2 = sales.orders[2]
    assert SalesFact.objects.filter(order_number=o2.number).count() == 2
    assert set(SalesFact.objects.filter(order_number=o2.number).values_list("order_id", flat=True)) == {o2.pk}
    assert SalesFact.objects.filter(canceled=True).count() == 2


def test_revenue_by_product_with_share_rank_change_and_change_against_the_previous_week(sales):
    r = ranking(filters=WEEK, dimension="product", metric="revenue")
    drill, saw = r.rows
    assert (drill.key, drill.value, drill.units, drill.orders) == (
        str(sales.drill.pk),
        D("884.00"),
        D("9"),
        5,
    )
    assert (drill.share, drill.previous_rank, drill.rank_change, drill.previous_value) == (
        D("0.7504"), 2, 1, D("110.00"))  # fmt: skip
    assert drill.change_pct == D("703.6")
    assert (saw.value, saw.units, saw.orders, saw.share) == (D("294.00"), D("6"), 3, D("0.2496"))
    assert (saw.rank, saw.previous_rank, saw.rank_change, saw.change_pct) == (2, 1, -1, D("-41.2"))
    assert r.totals["revenue"] == D("1178.00") and r.totals["orders"] == 5 and r.totals["units"] == D("15")
    assert r.previous_totals["revenue"] == D("610.00")
    assert r.excluded == {
        "canceled_lines": 2,
        "canceled_units": D("7"),
        "canceled_revenue": D("600.00"),
        "returned_units": D("0"),
    }
    assert "Canceled lines" in r.note and r.count == 2


def test_units_orders_aov_and_margin_by_product(sales):
    assert rows(ranking(filters=WEEK, dimension="product", metric="units")) == [
        ("DRILL-1 " + sales.drill.name, D("9")), ("SAW-1 " + sales.saw.name, D("6"))]  # fmt: skip
    assert [x.value for x in ranking(filters=WEEK, dimension="product", metric="orders").rows] == [5, 3]
    aov = ranking(filters=WEEK, dimension="product", metric="aov")
    assert [x.value for x in aov.rows] == [D("176.80"), D("98.00")] and aov.rows[0].share is None
    margin = ranking(filters=WEEK, dimension="product", metric="margin")  # the saw has no cost: left out
    assert [(x.key, x.value) for x in margin.rows] == [(str(sales.drill.pk), D("240.00"))]


def test_bottom_n_reverses_the_order_and_keeps_the_ranks(sales):
    r = ranking(filters=WEEK, dimension="order", metric="revenue", direction="bottom", limit=2)
    assert [(x.rank, x.key, x.value) for x in r.rows] == [
        (5, sales.orders[5].number, D("100.00")), (4, sales.orders[4].number, D("108.00"))]  # fmt: skip
    assert r.count == 5


def test_largest_orders_customers_channels_countries_sellers_pages_campaigns(sales):
    o = sales.orders
    largest = ranking(filters=WEEK, dimension="order", metric="revenue")
    expected = [(2, "500.00"), (1, "250.00"), (3, "220.00"), (4, "108.00"), (5, "100.00")]
    assert rows(largest) == [(o[i].number, D(v)) for i, v in expected]
    customers = ranking(filters=WEEK, dimension="customer", metric="aov")
    assert rows(customers) == [(sales.customer.name, D("283.33")), (sales.eu.name, D("164.00"))]
    assert rows(ranking(filters=WEEK, dimension="channel", metric="revenue")) == [
        ("web", D("850.00")),
        ("market", D("328.00")),
    ]
    assert rows(ranking(filters=WEEK, dimension="country", metric="revenue")) == [
        ("US", D("850.00")),
        ("DE", D("328.00")),
    ]
    assert rows(ranking(filters=WEEK, dimension="region", metric="orders")) == [("US-PA", 3), ("DE-BE", 2)]
    assert rows(ranking(filters=WEEK, dimension="seller", metric="revenue")) == [
        ("rep1", D("850.00")),
        ("(no sales rep)", D("328.00")),
    ]
    assert rows(ranking(filters=WEEK, dimension="page", metric="revenue")) == [
        ("(no landing page)", D("928.00")),
        ("/spring", D("250.00")),
    ]
    assert rows(ranking(filters=WEEK, dimension="campaign", metric="units")) == [
        ("(no campaign)", D("12")),
        ("spring", D("3")),
    ]


def test_brand_and_category(sales):
    assert rows(ranking(filters=WEEK, dimension="brand", metric="revenue")) == [
        (sales.drill.brand.name, D("1178.00"))
    ]
    assert rows(ranking(filters=WEEK, dimension="category", metric="revenue")) == [
        (sales.drill.category.name, D("884.00")), (sales.saw.category.name, D("294.00"))]  # fmt: skip


def test_dates_by_day_week_month_and_quarter(sales):
    by_day = ranking(filters=WEEK, dimension="day", metric="revenue", order_by_key=True)
    assert [(x.key, x.value) for x in by_day.rows] == [
        ("2026-11-08", D("250.00")), ("2026-11-09", D("720.00")), ("2026-11-12", D("108.00")),
        ("2026-11-13", D("100.00"))]  # fmt: skip
    # ISO weeks start on Monday: the 8th (a Sunday) belongs to the week of 2 November.
    by_week = ranking(filters=WEEK, dimension="week", metric="revenue", order_by_key=True)
    assert [(x.key, x.value) for x in by_week.rows] == [
        ("2026-11-02", D("250.00")),
        ("2026-11-09", D("928.00")),
    ]
    assert [(x.key, x.value) for x in ranking(filters=WEEK, dimension="month", metric="units").rows] == [
        ("2026-11-01", D("15"))]  # fmt: skip
    assert [(x.key, x.value) for x in ranking(filters=WEEK, dimension="quarter", metric="orders").rows] == [
        ("2026-10-01", 5)]  # fmt: skip


def test_filters_channel_status_customer_group_and_warehouse(sales):
    market = ReportFilters(**{**WEEK.__dict__, "channel": "market"})
    assert [x.value for x in ranking(filters=market, dimension="product", metric="revenue").rows] == [
        D("284.00"), D("44.00")]  # fmt: skip
    group = ReportFilters(**{**WEEK.__dict__, "customer_group": "priority"})
    assert ranking(filters=group, dimension="customer", metric="revenue").totals["revenue"] == D("328.00")
    other_wh = ReportFilters(**{**WEEK.__dict__, "warehouse": "nowhere"})
    assert ranking(filters=other_wh, dimension="product", metric="revenue").rows == []
    statuses = {f.status for f in SalesFact.objects.filter(canceled=False)}
    only = ReportFilters(**{**WEEK.__dict__, "status": tuple(statuses)})
    assert ranking(filters=only, dimension="product", metric="revenue").totals["revenue"] == D("1178.00")
    none = ReportFilters(**{**WEEK.__dict__, "status": ("closed",)})
    assert ranking(filters=none, dimension="product", metric="revenue").totals["revenue"] == D("0.00")


def test_report_currency_eur_through_the_dated_rates(sales):
    eur = ReportFilters(**{**WEEK.__dict__, "currency": "EUR"})
    # USD -> EUR is the reciprocal of the stored EUR -> USD rate of the order's day:
    # drill 200/1.1 + 300/1.1 (the 8th, 9th) + 160 + 90 + 100/1.2 (the 13th)
    #     = 181.8181.. + 272.7272.. + 250 + 83.3333.. = 787.878..
    r = ranking(filters=eur, dimension="product", metric="revenue")
    assert r.rows[0].value == D("787.88")
    assert r.rows[1].value == D("267.27")  # 50/1.1 + 200/1.1 + 40 = 227.2727.. + 40


NOVEMBER = ReportFilters(date_from=dt.date(2026, 11, 1), date_to=dt.date(2026, 11, 30), currency="USD")
QUARTER = ReportFilters(date_from=dt.date(2026, 10, 1), date_to=dt.date(2026, 12, 31), currency="USD")


def test_a_whole_month_reads_the_monthly_rollups(sales):
    # Both weeks: the drill 884 + 110 (P2: 100 EUR at 1.10 on the 5th); the saw 294 + 500 (P1).
    assert cover(NOVEMBER.date_from, NOVEMBER.date_to) == [("m", dt.date(2026, 11, 1), dt.date(2026, 11, 1))]
    r = ranking(filters=NOVEMBER, dimension="product", metric="revenue")
    assert [(x.key, x.value, x.units, x.orders) for x in r.rows] == [
        (str(sales.drill.pk), D("994.00"), D("10"), 6),
        (str(sales.saw.pk), D("794.00"), D("16"), 4),
    ]
    assert r.totals["revenue"] == D("1788.00") and r.totals["orders"] == 7
    assert r.excluded["canceled_lines"] == 2 and r.excluded["canceled_revenue"] == D("600.00")
    quarter = ranking(filters=QUARTER, dimension="customer", metric="revenue")
    assert [(x.label, x.value) for x in quarter.rows] == [
        (sales.customer.name, D("1350.00")), (sales.eu.name, D("438.00"))]  # fmt: skip


@pytest.mark.parametrize("dimension", sorted(DIMENSIONS))
def test_the_rollups_give_every_ranking_the_facts_give(sales, dimension):
    """Every dimension and metric, over ranges read from the facts (a week), the monthly
    rollups (November), the quarterly ones (Q4) and a mix (16 Oct - 30 Nov): the same rows."""
    # The facts path wants a rate for every day of both periods (Q4's previous period starts in July).
    ExchangeRate.objects.create(base="EUR", quote="USD", rate=D("1.05"), valid_on=dt.date(2026, 6, 1))
    mixed = ReportFilters(date_from=dt.date(2026, 10, 16), date_to=dt.date(2026, 11, 30), currency="USD")
    ranges = [WEEK, NOVEMBER, QUARTER, mixed]
    for filters in ranges:
        assert reads_rollups(filters)
        for metric in ("revenue", "units", "orders", "aov", "margin"):
            for direction in ("top", "bottom"):
                got = ranking(filters=filters, dimension=dimension, metric=metric, direction=direction)
                with override_settings(OMS_REPORTS_ROLLUPS=False):
                    assert not reads_rollups(filters)
                    want = ranking(filters=filters, dimension=dimension, metric=metric, direction=direction)
                assert got.rows == want.rows, (filters, metric, direction)
                assert (got.count, got.totals, got.previous_totals, got.excluded) == (
                    want.count, want.totals, want.previous_totals, want.excluded)  # fmt: skip


def test_a_missing_rate_is_refused_naming_the_currency_on_the_rollups_too(sales):
    ExchangeRate.objects.filter(base="EUR", valid_on=dt.date(2026, 10, 1)).delete()
    assert fx_recheck() == 2  # O3 (the 9th) and P2 (the 5th) lost their rate; the 1.20 days keep theirs
    with pytest.raises(ValidationFailed) as refused:
        ranking(filters=WEEK, dimension="product", metric="revenue")
    assert "EUR" in refused.value.fields["currency"][0]
    ExchangeRate.objects.create(base="EUR", quote="USD", rate=D("1.10"), valid_on=dt.date(2026, 10, 1))
    assert fx_recheck() == 2 and fx_recheck() == 0
    assert ranking(filters=NOVEMBER, dimension="product", metric="revenue").rows[0].value == D("994.00")
