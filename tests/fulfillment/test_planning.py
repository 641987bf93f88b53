"""Planning over a business calendar, checked against dates computed by hand.

The east warehouse works Monday to Friday with a 15:00 shipping cut-off and a holiday on
Monday 2026-12-07. The order must be delivered on Thursday 2026-12-10; with two transit days
the goods must leave by Tuesday 2026-12-08 15:00. The ship-from-warehouse process:
1 Schedule 1 h, 2 Reserve 1 h, 3 Pause 0 h, 4 Request shipment 1 h, 5 Wait for shipment 24 h,
6 Invoice 1 h, 7 Close 0 h.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from django.test import Client

from fulfillment.calendar import BusinessCalendar
from fulfillment.models import FulfillmentLine, Holiday, StepInstance
from fulfillment.services.planning import process_plan
from fulfillment.states import StepStatus
from orders.models import SalesOrder

from .conftest import order_body, settle, submit


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.mark.unit
def test_calendar_skips_weekends_and_holidays_both_ways():
    cal = BusinessCalendar.from_string("12345", holidays=[date(2026, 12, 7)], cutoff=time(15), tz=UTC)
    # Friday 20:00 + 10 h: 4 h on Friday, then Tuesday (Sat, Sun, Mon holiday skipped) 6 h.
    assert cal.add(at(4, 20), 10) == at(8, 6)
    assert cal.subtract(at(8, 6), 10) == at(4, 20)
    # A start on a closed day waits for the next working day.
    assert cal.add(at(5, 12), 1) == at(8, 1)
    # The ship step released after the cut-off starts on the next working day.
    assert cal.ship_start(at(4, 15, 1)) == at(8, 0)
    assert cal.ship_start(at(4, 15, 0)) == at(4, 15)
    # Goods due on a Sunday must leave by Friday's cut-off.
    assert cal.ship_by(date(2026, 12, 6)) == at(4, 15)


@pytest.mark.integration
@pytest.mark.django_db
def test_hand_computed_plan_across_a_weekend_a_holiday_and_the_cutoff_then_a_late_completion(fworld):
    fworld.east.working_days, fworld.east.shipping_cutoff = "12345", time(15)
    fworld.east.save()
    Holiday.objects.create(date=date(2026, 12, 7), name="Warehouse inventory day", warehouse=fworld.east)
    number = submit(Client(), fworld, order_body())["number"]
    settle()
    SalesOrder.objects.filter(number=number).update(requested_delivery_date=date(2026, 12, 10))
    fl = FulfillmentLine.objects.get(order_number=number)
    assert fl.warehouse == fworld.east
    process = fl.process
    # Sequences are 10, 20, ...: number them 1..7 as above.
    steps = {s.sequence // 10: s for s in StepInstance.objects.filter(process=process)}
    # Steps 1-3 done on Friday 2026-12-04, step 4 started at 14:30.
    for seq, (start, end) in {
        1: (at(4, 12), at(4, 13)),
        2: (at(4, 13), at(4, 14)),
        3: (at(4, 14), at(4, 14)),
    }.items():
        StepInstance.objects.filter(pk=steps[seq].pk).update(
            status=StepStatus.COMPLETED,
            actual_start=start,
            actual_end=end,
            planned_start=start,
            planned_end=end,
        )
    StepInstance.objects.filter(pk=steps[4].pk).update(
        status=StepStatus.RUNNING, actual_start=at(4, 14, 30), actual_end=None, wake_at=None
    )
    StepInstance.objects.filter(process=process, sequence__gt=40).update(
        status=StepStatus.PENDING, actual_start=None, actual_end=None, wake_at=None, awaited_event=""
    )

    process = process_plan(process_id=process.pk, now=at(4, 14, 30))
    plan = {s.sequence // 10: s for s in StepInstance.objects.filter(process=process)}
    planned = {seq: (s.planned_start, s.planned_end) for seq, s in plan.items()}
    assert planned == {
        1: (at(4, 12), at(4, 13)),
        2: (at(4, 13), at(4, 14)),
        3: (at(4, 14), at(4, 14)),
        4: (at(4, 14, 30), at(4, 15, 30)),
        # Released after the cut-off: Tuesday (Saturday, Sunday and the Monday holiday do not count).
        5: (at(8, 0), at(9, 0)),
        6: (at(9, 0), at(9, 1)),
        7: (at(9, 1), at(9, 1)),
    }
    required = {seq: s.required_end for seq, s in plan.items()}
    assert required == {
        # Backward from Tuesday 15:00: 24 h = Tuesday's 15 h + Friday's last 9 h.
        1: at(4, 13),
        2: at(4, 14),
        3: at(4, 14),
        4: at(4, 15),
        5: at(8, 15),
        6: at(8, 16),
        7: at(8, 16),
    }
    assert (process.required_ship_by, process.required_end, process.expected_end) == (
        at(8, 15),
        at(8, 16),
        at(9, 1),
    )
    assert process.current_step_id == plan[4].pk and process.current_step_due == at(4, 15, 30)
    assert plan[5].jeopardy_delay_hours == 9  # Wednesday 00:00 against Tuesday 15:00

    # Step 4 completes late, on Tuesday 10:00: the steps after it move, nothing before does.
    StepInstance.objects.filter(pk=plan[4].pk).update(status=StepStatus.COMPLETED, actual_end=at(8, 10))
    StepInstance.objects.filter(pk=plan[5].pk).update(status=StepStatus.RUNNING)
    process = process_plan(process_id=process.pk, now=at(8, 10))
    replanned = {
        s.sequence // 10: (s.planned_start, s.planned_end)
        for s in StepInstance.objects.filter(process=process)
    }
    assert replanned == {
        **{seq: planned[seq] for seq in (1, 2, 3, 4)},
        5: (at(8, 10), at(9, 10)),
        6: (at(9, 10), at(9, 11)),
        7: (at(9, 11), at(9, 11)),
    }
    assert {
        s.sequence // 10: s.required_end for s in StepInstance.objects.filter(process=process)
    } == required
    assert process.expected_end == at(9, 11)
