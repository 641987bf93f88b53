"""The lock guard over the SQL: an order's whole life (capture, a revision, fulfillment start,
every step, the shipment advice, the invoice, the outbox relay) runs under a statement recorder,
and no `FOR UPDATE` over a join may lack its `OF` (the tables it means to lock)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test import Client

from fulfillment.models import FulfillmentLine, Shipment
from fulfillment.states import FulfillmentLineStatus
from orders.models import SalesOrder

from .conftest import advise, order_body, settle, submit, wake_pauses

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.django_db]

_ROW_LOCK = re.compile(r"\bFOR (?:NO KEY )?UPDATE\b(?! OF\b)|\bFOR (?:KEY )?SHARE\b(?! OF\b)")


def unscoped_join_lock(sql: str) -> bool:
    """A row-locking statement over a join that does not say which tables it locks."""
    return bool(_ROW_LOCK.search(sql)) and " JOIN " in sql


class Recorder:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append(sql)
        return execute(sql, params, many, context)

    def locking(self) -> list[str]:
        return [s for s in self.statements if re.search(r"\bFOR (?:NO KEY )?UPDATE\b", s)]


def test_the_checker_flags_an_unscoped_lock_over_select_related(fworld):
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        unscoped = FulfillmentLine.objects.select_for_update()  # lock-guard: deliberate
        list(unscoped.select_related("order__channel"))
        list(FulfillmentLine.objects.select_for_update(of=("self",)).select_related("order__channel"))
    flagged = [unscoped_join_lock(s) for s in recorder.statements]
    assert flagged == [True, False]


def test_an_orders_life_locks_no_joined_rows(fworld):
    client = Client()
    recorder = Recorder()
    ship_date = (date.today() + timedelta(days=10)).isoformat()
    line = {"source_line_id": "1", "sku": "DRILL-1", "quantity": "3", "requested_ship_date": ship_date}
    with connection.execute_wrapper(recorder):
        order = submit(client, fworld, order_body(lines=[line]))
        settle()
        submit(client, fworld, order_body(revision=2, lines=[{**line, "quantity": "4"}]))
        settle()
        wake_pauses()
        settle()
        shipment = Shipment.objects.get(order_number=order["number"])
        assert advise(client, fworld, shipment=shipment.number, advice_id="A1").status_code == 200
        settle()
    fl = FulfillmentLine.objects.get(order_number=order["number"], status=FulfillmentLineStatus.CLOSED)
    assert fl.quantity == 4
    assert SalesOrder.objects.get(number=order["number"], is_current=True).status == "closed"
    locking = recorder.locking()
    # Not vacuous: the capture's revision lock, the steps' process/step/line locks, the relay's
    # deliveries, the order header and lines of the shipment and the invoice all ran.
    assert len(locking) >= 20, locking
    assert any(" JOIN " in s for s in locking)  # joins are still read with the locks, just not locked
    offenders = [s for s in locking if unscoped_join_lock(s)]
    assert offenders == []
