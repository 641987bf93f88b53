"""Fulfillment lifecycles as data: one transition table each (listed in docs/states.md)."""

from __future__ import annotations

from django.db import models

from oms.kernel.states import ensure_transition  # noqa: F401  (re-exported: callers import it from here)


class TaskType(models.TextChoices):
    SCHEDULE = "schedule", "Schedule (source)"
    RESERVE = "reserve", "Reserve"
    CREATE_SHIPMENT_REQUEST = "create_shipment_request", "Create shipment request"
    WAIT_FOR_SHIPMENT = "wait_for_shipment", "Wait for shipment"
    CREATE_PURCHASE_REQUEST = "create_purchase_request", "Create purchase request"
    WAIT_FOR_RECEIPT = "wait_for_receipt", "Wait for receipt"
    TRANSFER = "transfer", "Transfer"
    PAUSE = "pause", "Pause"
    INVOICE = "invoice", "Invoice"
    CAPTURE_PAYMENT = "capture_payment", "Capture payment"
    WAIT_FOR_PAYMENT = "wait_for_payment", "Wait for payment"
    CLOSE = "close", "Close"


# Steps that move goods; a definition may not run one after its INVOICE step.
GOODS_STEPS = frozenset(
    {
        TaskType.SCHEDULE,
        TaskType.RESERVE,
        TaskType.CREATE_SHIPMENT_REQUEST,
        TaskType.WAIT_FOR_SHIPMENT,
        TaskType.CREATE_PURCHASE_REQUEST,
        TaskType.WAIT_FOR_RECEIPT,
        TaskType.TRANSFER,
    }
)


class Compensation(models.TextChoices):
    """What a step does when the order changes after it ran (Oracle's compensation patterns)."""

    CANCEL = "cancel", "Cancel (undo, do not run again)"
    UPDATE = "update", "Update in place"
    REDO = "redo", "Undo and run again"
    NONE = "none", "Nothing"


class FulfillmentMode(models.TextChoices):
    WAREHOUSE = "warehouse", "Ship from warehouse"
    DROP_SHIP = "drop_ship", "Drop ship"
    BACK_TO_BACK = "back_to_back", "Back-to-back"


class PauseEvent(models.TextChoices):
    NONE = "", "No event (time offset)"
    ALL_LINES_SHIPPED = "all_lines_shipped", "All lines of the order shipped"


class DefinitionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    RETIRED = "retired", "Retired"


DEFINITION_TRANSITIONS: dict[str, frozenset[str]] = {
    DefinitionStatus.DRAFT: frozenset({DefinitionStatus.PUBLISHED}),
    DefinitionStatus.PUBLISHED: frozenset({DefinitionStatus.RETIRED}),
    DefinitionStatus.RETIRED: frozenset(),
}


class FulfillmentLineStatus(models.TextChoices):
    AWAITING_SCHEDULING = "awaiting_scheduling", "Awaiting scheduling"
    SCHEDULED = "scheduled", "Scheduled"
    RESERVED = "reserved", "Reserved"
    AWAITING_SHIPPING = "awaiting_shipping", "Awaiting shipping"
    SHIPPED = "shipped", "Shipped"
    AWAITING_BILLING = "awaiting_billing", "Awaiting billing"
    BILLED = "billed", "Billed"
    CLOSED = "closed", "Closed"
    BACKORDERED = "backordered", "Back-ordered (awaiting supply)"
    CANCELED = "canceled", "Canceled"


FL = FulfillmentLineStatus
_UNSHIPPED_BACK = frozenset({FL.AWAITING_SCHEDULING, FL.SCHEDULED, FL.CANCELED})
FULFILLMENT_LINE_TRANSITIONS: dict[str, frozenset[str]] = {
    FL.AWAITING_SCHEDULING: frozenset({FL.SCHEDULED, FL.BACKORDERED, FL.CANCELED}),
    # A drop-ship line goes from scheduled straight to awaiting shipping (the supplier ships).
    FL.SCHEDULED: frozenset({FL.RESERVED, FL.AWAITING_SHIPPING, FL.BACKORDERED, *_UNSHIPPED_BACK}),
    FL.RESERVED: frozenset({FL.AWAITING_SHIPPING, *_UNSHIPPED_BACK}),
    FL.AWAITING_SHIPPING: frozenset({FL.SHIPPED, FL.RESERVED, *_UNSHIPPED_BACK}),
    FL.BACKORDERED: frozenset({FL.RESERVED, FL.SCHEDULED, FL.AWAITING_SCHEDULING, FL.CANCELED}),
    # A process without an INVOICE step closes a shipped line directly.
    FL.SHIPPED: frozenset({FL.AWAITING_BILLING, FL.CLOSED}),
    FL.AWAITING_BILLING: frozenset({FL.BILLED, FL.CLOSED}),
    FL.BILLED: frozenset({FL.CLOSED}),
    FL.CLOSED: frozenset(),
    FL.CANCELED: frozenset(),
}
FL_OPEN = frozenset(set(FL.values) - {FL.CLOSED, FL.CANCELED})
FL_SHIPPED_OR_LATER = frozenset({FL.SHIPPED, FL.AWAITING_BILLING, FL.BILLED, FL.CLOSED})


class ProcessStatus(models.TextChoices):
    RUNNING = "running", "Running"
    CHANGE_PENDING = "change_pending", "Change pending (compensating)"
    NEEDS_ATTENTION = "needs_attention", "Needs attention (a step failed)"
    COMPLETED = "completed", "Completed"
    CANCELED = "canceled", "Canceled"


PS = ProcessStatus
PROCESS_TRANSITIONS: dict[str, frozenset[str]] = {
    PS.RUNNING: frozenset({PS.CHANGE_PENDING, PS.NEEDS_ATTENTION, PS.COMPLETED, PS.CANCELED}),
    PS.CHANGE_PENDING: frozenset({PS.RUNNING, PS.CANCELED}),
    PS.NEEDS_ATTENTION: frozenset({PS.RUNNING, PS.CHANGE_PENDING, PS.CANCELED}),
    PS.COMPLETED: frozenset(),
    PS.CANCELED: frozenset(),
}


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending (not reached)"
    RUNNING = "running", "Running (dispatched to a worker)"
    WAITING = "waiting", "Waiting (for a time or an event)"
    HELD = "held", "Held (an order hold stops it)"
    COMPLETED = "completed", "Completed"
    SKIPPED = "skipped", "Skipped (another branch)"
    FAILED = "failed", "Failed (needs attention)"
    CANCELED = "canceled", "Canceled"


SS = StepStatus
STEP_TRANSITIONS: dict[str, frozenset[str]] = {
    SS.PENDING: frozenset({SS.RUNNING, SS.SKIPPED, SS.CANCELED}),
    SS.RUNNING: frozenset(
        {SS.RUNNING, SS.WAITING, SS.HELD, SS.COMPLETED, SS.SKIPPED, SS.FAILED, SS.PENDING, SS.CANCELED}
    ),
    SS.WAITING: frozenset({SS.RUNNING, SS.PENDING, SS.CANCELED}),
    SS.HELD: frozenset({SS.RUNNING, SS.PENDING, SS.CANCELED}),
    # Compensation puts a completed step back to pending (redo) or cancels it.
    SS.COMPLETED: frozenset({SS.PENDING, SS.CANCELED}),
    SS.SKIPPED: frozenset({SS.PENDING, SS.CANCELED}),
    # Staff actions: retry (running), skip, cancel.
    SS.FAILED: frozenset({SS.RUNNING, SS.SKIPPED, SS.CANCELED, SS.PENDING}),
    SS.CANCELED: frozenset(),
}
STEP_ACTIVE = frozenset({SS.RUNNING, SS.WAITING, SS.HELD, SS.FAILED})


class ShipmentStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    PICKED = "picked", "Picked"
    PACKED = "packed", "Packed"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    EXCEPTION = "exception", "Exception"
    CANCELED = "canceled", "Canceled"


SH = ShipmentStatus
SHIPMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    SH.REQUESTED: frozenset({SH.PICKED, SH.PACKED, SH.SHIPPED, SH.CANCELED, SH.EXCEPTION}),
    SH.PICKED: frozenset({SH.PACKED, SH.SHIPPED, SH.CANCELED, SH.EXCEPTION}),
    SH.PACKED: frozenset({SH.SHIPPED, SH.CANCELED, SH.EXCEPTION}),
    SH.SHIPPED: frozenset({SH.DELIVERED, SH.EXCEPTION}),
    SH.EXCEPTION: frozenset({SH.SHIPPED, SH.DELIVERED}),
    SH.DELIVERED: frozenset(),
    SH.CANCELED: frozenset(),
}
SHIPMENT_CANCELABLE = frozenset({SH.REQUESTED, SH.PICKED, SH.PACKED})


# --- planning and jeopardy ------------------------------------------------------------------


class JeopardyPriority(models.TextChoices):
    """How late a process (step, order) is expected to be; `JeopardyPriorityRange` maps a score
    to one of these per policy. Ordered from best to worst (see PRIORITY_RANK)."""

    ON_TIME = "on_time", "On time"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


# Comparable rank: a priority "rises" when its rank grows. The scan uses the same numbers in SQL.
PRIORITY_RANK: dict[str, int] = {
    JeopardyPriority.ON_TIME: 0,
    JeopardyPriority.LOW: 1,
    JeopardyPriority.MEDIUM: 2,
    JeopardyPriority.HIGH: 3,
}


class DelayUnit(models.TextChoices):
    HOURS = "hours", "Hours"
    DAYS = "days", "Days"


DELAY_UNIT_HOURS: dict[str, int] = {DelayUnit.HOURS: 1, DelayUnit.DAYS: 24}


class JeopardyAlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


JA = JeopardyAlertStatus
ALERT_TRANSITIONS: dict[str, frozenset[str]] = {
    JA.OPEN: frozenset({JA.ACKNOWLEDGED, JA.RESOLVED}),
    JA.ACKNOWLEDGED: frozenset({JA.RESOLVED}),
    JA.RESOLVED: frozenset(),
}
ALERT_UNRESOLVED = frozenset({JA.OPEN, JA.ACKNOWLEDGED})


class AlertResolution(models.TextChoices):
    NONE = "", "Not resolved"
    STAFF = "staff", "Resolved by staff"
    BACK_ON_TIME = "back_on_time", "Priority fell (resolved by the scan)"
    SUPERSEDED = "superseded", "Superseded by a higher priority"
    CLOSED = "closed", "Process ended"


# Which staff role answers for a late step (its digest mail goes to that role's members).
STEP_ROLE: dict[str, str] = {
    TaskType.INVOICE: "finance",
    TaskType.WAIT_FOR_PAYMENT: "finance",
}
STEP_ROLE_DEFAULT = "fulfillment"

# Steps whose end is "the goods leave": the required date anchors here, and a warehouse's
# shipping cut-off applies to them.
SHIP_STEPS = frozenset({TaskType.WAIT_FOR_SHIPMENT})


class ChangeCostKind(models.TextChoices):
    """What a change undoes downstream, each priced by the admin's cost rules. The first five
    price a revision (cost of change); the last four price a what-if alternative."""

    SHIPMENT_REQUEST_CANCEL = "shipment_request_cancel", "Cancel a shipment request at the warehouse"
    PURCHASE_ORDER_CHANGE = "purchase_order_change", "Change a purchase order sent to the supplier"
    PURCHASE_ORDER_CANCEL = "purchase_order_cancel", "Cancel a purchase order sent to the supplier"
    RESTOCKING_FEE = "restocking_fee", "Restocking fee (goods picked or packed go back to stock)"
    LOST_SHIPPING_DISCOUNT = "lost_shipping_discount", "Lost shipping discount"
    WAREHOUSE_CHANGE = "warehouse_change", "Ship from another warehouse"
    EXTRA_SHIPMENT = "extra_shipment", "An extra shipment (split)"
    EXPEDITE_TRANSFER = "expedite_transfer", "Expedite a transfer"
    DROP_SHIP = "drop_ship", "Drop ship from the supplier"
