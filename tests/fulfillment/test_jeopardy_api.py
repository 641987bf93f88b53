"""Jeopardy alerts through the API: list and filter, acknowledge, assign, resolve with a note;
every action is an audit event; another channel's alert is a 404; bad input is a 400."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from fulfillment.models import FulfillmentEvent, JeopardyAlert
from tests.orders.conftest import make_channel
from tests.support.otp import login_verified

from .jeopardy_support import jeopardy_world, late_piano_orders

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def jworld(fworld):
    return jeopardy_world(fworld)


def _post(client, path, body=None, **headers):
    return client.post(path, data=json.dumps(body or {}), content_type="application/json", **headers)


def test_staff_list_filter_acknowledge_assign_and_resolve_with_audit(jworld, django_assert_max_num_queries):
    alerts = late_piano_orders(jworld, 2)
    staff = login_verified(Client(), jworld.staff)
    with django_assert_max_num_queries(8):  # session, user, 2FA, count, page: not per row
        listed = staff.get("/api/v1/jeopardy/alerts?unresolved=true&warehouse=wh-east")
    assert listed.status_code == 200, listed.content
    rows = listed.json()["results"]
    assert {r["id"] for r in rows} == {a.pk for a in alerts}
    assert (
        rows[0]["reason"].startswith("Wait for receipt: required ")
        and "waiting for receipt of PO-" in rows[0]["reason"]
    )
    assert staff.get("/api/v1/jeopardy/alerts?warehouse=wh-west").json()["results"] == []
    assert staff.get("/api/v1/jeopardy/alerts?priority=nonsense").status_code == 400

    alert = alerts[0]
    ack = _post(staff, f"/api/v1/jeopardy/alerts/{alert.pk}/acknowledge")
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    assert _post(staff, f"/api/v1/jeopardy/alerts/{alert.pk}/acknowledge").status_code == 409

    assigned = _post(staff, f"/api/v1/jeopardy/alerts/{alert.pk}/assign", {"assignee": jworld.staff.pk})
    assert assigned.status_code == 200 and assigned.json()["assigned_to"] == "fran"
    mine = staff.get(f"/api/v1/jeopardy/alerts?assigned_to={jworld.staff.pk}").json()["results"]
    assert [r["id"] for r in mine] == [alert.pk]

    resolved = _post(
        staff, f"/api/v1/jeopardy/alerts/{alert.pk}/resolve", {"note": "Expedited the PO by phone"}
    )
    assert resolved.status_code == 200
    assert (resolved.json()["status"], resolved.json()["resolution"], resolved.json()["note"]) == (
        "resolved",
        "staff",
        "Expedited the PO by phone",
    )
    kinds = list(
        FulfillmentEvent.objects.filter(data__alert=alert.pk).order_by("pk").values_list("kind", "actor")
    )
    assert kinds == [
        ("alert_raised", "system"),
        ("alert_acknowledged", "user:fran"),
        ("alert_assigned", "user:fran"),
        ("alert_resolved", "user:fran"),
    ]


def test_bad_input_is_a_400_and_writes_nothing(jworld):
    (alert,) = late_piano_orders(jworld)
    staff = login_verified(Client(), jworld.staff)
    no_note = _post(staff, f"/api/v1/jeopardy/alerts/{alert.pk}/resolve", {"note": "   "})
    assert no_note.status_code == 400 and no_note.json()["code"] == "validation_failed"
    customer = get_user_model().objects.create_user(username="buyer", password="x", is_staff=False)
    nobody = _post(staff, f"/api/v1/jeopardy/alerts/{alert.pk}/assign", {"assignee": customer.pk})
    assert nobody.status_code == 400 and "assignee" in nobody.json()["fields"]
    alert.refresh_from_db()
    assert (alert.status, alert.assigned_to_id, alert.note) == ("open", None, "")
    assert not FulfillmentEvent.objects.filter(kind__in=["alert_resolved", "alert_assigned"]).exists()


def test_another_channels_alert_is_a_404_and_absent_from_its_list(jworld):
    (alert,) = late_piano_orders(jworld)
    other = make_channel("pos", warehouses=[jworld.east])
    header = {"HTTP_AUTHORIZATION": f"Api-Key {other.key}"}
    client = Client()
    assert client.get("/api/v1/jeopardy/alerts", **header).json()["results"] == []
    for action, body in (("acknowledge", {}), ("assign", {"assignee": None}), ("resolve", {"note": "x"})):
        response = _post(client, f"/api/v1/jeopardy/alerts/{alert.pk}/{action}", body, **header)
        assert response.status_code == 404, (action, response.content)
    assert JeopardyAlert.objects.get(pk=alert.pk).status == "open"
    own = Client().get("/api/v1/jeopardy/alerts", HTTP_AUTHORIZATION=f"Api-Key {jworld.web.key}")
    assert [r["id"] for r in own.json()["results"]] == [alert.pk]
