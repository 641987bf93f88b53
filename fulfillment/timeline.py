"""The fulfillment timeline in words (the order page's "Fulfillment timeline"): each
`FulfillmentEvent` kind as a sentence, on the order timeline's machinery (`orders/timeline.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orders.timeline import STATUS_LABELS, Described, describe

from .states import FulfillmentLineStatus, ProcessStatus, ShipmentStatus, StepStatus

# Short labels: the sentence gives the context the long choice labels spell out.
LABELS: dict[str, str] = {
    **STATUS_LABELS,
    **{value: label.split(" (")[0] for value, label in StepStatus.choices},
    **{value: label.split(" (")[0] for value, label in ShipmentStatus.choices},
    **{value: label.split(" (")[0] for value, label in ProcessStatus.choices},
    **{value: label.split(" (")[0] for value, label in FulfillmentLineStatus.choices},
}

SENTENCES: dict[str, str | tuple[str, ...]] = {
    "process_started": "Fulfillment process “{definition}” started.",
    "process_status": "Process {was_status} → {status}.",
    "line_status": "Fulfillment line {was_status} → {status}.",
    "line_split": ("Line split: {kept} stay, {new_quantity} move to a new line.", "Line split."),
    "quantity_changed": "Quantity changed from {was_quantity} to {quantity} (revision {revision}).",
    "reserved": "Reserved {quantity} (reservation {reservation}).",
    "receipt_reserved": "Received stock reserved for this line (reservation {reservation}).",
    "reservation_moved": "Reservation moved from warehouse {was_warehouse} to warehouse {warehouse}.",
    "purchase_requested": "Purchase order {purchase_order} raised ({kind}).",
    "shipment_requested": "Shipment {shipment} requested for {quantity}.",
    "shipped": "Shipped {quantity} on {shipment} (tracking {tracking}).",
    "invoiced": "Invoiced on {invoice}, total {total}.",
    "step_held": "Step held by {holds} hold.",
    "step_waiting": (
        "Step waiting for {event} until {wake_at}.",
        "Step waiting until {wake_at}.",
        "Step waiting.",
    ),
    "step_completed": ("Step completed: {note}.", "Step completed."),
    "step_attempt_failed": "Attempt {attempts} failed ({error}); retrying in {retry_in} s.",
    "step_failed": "Step failed after {attempts} attempt(s) and needs attention: {error}.",
    "step_retried": "Step retried by staff.",
    "step_skipped": "Step skipped by staff.",
    "compensation_update": "Change applied to this step ({kinds}).",
    "compensation_cancel": "Step canceled by a change ({kinds}).",
    "compensation_redo": "Step will run again after a change ({kinds}).",
    "compensation_reservation_released": "Reservation {was_reservation} ({was_quantity}) released.",
    "compensation_reservation_adopted": "Reservation {reservation} from capture kept.",
    "compensation_reservation_updated": "Reservation updated by a change.",
    "compensation_shipment_canceled": "Shipment canceled by a change.",
    "compensation_purchase_canceled": "Purchase order {was_purchase_order} canceled by a change.",
    "whatif_applied": (
        "What-if alternative chosen: {option} (extra cost {extra_cost} {currency}).",
        "What-if alternative chosen.",
    ),
    "alert_raised": ("Jeopardy alert raised ({priority}): {reason}.", "Jeopardy alert raised."),
    "alert_acknowledged": "Jeopardy alert acknowledged.",
    "payment_captured": ("Payment captured on {invoice}: {amount}.", "Payment captured."),
    "promise_overridden": (
        "Promise changed by staff to {promised_date}: {reason}.",
        "Promise changed by staff.",
    ),
    "alert_assigned": ("Jeopardy alert assigned to {assignee}.", "Jeopardy alert unassigned."),
    "alert_resolved": ("Jeopardy alert resolved: {note}.", "Jeopardy alert resolved."),
    **{
        f"shipment_{value}": f"Shipment {{shipment}} {label.lower()}."
        for value, label in ShipmentStatus.choices
    },
}


def describe_event(
    kind: str, *, before: Any = None, after: Any = None, data: Mapping[str, Any] | None = None
) -> Described:
    return describe(kind, before=before, after=after, data=data, sentences=SENTENCES, labels=LABELS)
