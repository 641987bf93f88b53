"""Order search, CSV export, saved searches, detail actions with optimistic locking, and entry
through the submission service."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from orders.models import EventKind, OrderEvent, OrderHold, SalesOrder
from orders.states import OrderStatus
from reporting.models import SavedSearch

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_csv_export_is_streamed_and_neutralizes_formulas(ui, login):
    ui.customer.name = '=HYPERLINK("http://evil","x")'
    ui.customer.save(update_fields=["name"])
    SalesOrder.objects.filter(pk=ui.open_order.pk).update(customer_po="@SUM(A1)")
    SalesOrder.objects.filter(pk=ui.held_order.pk).update(customer_po="-2+3")
    SalesOrder.objects.filter(pk=ui.pending_order.pk).update(customer_po="+1")
    response = login(ui.users.desk).get("/orders/export.csv?sort=number")
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    header, body = rows[0], rows[1:]
    assert header[0] == "number" and len(body) == 3
    by_number = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    opened = by_number[ui.open_order.number]
    assert opened["customer_name"] == '\'=HYPERLINK("http://evil","x")'
    assert opened["customer_po"] == "'@SUM(A1)"
    assert by_number[ui.held_order.number]["customer_po"] == "'-2+3"
    assert by_number[ui.pending_order.number]["customer_po"] == "'+1"
    assert Decimal(opened["total"]) == ui.open_order.total  # numbers stay numbers


def test_csv_export_follows_the_filters(ui, login):
    rows = _csv(login(ui.users.desk).get("/orders/export.csv?status=pending_approval"))
    assert [r[0] for r in rows[1:]] == [ui.pending_order.number]


def test_search_filters_and_sorts(ui, login):
    client = login(ui.users.desk)
    page = client.get("/orders/?hold=manual").content.decode()
    assert ui.held_order.number in page and ui.open_order.number not in page
    page = client.get("/orders/?sku=DRILL-1&sort=-total").content.decode()
    assert page.index(ui.pending_order.number) < page.index(ui.open_order.number)
    assert ui.held_order.number not in page
    page = client.get("/orders/?customer=C-2").content.decode()
    assert ui.held_order.number in page and ui.pending_order.number not in page
    assert client.get("/orders/?sort=;drop table").status_code == 200  # unknown sort key ignored


def test_saved_search_round_trip(ui, login):
    client = login(ui.users.desk)
    response = client.post("/orders/saved", {"name": "Manual holds", "hold": "manual", "status": ""})
    saved = SavedSearch.objects.get(user=ui.users.desk)
    assert saved.query == "hold=manual"
    assert response["Location"].endswith("?hold=manual")
    assert "Manual holds" in client.get("/orders/").content.decode()
    # Another person does not see it, nor can they delete it.
    other = login(ui.users.approver)
    assert "Manual holds" not in other.get("/orders/").content.decode()
    other.post(f"/orders/saved/{saved.pk}/delete")
    assert SavedSearch.objects.filter(pk=saved.pk).exists()


def test_second_edit_from_a_stale_page_is_refused(ui, login):
    """Two people open the same order (version v). The first applies a hold; the second, still
    looking at version v, tries to cancel: refused with a clear message, nothing changes."""
    order = ui.open_order
    seen_version = order.version
    first = login(ui.users.desk)
    first.post(f"/orders/{order.number}/holds", {"version": seen_version, "code": "manual", "reason": "call"})
    order.refresh_from_db()
    assert order.version == seen_version + 1
    response = first.post(
        f"/orders/{order.number}/cancel", {"version": seen_version, "reason": "customer asked"}, follow=True
    )
    text = response.content.decode()
    assert "was changed by someone else" in text
    order.refresh_from_db()
    assert order.status == OrderStatus.OPEN
    assert not OrderEvent.objects.filter(order=order, kind=EventKind.CANCELED).exists()
    # With the fresh version the same action goes through.
    first.post(f"/orders/{order.number}/cancel", {"version": order.version, "reason": "customer asked"})
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED


def test_release_hold_from_detail_needs_a_reason(ui, login):
    client = login(ui.users.desk)
    order = ui.held_order
    url = f"/orders/{order.number}/holds/{ui.hold.pk}/release"
    response = client.post(url, {"version": order.version, "reason": " "}, follow=True)
    assert "needs a reason" in response.content.decode()
    assert OrderHold.objects.get(pk=ui.hold.pk).released_at is None
    client.post(url, {"version": order.version, "reason": "address confirmed"})
    assert OrderHold.objects.get(pk=ui.hold.pk).released_at is not None


def test_mass_release_from_the_workbench(ui, login):
    from orders.actors import Actor
    from orders.services import hold_apply

    second = hold_apply(
        order_id=ui.open_order.pk, actor=Actor.for_user(ui.users.desk), code="manual", reason="x"
    )
    client = login(ui.users.desk)
    response = client.post(
        "/workbench/holds/action",
        {"action": "release", "ids": [ui.hold.pk, second.pk], "reason": "checked", "confirm": "yes"},
        follow=True,
    )
    assert "2 rows released." in response.content.decode()
    assert not OrderHold.objects.filter(released_at__isnull=True).exists()


def _entry(client, **overrides):
    page = client.get("/orders/new/")
    source = page.context["header"]["source_order_id"].value()
    key = page.context["header"]["idempotency_key"].value()
    data = {
        "source_order_id": source, "idempotency_key": key, "channel": "web", "customer": "C-1",
        "lines-0-sku": "DRILL-1", "lines-0-quantity": "2",
        "lines-1-sku": "saw-1", "lines-1-quantity": "3",
    }  # fmt: skip
    data.update(overrides)
    return data


def test_entry_submits_through_the_pipeline_and_a_double_post_makes_one_order(ui, login):
    client = login(ui.users.desk)
    data = _entry(client)
    response = client.post("/orders/new/", data)
    assert response.status_code == 302
    order = SalesOrder.objects.get(source_order_id=data["source_order_id"])
    assert [(ln.product.sku, ln.quantity) for ln in order.lines.order_by("line_number")] == [
        ("DRILL-1", 2),
        ("SAW-1", 3),
    ]
    assert order.total == 2 * 100 + 3 * 50
    assert OrderEvent.objects.filter(order=order, kind=EventKind.SUBMITTED, actor="user:desk").exists()
    again = client.post("/orders/new/", data)
    assert again.status_code == 302 and again["Location"] == f"/orders/{order.number}/"
    assert SalesOrder.objects.filter(source_order_id=data["source_order_id"]).count() == 1


def test_entry_shows_pipeline_errors_inline_and_writes_nothing(ui, login):
    client = login(ui.users.desk)
    data = _entry(client, **{"lines-1-sku": "NOPE-9"})
    response = client.post("/orders/new/", data)
    assert response.status_code == 400
    text = response.content.decode()
    assert "Unknown SKU &#x27;NOPE-9&#x27;." in text or "Unknown SKU 'NOPE-9'." in text
    assert 'aria-invalid="true"' in text
    assert not SalesOrder.objects.filter(source_order_id=data["source_order_id"]).exists()
    response = client.post("/orders/new/", _entry(client, customer="C-404"))
    assert response.status_code == 400 and "No such customer account." in response.content.decode()


def test_live_quote_shows_prices_and_availability(ui, login):
    client = login(ui.users.desk)
    response = client.post(
        "/orders/new/quote",
        {
            "channel": "web",
            "customer": "C-1",
            "lines-0-sku": "DRILL-1",
            "lines-0-quantity": "2",
            "lines-3-sku": "SAW-1",
            "lines-3-quantity": "1",
        },
        HTTP_HX_REQUEST="true",
    )
    text = response.content.decode()
    assert "DRILL-1" in text and "SAW-1" in text
    assert "250.00 USD" in text  # 2 x 100 + 1 x 50
    assert "wh-east" in text  # availability per warehouse


def test_product_and_customer_search_match_partially(ui, login):
    client = login(ui.users.desk)
    assert "DRILL-1" in client.get("/orders/new/products?field=x&x=dri").content.decode()
    assert "C-2" in client.get("/orders/new/customers?q=globex").content.decode()


def test_save_as_draft_reopen_and_submit(ui, login):
    client = login(ui.users.desk)
    data = _entry(client, **{"lines-1-quantity": ""})  # half-finished: the second line has no quantity
    data["save_draft"] = "1"
    response = client.post("/orders/new/", data)
    source = data["source_order_id"]
    assert response.status_code == 302 and response["Location"].endswith(f"?draft={source}")
    assert not SalesOrder.objects.filter(source_order_id=source).exists()  # nothing captured
    page = client.get(f"/orders/new/?draft={source}").content.decode()
    assert 'value="DRILL-1"' in page and 'value="saw-1"' in page and 'value="C-1"' in page
    assert "My drafts (1)" in page
    del data["save_draft"]
    data["lines-1-quantity"] = "3"
    assert client.post("/orders/new/", data).status_code == 302
    assert SalesOrder.objects.filter(source_order_id=source).count() == 1
    assert "My drafts" not in client.get("/orders/new/").content.decode()
    # Drafts are per person.
    assert "My drafts" not in login(ui.users.admin).get("/orders/new/").content.decode()
