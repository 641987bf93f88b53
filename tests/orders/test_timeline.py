"""The order timeline reads as sentences with before/after values, not event codes and dicts."""

from __future__ import annotations

import pytest

from fulfillment.timeline import SENTENCES, describe_event
from orders.models import EventKind
from orders.timeline import ORDER_SENTENCES, change_text, describe

pytestmark = pytest.mark.unit


def test_every_order_event_kind_has_a_sentence():
    assert set(ORDER_SENTENCES) == set(EventKind.values)


def test_status_change_names_both_statuses_by_their_labels():
    d = describe(EventKind.STATUS_CHANGED, before={"status": "open"}, after={"status": "partially_shipped"})
    assert d.sentence == "Status changed from Open (in fulfillment) to Partially shipped."
    assert d.change == ""  # the sentence already says it


def test_submitted_reads_as_a_sentence_with_its_figures():
    d = describe(
        EventKind.SUBMITTED,
        after={"status": "pending_approval", "total": "1250.00", "currency": "USD"},
        data={"revision": 1, "lines": 3},
    )
    assert d.sentence == "Order captured with 3 line(s), total 1250.00 USD; status Pending approval."


def test_hold_events_name_the_hold():
    assert (
        describe(EventKind.HOLD_APPLIED, after={"hold": "credit", "hold_id": 7}).sentence
        == "Hold “credit” applied."
    )
    released = describe(
        EventKind.HOLD_RELEASED,
        before={"hold": "credit", "active": True},
        after={"hold": "credit", "active": False},
    )
    assert released.sentence == "Hold “credit” released."
    assert released.change == "Active: yes → no"


def test_change_text_lists_before_and_after_per_field():
    assert change_text(
        {"status": "open", "total": "10"}, {"status": "canceled", "total": "10", "note": "x"}
    ) == ("Status: Open (in fulfillment) → Canceled; Note: x")
    assert change_text(None, None) == ""


def test_process_started_is_a_sentence_not_a_dict():
    d = describe_event("process_started", after={"definition": "ship-from-warehouse v1 (published)"})
    assert d.sentence == "Fulfillment process “ship-from-warehouse v1 (published)” started."
    assert "{" not in d.sentence + d.change and d.change == ""


@pytest.mark.parametrize(
    ("kind", "before", "after", "data", "sentence"),
    [
        ("line_status", {"status": "scheduled"}, {"status": "reserved"}, None,
         "Fulfillment line Scheduled → Reserved."),
        ("process_status", {"status": "running"}, {"status": "needs_attention"}, None,
         "Process Running → Needs attention."),
        ("shipped", None, {"shipment": "SH-1", "quantity": "2", "tracking": "1Z9"}, None,
         "Shipped 2 on SH-1 (tracking 1Z9)."),
        ("step_completed", None, None, None, "Step completed."),
        ("step_completed", None, None, {"note": "label printed"}, "Step completed: label printed."),
        ("step_failed", None, None, {"error": "carrier API 503", "attempts": 3},
         "Step failed after 3 attempt(s) and needs attention: carrier API 503."),
        ("shipment_delivered", {"status": "shipped"}, {"status": "delivered", "shipment": "SH-1"}, None,
         "Shipment SH-1 delivered."),
        ("invoiced", None, {"invoice": "INV-1", "total": "99.00"}, None, "Invoiced on INV-1, total 99.00."),
    ],
)  # fmt: skip
def test_fulfillment_events_read_as_sentences(kind, before, after, data, sentence):
    assert describe_event(kind, before=before, after=after, data=data).sentence == sentence


def test_an_unknown_kind_still_reads():
    d = describe_event("label_reprinted", after={"printer": "dock-2"})
    assert d.sentence == "Label reprinted." and d.change == "Printer: dock-2"


def test_every_fulfillment_kind_the_code_writes_has_a_sentence():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2] / "fulfillment"
    written = set()
    for path in root.rglob("*.py"):
        written |= set(re.findall(r'fevent\(\s*"([a-z_]+)"', path.read_text()))
    assert written and written <= set(SENTENCES), written - set(SENTENCES)
