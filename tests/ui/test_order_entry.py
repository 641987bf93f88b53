"""Order entry (issue 14 items 1-4, 18): the live quote is the order capture will write, the
customer card shows capture's defaults, messages sit on their fields in words, fat fingers are
asked about, and the form's submission is idempotent."""

from __future__ import annotations

import re
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import SitePurpose
from orders.actors import Actor
from orders.inputs import CustomerInput, LineInput, OrderInput
from orders.models import IdempotencyKey, SalesOrder
from orders.services.entry import order_submit_once
from orders.states import OrderStatus
from tests.factories.customers import CustomerFactory, CustomerSiteFactory
from tests.orders.conftest import build_world

from .world import staff_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _form(client, **fields) -> dict:
    page = client.get("/orders/new/")
    header = page.context["header"]
    data = {
        "source_order_id": header["source_order_id"].value(),
        "idempotency_key": header["idempotency_key"].value(),
        "channel": "web",
        "customer": "C-1",
        "lines-0-sku": "DRILL-1",
        "lines-0-quantity": "2",
    }
    data.update(fields)
    return data


def _quote(client, data) -> str:
    return client.post("/orders/new/quote", data, HTTP_HX_REQUEST="true").content.decode()


def _slot(html: str, name: str) -> str:
    """The text of one input's message slot (`msgs-<name>`)."""
    match = re.search(rf'<div id="msgs-{re.escape(name)}" class="field-msgs"[^>]*>(.*?)</div>', html, re.S)
    assert match, f"no message slot for {name}"
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip()


def test_the_quote_prices_the_manual_adjustment_and_says_the_approval_before_submitting(ui, login):
    client = login(ui.users.desk)
    data = _form(
        client,
        **{
            "lines-0-quantity": "3",
            "lines-0-adjustment_kind": "percent_off",
            "lines-0-adjustment_value": "30",
            "lines-0-adjustment_reason": "price-match",
        },
    )
    quote = _quote(client, data)
    total = re.search(r'id="quote-total">([^<]+)<', quote).group(1)
    assert total == "210.00 USD"  # 3 x 100 less 30 %, not the 300.00 list
    assert "Will wait for approval." in quote and "guardrail" in quote
    response = client.post("/orders/new/", data)
    assert response.status_code == 302
    order = SalesOrder.objects.get(source_order_id=data["source_order_id"])
    assert f"{order.total:,.2f} {order.currency}" == total
    assert order.status == OrderStatus.PENDING_APPROVAL


def test_the_quote_says_the_credit_hold_the_order_will_get(ui, login):
    ui.customer.credit_limit = Decimal("100")
    ui.customer.save(update_fields=["credit_limit"])
    client = login(ui.users.desk)
    quote = _quote(client, _form(client))
    assert "Will be put on credit hold." in quote
    assert "limit 100.00 USD" in quote  # amounts in reasons by the money rule, not 100.0000


def test_the_card_shows_the_ship_to_site_and_currency_capture_uses(ui, login):
    abroad = CustomerFactory(account_number="C-77", name="Northern Parts", credit_currency="CAD")
    CustomerSiteFactory(
        customer=abroad, purpose=SitePurpose.BILL_TO, is_primary=True, line1="1 Head Office Rd",
        city="Toronto", region="ON", country="CA",
    )  # fmt: skip
    CustomerSiteFactory(
        customer=abroad, purpose=SitePurpose.SHIP_TO, is_primary=False, line1="9 Dock Lane",
        city="Buffalo", region="NY", country="US",
    )  # fmt: skip
    client = login(ui.users.desk)
    card = client.get("/orders/new/customer", {"customer": "C-77", "channel": "web"}).content.decode()
    ship = re.search(r'data-card="ship-to">([^<]+)<', card).group(1)
    assert "9 Dock Lane" in ship and "Buffalo" in ship and "Head Office" not in ship
    assert re.search(r'data-card="currency">USD', card) and "CAD" not in card
    response = client.post("/orders/new/", _form(client, customer="C-77"))
    assert response.status_code == 302, response.content.decode()[:2000]
    order = SalesOrder.objects.get(customer=abroad)
    assert order.ship_to["line1"] == "9 Dock Lane" and order.currency == "USD"


def test_messages_name_their_field_in_words_on_that_field_once_with_the_input_kept(ui, login):
    client = login(ui.users.desk)
    data = _form(
        client,
        **{
            "lines-0-quantity": "0",
            "lines-4-sku": "NOPE-9",
            "lines-4-quantity": "1",
            "lines-0-sku": "DRILL-1",
        },
    )
    response = client.post("/orders/new/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert _slot(html, "lines-0-quantity") == "Line 1 quantity: Enter a quantity above zero."
    assert "Ensure this value" not in html and "lines[" not in html
    assert 'value="NOPE-9"' in html and 'value="DRILL-1"' in html  # the input is kept
    # The pipeline's error of the second row lands on the second row's product field.
    data["lines-0-quantity"] = "2"
    html = client.post("/orders/new/", data).content.decode()
    assert _slot(html, "lines-4-sku") == "Line 2 product: Unknown SKU &#x27;NOPE-9&#x27;."
    assert _slot(html, "lines-0-sku") == ""
    assert html.count("Unknown SKU") == 1
    # The live quote puts it on the same field, out of band.
    quote = _quote(client, data)
    assert 'hx-swap-oob="true"' in quote
    assert _slot(quote, "lines-4-sku") == "Line 2 product: Unknown SKU &#x27;NOPE-9&#x27;."
    # An unknown customer is said once, on the customer field.
    html = client.post("/orders/new/", _form(client, customer="C-404")).content.decode()
    assert _slot(html, "customer") == "Customer: No such customer account."
    assert html.count("No such customer account") == 1
    assert not SalesOrder.objects.filter(customer__account_number="C-404").exists()


def test_the_adjustment_reason_is_a_choice_of_the_codes_that_exist(ui, login):
    client = login(ui.users.desk)
    page = client.get("/orders/new/").content.decode()
    select = re.search(r'<select id="lines-0-adjustment_reason".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "price-match"]
    html = client.post(
        "/orders/new/",
        _form(client, **{"lines-0-adjustment_kind": "percent_off", "lines-0-adjustment_value": "5",
                         "lines-0-adjustment_reason": "because"}),
    ).content.decode()  # fmt: skip
    assert (
        _slot(html, "lines-0-adjustment_reason") == "Line 1 adjustment reason: Choose a reason from the list."
    )


def test_two_and_a_half_each_is_refused_on_the_quantity_field(ui, login):
    client = login(ui.users.desk)
    data = _form(client, **{"lines-0-quantity": "2.5"})
    html = client.post("/orders/new/", data).content.decode()
    assert _slot(html, "lines-0-quantity") == "Line 1 quantity: EA is counted in whole units."
    assert _slot(_quote(client, data), "lines-0-quantity") == "Line 1 quantity: EA is counted in whole units."
    assert not SalesOrder.objects.filter(source_order_id=data["source_order_id"]).exists()


def test_a_quantity_100_times_the_usual_asks_for_confirmation(ui, login):
    client = login(ui.users.desk)
    # C-1's lines so far: 2, 1 and 60 (usual 21); 2,100 is 100 times that.
    data = _form(client, **{"lines-0-quantity": "2100"})
    quote = _quote(client, data)
    assert _slot(quote, "lines-0-quantity").startswith("Line 1 quantity: 100 times this customer")
    assert "data-confirm-unusual" in quote
    response = client.post("/orders/new/", data)
    assert response.status_code == 400 and "data-confirm-unusual" in response.content.decode()
    assert not SalesOrder.objects.filter(source_order_id=data["source_order_id"]).exists()
    response = client.post("/orders/new/", {**data, "confirm_unusual": "1"})
    assert response.status_code == 302
    assert SalesOrder.objects.get(source_order_id=data["source_order_id"]).lines.get().quantity == 2100
    # A usual quantity is not asked about.
    assert "data-confirm-unusual" not in _quote(client, _form(client, **{"lines-0-quantity": "20"}))


def test_a_repeated_post_of_the_form_replays_the_first_order(ui, login):
    client = login(ui.users.desk)
    data = _form(client)
    first = client.post("/orders/new/", data)
    again = client.post("/orders/new/", data)
    order = SalesOrder.objects.get(source_order_id=data["source_order_id"])
    assert first["Location"] == again["Location"] == f"/orders/{order.number}/"
    assert IdempotencyKey.objects.filter(key=data["idempotency_key"]).count() == 1
    # A refused post gives the key back, so the corrected form goes through under it.
    fixed = _form(client, **{"lines-0-sku": "NOPE-1"})
    assert client.post("/orders/new/", fixed).status_code == 400
    assert not IdempotencyKey.objects.filter(key=fixed["idempotency_key"]).exists()
    fixed["lines-0-sku"] = "SAW-1"
    assert client.post("/orders/new/", fixed).status_code == 302


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_double_click_makes_one_order_and_no_error():
    world = build_world()
    desk = staff_user("desk2")
    data = OrderInput(
        source_order_id="UI-DOUBLE",
        customer=CustomerInput(account_number="C-1"),
        lines=(LineInput(source_line_id="1", sku="DRILL-1", quantity=Decimal(1)),),
    )
    barrier, outcomes, errors = threading.Barrier(2), [], []

    def click():
        try:
            barrier.wait()
            outcomes.append(
                order_submit_once(channel=world.web.channel, actor=Actor.for_user(desk), data=data, key="k-1")
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert SalesOrder.objects.filter(source_order_id="UI-DOUBLE").count() == 1
    assert len({o.number for o in outcomes}) == 1 and sorted(o.replayed for o in outcomes) == [False, True]


def test_the_trace_panel_shows_the_same_evaluation_as_the_charges(ui, login):
    order = ui.open_order
    line = order.lines.model.objects.filter(order=order).order_by("line_number").first()
    html = login(ui.users.desk).get(f"/orders/{order.number}/lines/{line.pk}/trace").content.decode()
    assert 'data-trace="agrees"' in html and "The charges above come from this evaluation." in html
    assert "Line 1" in html and "Line 2" not in html  # this line's steps (and the order's)


def test_the_live_quote_costs_the_same_queries_for_one_and_many_lines(
    ui, login, django_assert_max_num_queries
):
    client = login(ui.users.desk)
    one = _form(client)
    many = _form(client, **{f"lines-{i}-sku": sku for i, sku in enumerate(["DRILL-1", "SAW-1"] * 3)})
    many.update({f"lines-{i}-quantity": "1" for i in range(6)})
    _quote(client, one)  # warm the reference-data caches
    with CaptureQueriesContext(connection) as first:
        _quote(client, one)
    with django_assert_max_num_queries(len(first.captured_queries)):
        html = _quote(client, many)
    assert html.count('class="quote-line"') == 6
    assert len(first.captured_queries) <= 25
