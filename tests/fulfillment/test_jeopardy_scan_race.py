"""Two jeopardy scans started at the same moment (two beat instances by mistake) on PostgreSQL:
every alert, every `order.jeopardy_changed` event and the digest exist exactly once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from fulfillment.models import JeopardyAlert, JeopardyScan
from fulfillment.services.jeopardy import jeopardy_scan
from oms.kernel.models import OutboxEvent

from .conftest import build_fulfillment_world, order_body, settle, submit
from .jeopardy_support import default_policy, every_day, fulfillment_staff, in_days


@pytest.mark.postgres
@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_raise_every_alert_exactly_once():
    world = build_fulfillment_world()
    every_day(world)
    default_policy()
    fulfillment_staff()
    numbers = []
    for i in range(3):
        body = order_body(
            f"J-{i}",
            lines=[{"source_line_id": "1", "sku": "PIANO-1", "quantity": "1"}],
            requested_delivery_date=in_days(10),
        )
        numbers.append(submit(Client(), world, body)["number"])
    settle()
    jeopardy_scan()  # all on time
    later = timezone.now() + timedelta(days=9)
    barrier = threading.Barrier(2)
    first_scanned, second_started = threading.Event(), threading.Event()
    results, errors = [], []

    def first():
        # Scans, then keeps its transaction open until the second scan is under way: the two
        # overlap for certain, however fast one scan is.
        try:
            barrier.wait()
            with transaction.atomic():
                results.append(jeopardy_scan(now=later))
                first_scanned.set()
                second_started.wait(10)
                time.sleep(1.0)
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)
        finally:
            first_scanned.set()
            connection.close()

    def second():
        try:
            barrier.wait()
            first_scanned.wait(10)
            second_started.set()
            results.append(jeopardy_scan(now=later))
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(r.alerts_raised for r in results) == [0, 3]
    assert JeopardyAlert.objects.count() == 3
    assert sorted(JeopardyAlert.objects.values_list("order_number", flat=True)) == sorted(numbers)
    assert OutboxEvent.objects.filter(topic="order.jeopardy_changed").count() == 3
    assert OutboxEvent.objects.filter(topic="fulfillment.jeopardy_digest").count() == 1
    assert JeopardyScan.objects.count() == 3
