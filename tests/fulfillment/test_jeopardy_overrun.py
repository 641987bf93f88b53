"""A process whose current step overran has an expected end that grows with the clock. An
incremental scan writes it only when its score or priority moves (or it was replanned): a rescan
with nothing else changed touches no row; a full scan brings its figures to the scan's time; a
delay that crosses a threshold is written (and alerts) by the next incremental scan."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.models import FulfillmentLine, JeopardyAlert, ProcessInstance, StepInstance
from fulfillment.services.jeopardy import PolicyBook, jeopardy_scan

from .jeopardy_support import jeopardy_world, late_piano_orders

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _rows(process_id: int, step_id: int) -> tuple[dict, dict]:
    return (
        ProcessInstance.objects.filter(pk=process_id).values().get(),
        StepInstance.objects.filter(pk=step_id).values().get(),
    )


def test_an_unchanged_overrun_process_is_not_rewritten_by_a_rescan(fworld):
    jeopardy_world(fworld)
    before_scan = timezone.now()
    (alert,) = late_piano_orders(fworld, 1, prefix="OV")  # scanned nine days ahead: overrun
    process = ProcessInstance.objects.get(pk=alert.process_id)
    assert process.current_step_due < before_scan + timedelta(days=9), "the current step overran"
    written = _rows(process.pk, process.current_step_id)
    later = before_scan + timedelta(days=9, minutes=10)

    # Ten minutes on, only the clock moved: same score and priority, nothing written.
    again = jeopardy_scan(now=later)
    assert (again.processes_changed, again.steps_changed, again.alerts_raised) == (0, 0, 0)
    assert _rows(process.pk, process.current_step_id) == written
    assert jeopardy_scan(now=later + timedelta(minutes=5)).processes_changed == 0

    # A full scan brings the overrun's figures to its own time.
    full = jeopardy_scan(full=True, now=later)
    process.refresh_from_db()
    assert full.processes_changed == 1
    assert process.expected_end > written[0]["expected_end"]
    assert process.jeopardy_delay_hours > written[0]["jeopardy_delay_hours"]
    assert (process.jeopardy_score, process.jeopardy_priority) == (
        written[0]["jeopardy_score"],
        written[0]["jeopardy_priority"],
    )

    # When the growing delay crosses the top threshold (3 days), the incremental scan writes it.
    book = PolicyBook.load()
    code = FulfillmentLine.objects.get(pk=process.fulfillment_line_id).process.definition.code
    days = 4
    crossing = jeopardy_scan(now=later + timedelta(days=days))
    process.refresh_from_db()
    expected = book.judge(code, process.current_task_type, process.jeopardy_delay_hours)
    assert (process.jeopardy_score, process.jeopardy_priority) == expected == (90, "high")
    if written[0]["jeopardy_priority"] != "high":
        assert crossing.processes_changed == 1 and crossing.alerts_raised == 1
        assert JeopardyAlert.objects.filter(process=process, status="open").get().priority == "high"
    assert written[0]["jeopardy_priority"] != "high", "the crossing above was exercised"
