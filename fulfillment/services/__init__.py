"""Every write to fulfillment, split by use case; import from here."""

from .changes import order_cancel_apply, order_revision_apply, order_revision_catch_up, process_compensate
from .definitions import definition_create, definition_new_version, definition_publish, definition_validate
from .engine import (
    process_cancel,
    process_start,
    step_execute,
    step_retry,
    step_signal,
    step_skip,
    steps_sweep,
)
from .lines import order_fulfillment_start
from .shipments import AdviceLine, shipment_advice_record, shipment_confirm, shipment_status_update

__all__ = [
    "AdviceLine",
    "definition_create",
    "definition_new_version",
    "definition_publish",
    "definition_validate",
    "order_cancel_apply",
    "order_fulfillment_start",
    "order_revision_apply",
    "order_revision_catch_up",
    "process_cancel",
    "process_compensate",
    "process_start",
    "shipment_advice_record",
    "shipment_confirm",
    "shipment_status_update",
    "step_execute",
    "step_retry",
    "step_signal",
    "step_skip",
    "steps_sweep",
]
