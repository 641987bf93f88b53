"""Console: order screens render; the staff upload imports through the pipeline with a report."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from orders.models import OrderEvent, SalesOrder

from .conftest import api_post, order_body

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

SCREENS = ["salesorder", "holdcode", "restrictedparty", "embargoedcountry", "approvalrule", "defaultingrule",
           "channelorderpolicy"]  # fmt: skip


def test_order_screens_render(admin_client, client, world):
    number = api_post(client, "/api/v1/orders", order_body(), key=world.web.key).json()["number"]
    for name in SCREENS:
        assert admin_client.get(reverse(f"admin:orders_{name}_changelist")).status_code == 200, name
    order = SalesOrder.objects.get(number=number)
    page = admin_client.get(reverse("admin:orders_salesorder_change", args=[order.pk]))
    assert page.status_code == 200
    assert b"submitted" in page.content


def test_staff_upload_imports_with_a_per_row_report(admin_client, world):
    csv = (
        "source_order_id,account_number,currency,sku,quantity,source_line_id\n"
        "U-1,C-1,USD,SAW-1,2,1\n"
        "U-2,C-1,USD,NOPE,1,1\n"
    )
    response = admin_client.post(
        reverse("admin:orders_salesorder_import"),
        {"channel": "web", "file": SimpleUploadedFile("legacy.csv", csv.encode(), content_type="text/csv")},
    )
    assert response.status_code == 200
    assert b"accepted" in response.content and b"rejected" in response.content
    order = SalesOrder.objects.get(source_order_id="U-1")
    assert OrderEvent.objects.get(order=order, kind="submitted").actor == "user:admin"
    assert not SalesOrder.objects.filter(source_order_id="U-2").exists()
