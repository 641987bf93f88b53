"""Staff order search (orders.filters.OrderFilter): by customer name, by part of a SKU, clear
errors on the field with the input kept, and bulk actions on the ticked rows."""

from __future__ import annotations

import csv
import io

import pytest

from orders.models import OrderHold

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _numbers(html: str, world) -> set[str]:
    orders = (world.open_order, world.held_order, world.pending_order)
    return {o.number for o in orders if f">{o.number}</a>" in html}


def test_search_by_part_of_the_customer_name_and_of_a_sku(ui, login):
    client = login(ui.users.desk)
    page = client.get("/orders/?customer=globex").content.decode()
    assert _numbers(page, ui) == {ui.held_order.number}
    page = client.get("/orders/?sku=dril").content.decode()  # part of DRILL-1, any case
    assert _numbers(page, ui) == {ui.open_order.number, ui.pending_order.number}
    page = client.get("/orders/?customer=C-2").content.decode()  # an account number still works
    assert _numbers(page, ui) == {ui.held_order.number}


@pytest.mark.parametrize(
    "query, field_id, kept, message",
    [
        (
            "created_from=2026-03-01&created_to=2026-02-01",
            "id_created_to",
            "2026-02-01",
            "on or after the From",
        ),
        ("channel=nowhere", "id_channel", "nowhere", "Select a valid choice"),
        ("created_from=yesterday", "id_created_from", "yesterday", "Enter a valid date"),
    ],
)
def test_an_invalid_search_is_an_error_on_its_field_with_the_input_kept(
    ui, login, query, field_id, kept, message
):
    response = login(ui.users.desk).get(f"/orders/?{query}")
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    field = page[page.index(f'id="{field_id}"') - 200 : page.index(f'id="{field_id}"') + 200]
    assert f'value="{kept}"' in field
    assert _numbers(page, ui) == set()  # nothing listed that the person did not ask for


def test_bulk_hold_goes_through_the_hold_service_for_each_ticked_order(ui, login):
    client = login(ui.users.desk)
    response = client.post(
        "/orders/bulk",
        {
            "action": "hold",
            "code": "manual",
            "reason": "Verify the addresses",
            "numbers": [ui.open_order.number, ui.held_order.number],
            "querystring": "status=open",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("/orders/?status=open")
    held = OrderHold.objects.filter(order=ui.open_order, hold_code__code="manual", released_at__isnull=True)
    assert held.get().reason == "Verify the addresses"
    # The order that already had that hold is named in the summary, the other one is held.
    page = client.get("/orders/").content.decode()
    assert "placed on 1 order" in page and ui.held_order.number in page


def test_bulk_export_streams_only_the_ticked_orders(ui, login):
    response = login(ui.users.desk).post(
        "/orders/bulk", {"action": "export", "numbers": [ui.pending_order.number, "SO-NOT-MINE"]}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r[0] for r in rows[1:]] == [ui.pending_order.number]


def test_bulk_actions_need_a_selection_and_a_reason(ui, login):
    client = login(ui.users.desk)
    client.post("/orders/bulk", {"action": "hold", "code": "manual", "reason": "x"})
    assert "Tick at least one order" in client.get("/orders/").content.decode()
    client.post("/orders/bulk", {"action": "hold", "code": "manual", "numbers": [ui.open_order.number]})
    assert "needs a hold code and a reason" in client.get("/orders/").content.decode()
    assert not OrderHold.objects.filter(order=ui.open_order).exists()
