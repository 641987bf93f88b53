"""An order's fulfillment timeline for the workbench drill-down: per fulfillment line, each step's
planned window, actual window and required completion, placed on one time axis for the whole
order (a small Gantt chart drawn as SVG rectangles: no inline styles, the CSP allows them).

The geometry is computed here, in Python, from rows read in a fixed number of queries
(`fulfillment.selectors.order_fulfillment`); templates only draw it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from fulfillment.selectors import order_fulfillment
from fulfillment.states import STEP_ACTIVE

WIDTH = 1000  # the SVG viewBox width every x and width below is measured in
MIN_BAR = 8  # an instant (a step that took no time) stays visible, even on a phone


@dataclass(frozen=True)
class Bar:
    x: float
    width: float


@dataclass(frozen=True)
class StepRow:
    step: Any
    planned: Bar | None
    actual: Bar | None
    required_x: float | None
    required_end: datetime | None
    late: bool  # ends (or is planned to end) after it is required


@dataclass(frozen=True)
class LineTimeline:
    line: Any
    rows: list[StepRow]


@dataclass(frozen=True)
class OrderTimeline:
    number: str
    lines: list[LineTimeline]
    start: datetime | None
    end: datetime | None
    now_x: float | None
    ticks: list[tuple[float, datetime]]


def _required(step) -> datetime | None:
    return step.required_end  # planning's latest end that still meets the line's required date


def _actual_end(step, now: datetime) -> datetime | None:
    if step.actual_end:
        return step.actual_end
    if step.actual_start and step.status in STEP_ACTIVE:
        return now  # still going: the bar grows up to now
    return None


def order_timeline(*, viewer, number: str, now: datetime | None = None) -> OrderTimeline:
    """Scoped like the order (another channel's order is a NotFound)."""
    now = now or timezone.now()
    lines = order_fulfillment(viewer=viewer, number=number)
    steps = [
        (line, st) for line in lines if getattr(line, "process", None) for st in line.process.steps.all()
    ]
    moments = [now]
    for _, st in steps:
        moments += [
            t for t in (st.planned_start, st.planned_end, st.actual_start, st.actual_end, _required(st)) if t
        ]
    start, end = min(moments), max(moments)
    if end - start < timedelta(hours=1):
        end = start + timedelta(hours=1)
    span = (end - start).total_seconds()

    def x(moment: datetime) -> float:
        return round((moment - start).total_seconds() / span * WIDTH, 1)

    def bar(a: datetime | None, b: datetime | None) -> Bar | None:
        if not a or not b:
            return None
        left, right = x(a), x(max(a, b))
        return Bar(min(left, WIDTH - MIN_BAR), max(right - left, MIN_BAR))

    out: list[LineTimeline] = []
    for line in lines:
        rows = []
        for st in line.process.steps.all() if getattr(line, "process", None) else []:
            required = _required(st)
            finish = st.actual_end or st.planned_end
            rows.append(
                StepRow(
                    step=st,
                    planned=bar(st.planned_start, st.planned_end),
                    actual=bar(st.actual_start, _actual_end(st, now)),
                    required_x=x(required) if required else None,
                    required_end=required,
                    late=bool(required and finish and finish > required),
                )
            )
        out.append(LineTimeline(line=line, rows=rows))
    ticks = [(x(start + (end - start) * i / 4), start + (end - start) * i / 4) for i in range(5)]
    return OrderTimeline(
        number=number,
        lines=out,
        start=start if steps else None,
        end=end if steps else None,
        now_x=x(now),
        ticks=ticks,
    )
