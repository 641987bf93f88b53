"""The pricing trace and the charges come from the same evaluation (issue 14 item 9): the trace
screen re-prices the whole order (not one line alone), so a rule its charges apply is never
traced as skipped. Walks every demo order."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from orders.actors import Actor
from orders.inputs import CustomerInput, LineInput, ManualAdjustmentInput, OrderInput
from orders.models import SalesOrder
from orders.services import order_submit
from orders.traces import order_price_trace

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

RULE_KINDS = {"discount", "markup", "order_discount"}


def _agreement_problems(order: SalesOrder) -> list[str]:
    problems = []
    _, traces = order_price_trace(order)
    for trace in traces:
        where = f"{order.number} line {trace.line_number}"
        if not trace.agrees:
            problems.append(f"{where}: charges {trace.stored} but the trace's run gives {trace.components}")
        for charge in trace.stored:
            if charge["kind"] not in RULE_KINDS or not charge.get("rule"):
                continue
            said = [t for t in trace.entries if t.step == "rule" and t.subject.startswith(charge["rule"])]
            if not said or all(t.outcome != "applied" for t in said):
                problems.append(f"{where}: {charge['rule']} is charged but traced as {said}")
    return problems


def test_trace_and_charges_agree_on_every_demo_order(monkeypatch):
    monkeypatch.setenv("OMS_DEMO_PASSWORD", "demo-pass-123")
    call_command("seed_demo", stdout=StringIO())
    orders = list(
        SalesOrder.objects.filter(is_current=True)
        .select_related("customer", "channel")
        .prefetch_related("lines__product")
    )
    assert len(orders) >= 20
    charged_rules = sum(
        1
        for o in orders
        for ln in o.lines.all()
        for c in ln.price_breakdown.get("components", [])
        if c["kind"] in RULE_KINDS
    )
    assert charged_rules > 0  # the walk covers orders that rules apply to
    problems = [p for order in orders for p in _agreement_problems(order)]
    assert problems == []


def test_a_manually_adjusted_line_traces_its_adjustment_and_agrees(world, django_user_model):
    desk = django_user_model.objects.create_user(username="desk", is_staff=True)
    order = order_submit(
        channel=world.web.channel,
        actor=Actor.for_user(desk),
        data=OrderInput(
            source_order_id="MANUAL-1",
            customer=CustomerInput(account_number="C-1"),
            lines=(
                LineInput(
                    source_line_id="1",
                    sku="DRILL-1",
                    quantity=Decimal(3),
                    manual_adjustment=ManualAdjustmentInput("percent_off", Decimal(30), "price-match"),
                ),
                LineInput(source_line_id="2", sku="SAW-1", quantity=Decimal(1)),
            ),
        ),
    ).order
    assert _agreement_problems(SalesOrder.objects.get(pk=order.pk)) == []
    _, traces = order_price_trace(order)
    assert any(t.step == "manual" and t.outcome == "applied" for t in traces[0].entries)
