"""The three standard processes and their assignment rules (idempotent; seed_demo and tests)."""

from __future__ import annotations

from django.db import transaction

from .models import AssignmentRule, ProcessDefinition
from .services.definitions import definition_create
from .states import Compensation as C
from .states import FulfillmentMode
from .states import TaskType as T

SHIP_FROM_WAREHOUSE = "ship-from-warehouse"
DROP_SHIP = "drop-ship"
BACK_TO_BACK = "back-to-back"


def _step(name, task_type, compensation=C.NONE, lead=0, **extra) -> dict:
    return {
        "name": name,
        "task_type": task_type,
        "compensation": compensation,
        "lead_time_hours": lead,
        **extra,
    }


STANDARD: dict[str, tuple[str, list[dict]]] = {
    SHIP_FROM_WAREHOUSE: (
        "Ship from warehouse",
        [
            _step("Schedule", T.SCHEDULE, C.REDO, 1),
            _step("Reserve", T.RESERVE, C.UPDATE, 1),
            _step("Until 2 days before ship date", T.PAUSE, pause_offset_hours=-48),
            _step("Request shipment", T.CREATE_SHIPMENT_REQUEST, C.REDO, 1),
            _step("Wait for shipment", T.WAIT_FOR_SHIPMENT, lead=24),
            _step("Invoice", T.INVOICE, lead=1),
            _step("Close", T.CLOSE),
        ],
    ),
    DROP_SHIP: (
        "Drop ship",
        [
            _step("Schedule", T.SCHEDULE, C.REDO, 1),
            _step("Purchase from supplier", T.CREATE_PURCHASE_REQUEST, C.REDO, 4),
            _step("Wait for supplier shipment", T.WAIT_FOR_SHIPMENT, lead=72),
            _step("Invoice", T.INVOICE, lead=1),
            _step("Close", T.CLOSE),
        ],
    ),
    BACK_TO_BACK: (
        "Back-to-back",
        [
            _step("Schedule", T.SCHEDULE, C.REDO, 1),
            _step("Purchase for the order", T.CREATE_PURCHASE_REQUEST, C.REDO, 4),
            _step("Wait for receipt", T.WAIT_FOR_RECEIPT, C.UPDATE, 120),
            _step("Request shipment", T.CREATE_SHIPMENT_REQUEST, C.REDO, 1),
            _step("Wait for shipment", T.WAIT_FOR_SHIPMENT, lead=24),
            _step("Invoice", T.INVOICE, lead=1),
            _step("Close", T.CLOSE),
        ],
    ),
}

RULES = [
    ("Drop-ship products", 10, DROP_SHIP, FulfillmentMode.DROP_SHIP),
    ("Back-to-back products", 20, BACK_TO_BACK, FulfillmentMode.BACK_TO_BACK),
    ("Default: ship from warehouse", 1000, SHIP_FROM_WAREHOUSE, ""),
]


@transaction.atomic
def processes_seed() -> dict[str, ProcessDefinition]:
    made = {}
    for code, (name, steps) in STANDARD.items():
        existing = ProcessDefinition.objects.filter(code=code).order_by("-version").first()
        made[code] = existing or definition_create(code=code, name=name, steps=steps)
    for name, priority, code, mode in RULES:
        AssignmentRule.objects.get_or_create(
            name=name, defaults={"priority": priority, "process_code": code, "fulfillment_mode": mode}
        )
    return made
