"""Outbox subscriber: every order event that can change a figure refreshes that order's facts."""

from __future__ import annotations

from oms.kernel import events

from .rollups import facts_refresh

TOPICS = [
    "order.submitted",
    "order.revised",
    "order.approved",
    "order.canceled",
    "order.line_canceled",
    "order.status_changed",
    "order.line.status_changed",
]


@events.subscriber("reporting.rollups", topics=TOPICS)
def rollups(event: events.Event) -> None:
    facts_refresh(numbers=[event.payload["number"]])
