"""The orchestration console: screens render, definitions are validated on save and frozen once
published, staff retry a failed step from the console."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Invoice
from fulfillment.models import FulfillmentLine, ProcessDefinition, StepInstance
from fulfillment.states import ProcessStatus, StepStatus, TaskType
from inventory.models import ChannelWarehouse
from tests.orders.conftest import make_channel

from .conftest import order_body, post, settle

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SCREENS = [
    "processdefinition",
    "assignmentrule",
    "productsupply",
    "processinstance",
    "stepinstance",
    "fulfillmentline",
    "shipment",
    "fulfillmentevent",
    "customernotification",
]


def test_screens_render(admin_client, fworld):
    post(Client(), "/api/v1/orders", order_body(), fworld.web.key)
    settle()
    for name in SCREENS:
        assert admin_client.get(reverse(f"admin:fulfillment_{name}_changelist")).status_code == 200, name
    assert admin_client.get(reverse("admin:billing_invoice_changelist")).status_code == 200
    definition = fworld.processes["ship-from-warehouse"]
    page = admin_client.get(reverse("admin:fulfillment_processdefinition_change", args=[definition.pk]))
    assert page.status_code == 200 and b"Request shipment" in page.content
    process = FulfillmentLine.objects.get().process
    assert (
        admin_client.get(reverse("admin:fulfillment_processinstance_change", args=[process.pk])).status_code
        == 200
    )
    assert not Invoice.objects.exists()


def _inline(prefix: str, rows: list[tuple[int, str, str]]) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, (sequence, name, task_type) in enumerate(rows):
        data.update(
            {
                f"{prefix}-{i}-sequence": str(sequence),
                f"{prefix}-{i}-name": name,
                f"{prefix}-{i}-task_type": task_type,
                f"{prefix}-{i}-branch": "",
                f"{prefix}-{i}-lead_time_hours": "0",
                f"{prefix}-{i}-compensation": "none",
                f"{prefix}-{i}-pause_offset_hours": "0",
                f"{prefix}-{i}-pause_event": "",
            }
        )
    return data


def test_a_definition_with_shipping_after_invoice_is_refused_on_save(admin_client, db):
    url = reverse("admin:fulfillment_processdefinition_add")
    bad = {
        "code": "bad",
        "version": "1",
        "name": "Bad",
        **_inline(
            "steps",
            [
                (10, "Schedule", "schedule"),
                (20, "Invoice", "invoice"),
                (30, "Ship", "create_shipment_request"),
                (40, "Close", "close"),
            ],
        ),
    }
    resp = admin_client.post(url, bad)
    assert resp.status_code == 200 and b"after INVOICE" in resp.content
    assert not ProcessDefinition.objects.filter(code="bad").exists()
    good = {
        "code": "good",
        "version": "1",
        "name": "Good",
        **_inline(
            "steps", [(10, "Schedule", "schedule"), (20, "Invoice", "invoice"), (30, "Close", "close")]
        ),
    }
    assert admin_client.post(url, good).status_code == 302
    definition = ProcessDefinition.objects.get(code="good")
    admin_client.post(
        reverse("admin:fulfillment_processdefinition_changelist"),
        {"action": "publish", "_selected_action": [definition.pk]},
    )
    definition.refresh_from_db()
    assert definition.status == "published"
    page = admin_client.get(reverse("admin:fulfillment_processdefinition_change", args=[definition.pk]))
    assert b'name="steps-0-task_type"' not in page.content  # frozen: read-only


def test_staff_retry_a_failed_step_from_the_console(admin_client, fworld, settings):
    settings.OMS_STEP_RETRY_BACKOFF_SECONDS = 0
    lonely = make_channel("lonely", reserve=False, warehouses=[])
    post(Client(), "/api/v1/orders", order_body("L-9"), lonely.key)
    settle()
    step = StepInstance.objects.get(task_type=TaskType.SCHEDULE)
    assert step.status == StepStatus.FAILED
    listing = admin_client.get(reverse("admin:fulfillment_stepinstance_changelist"))
    assert listing.status_code == 200 and b"no active warehouse" in listing.content  # needs-attention view
    ChannelWarehouse.objects.create(channel=lonely.channel, warehouse=fworld.east, rank=1)
    admin_client.post(
        reverse("admin:fulfillment_stepinstance_changelist"),
        {"action": "retry", "_selected_action": [step.pk]},
    )
    settle()
    step.refresh_from_db()
    assert step.status == StepStatus.COMPLETED and step.process.status == ProcessStatus.RUNNING
