"""Property: after any history of captures, revisions, cancellations (of orders and of lines:
the OMS has no returns, a canceled line stands in for one) and shipments, the rankings read from
the rollups (today from the facts, the month from the monthly rollups, the quarter from the
quarterly ones; the totals from the day totals; the largest orders from the order totals) equal
the same figures computed straight from the order tables.

The facts are kept current by the outbox subscriber, or by the beat catch-up alone (as if every
event had been lost), or rebuilt from scratch; all three must agree with the base tables."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oms.kernel import events
from oms.kernel.exceptions import DomainError
from oms.kernel.money import round_money
from orders.actors import Actor
from orders.models import OrderLine, SalesOrder
from orders.services import line_cancel, order_cancel
from orders.services.fulfillment_updates import line_fulfillment_progress
from orders.states import LineStatus, OrderStatus
from pricing.models import ExchangeRate
from reporting.reports.rollups import facts_catch_up, facts_rebuild
from reporting.reports.selectors import ReportFilters, _add_months, ranking, reads_rollups
from tests.orders.conftest import build_world

from .conftest import submit

pytestmark = [pytest.mark.fuzz, pytest.mark.postgres, pytest.mark.django_db]

RATE = Decimal("1.25")  # EUR -> USD
SKUS = ("DRILL-1", "SAW-1")

lines_st = st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 5)), min_size=1, max_size=3)
op = st.one_of(
    st.tuples(st.just("new"), st.booleans(), lines_st),
    st.tuples(st.just("revise"), st.integers(0, 20), lines_st),
    st.tuples(st.just("cancel"), st.integers(0, 20), st.none()),
    st.tuples(st.just("cancel_line"), st.integers(0, 20), st.none()),
    st.tuples(st.just("ship"), st.integers(0, 20), st.none()),
)  # fmt: skip


@pytest.fixture
def world(db):
    w = build_world()
    ExchangeRate.objects.create(base="EUR", quote="USD", rate=RATE, valid_on=dt.date(2000, 1, 1))
    return w


def _apply(w, history, sources, after_each):
    for kind, arg, lines in history:
        after_each()
        try:
            if kind == "new":
                eur = arg
                source = f"S{len(sources)}"
                priced = [(sku, str(q), "30" if eur else None) for sku, q in lines]
                channel = w.market.channel if eur else w.web.channel
                submit(channel, source, priced, currency="EUR" if eur else "", account="C-1")
                sources.append((channel, source, eur))
            elif sources:
                channel, source, eur = sources[arg % len(sources)]
                order = SalesOrder.objects.get(channel=channel, source_order_id=source, is_current=True)
                if kind == "revise":
                    priced = [(sku, str(q), "30" if eur else None) for sku, q in lines]
                    submit(
                        channel, source, priced, currency="EUR" if eur else "", revision=order.revision + 1
                    )
                elif kind == "cancel":
                    order_cancel(order_id=order.pk, actor=Actor.system(), reason="test")
                elif kind == "cancel_line":
                    line = order.lines.order_by("line_number").first()
                    line_cancel(order_id=order.pk, line_id=line.pk, actor=Actor.system(), reason="returned")
                else:
                    line = order.lines.exclude(status=LineStatus.CANCELED).order_by("line_number").first()
                    if line is not None:
                        line_fulfillment_progress(
                            line_id=line.pk, shipped_delta=line.quantity - line.shipped_quantity
                        )
        except DomainError:
            pass  # a refused step (cancel after shipping, a revision below shipped) changes nothing
    after_each()


def _raw_exact() -> list[Decimal]:
    """The revenue (USD, unrounded) of every line counted."""
    lines = OrderLine.objects.filter(order__is_current=True).exclude(status=LineStatus.CANCELED)
    return [
        Decimal(line.price_breakdown["net"]) * (RATE if line.order.currency == "EUR" else Decimal(1))
        for line in lines.exclude(order__status=OrderStatus.CANCELED).select_related("order")
    ]


def _raw(dimension: str) -> dict[str, tuple[Decimal, Decimal, int]]:
    """Revenue (USD), units and orders per key, straight from the current orders and lines."""
    revenue, units, orders = defaultdict(Decimal), defaultdict(Decimal), defaultdict(set)
    lines = OrderLine.objects.filter(order__is_current=True).exclude(status=LineStatus.CANCELED)
    for line in lines.exclude(order__status=OrderStatus.CANCELED).select_related("order", "order__channel"):
        key = {
            "product": line.product_id,
            "customer": line.order.customer_id,
            "channel": line.order.channel.pk,
            "order": line.order.number,
        }[dimension]
        rate = RATE if line.order.currency == "EUR" else Decimal(1)
        revenue[str(key)] += Decimal(line.price_breakdown["net"]) * rate
        units[str(key)] += line.quantity
        orders[str(key)].add(line.order.number)
    return {k: (round_money(revenue[k], "USD"), units[k], len(orders[k])) for k in revenue}


def _periods() -> list[tuple[dt.date, dt.date]]:
    """Today (read from the facts), its month (the monthly rollups) and its quarter (the
    quarterly rollups)."""
    today = timezone.localdate()
    month = today.replace(day=1)
    quarter = month.replace(month=(month.month - 1) // 3 * 3 + 1)
    return [(today, today), (month, _add_months(month, 1) - dt.timedelta(days=1)),
            (quarter, _add_months(quarter, 3) - dt.timedelta(days=1))]  # fmt: skip


def _from_reports(dimension: str, period: tuple[dt.date, dt.date]) -> dict[str, tuple[Decimal, Decimal, int]]:
    filters = ReportFilters(date_from=period[0], date_to=period[1], currency="USD")
    assert reads_rollups(filters)
    r = ranking(filters=filters, dimension=dimension, metric="revenue", limit=100)
    return {row.key: (row.revenue, row.units, row.orders) for row in r.rows}


def _totals(period: tuple[dt.date, dt.date]) -> tuple[Decimal, Decimal, int]:
    filters = ReportFilters(date_from=period[0], date_to=period[1], currency="USD")
    t = ranking(filters=filters, dimension="day", metric="revenue").totals
    return t["revenue"], t["units"], t["orders"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    history=st.lists(op, min_size=1, max_size=10), refresh=st.sampled_from(["events", "catch_up", "rebuild"])
)
def test_rollups_after_random_histories_equal_the_raw_query(world, history, refresh):
    with transaction.atomic():
        # The facts follow the history step by step (by the events, or by the catch-up alone), or
        # are rebuilt once at the end.
        steps = {"events": events.relay_run, "catch_up": facts_catch_up, "rebuild": lambda: None}
        _apply(world, history, [], steps[refresh])
        if refresh == "rebuild":
            facts_rebuild()
        for period in _periods():
            for dimension in ("product", "customer", "channel", "order"):
                assert _from_reports(dimension, period) == _raw(dimension), (dimension, period, history)
            by_order = _raw("order").values()
            raw_totals = (
                round_money(sum(_raw_exact(), Decimal(0)), "USD"),
                sum((u for _, u, _ in by_order), Decimal(0)),
                len(by_order),
            )
            assert _totals(period) == raw_totals, (period, history)
        transaction.set_rollback(True)
