"""The one formatting rule and readable labels on the screens the walk named (issue 14 items 7
and 8): order detail and entry, stock adjustment messages, dashboard tiles and charts, hold
reasons, the back-orders panel, CSV exports, the process publishing message."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from fulfillment.models import ProcessDefinition
from fulfillment.seeding import SHIP_FROM_WAREHOUSE
from fulfillment.services import definition_new_version
from inventory.services import backorder_create
from orders.models import OrderHold, OrderLine
from tests.fulfillment.conftest import build_fulfillment_world

from .world import submit

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ONE_DATE = re.compile(r"\b\d{2}/\d{2}/\d{4}\b")
OTHER_DATES = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2} [A-Z][a-z]{2}\b")


def _text(response) -> str:
    return re.sub(r"<[^>]+>", " ", response.content.decode())


def test_stock_adjustment_message_shows_a_whole_quantity_without_exponent(ui, login):
    client = login(ui.users.fulfillment)
    response = client.post(
        "/inventory/adjust",
        {"warehouse": "wh-east", "sku": "SAW-1", "quantity": "-470", "kind": "adjustment", "reason": "count"},
        follow=True,
    )
    text = _text(response)
    assert re.search(r"on hand is now 30 EA\.", text), text[:3000]
    assert "E+" not in text


def test_order_detail_shows_money_grouped_dates_one_way_and_readable_charges(ui, login):
    big = submit(ui, ui.users.desk, "BIG-1", [("DRILL-1", "120")])  # 12,000.00 USD
    page = login(ui.users.desk).get(f"/orders/{big.number}/")
    text = _text(page)
    assert "12,000.00 USD" in text
    assert ONE_DATE.search(text) and not OTHER_DATES.search(text)
    assert "list_price" not in text and "(usd-default) (usd-default)" not in text
    assert "List price" in text and "Tax 0%" in text and "Tax (0" not in text


def test_hold_reasons_show_amounts_by_the_money_rule(ui, login):
    ui.customer.credit_limit = Decimal("100000")
    ui.customer.save(update_fields=["credit_limit"])
    order = submit(ui, ui.users.desk, "HUGE-1", [("DRILL-1", "1100")])  # 110,000.00 USD > the limit
    hold = OrderHold.objects.get(order=order, hold_code__code="credit")
    assert "100000.0000 USD" in hold.reason  # stored as the pipeline wrote it
    for url in (f"/orders/{order.number}/", "/workbench/credit/"):
        text = _text(login(ui.users.finance).get(url))
        assert "limit 100,000.00 USD" in text and "100000.0000" not in text
        assert not OTHER_DATES.search(text)  # the rate's date too, in the one format


def test_dashboard_revenue_is_grouped_and_charts_name_channels(ui, login):
    submit(ui, ui.users.desk, "BIG-2", [("DRILL-1", "120")])
    page = login(ui.users.desk).get("/")
    tile = re.search(r'data-tile="revenue">(.*?)</span></span>', page.content.decode(), re.S).group(1)
    assert re.sub(r"<[^>]+>", "", tile).split() == ["18,400.00", "USD"]  # 250 + 150 + 6,000 + 12,000
    chart = json.loads(page.context["by_channel_chart"])
    assert chart["data"]["labels"] == ["Web"]  # the channel's name, not "web (USD)"


def test_back_orders_panel_links_to_the_order(ui, login):
    line = OrderLine.objects.filter(order=ui.open_order).order_by("line_number").first()
    backorder_create(demand_type="order_line", demand_id=str(line.pk), product_id=line.product_id, quantity=3)
    html = login(ui.users.fulfillment).get("/workbench/backorders/").content.decode()
    assert f'href="/orders/{ui.open_order.number}/"' in html and f"Order {ui.open_order.number}" in html
    assert "order_line" not in html


def test_csv_timestamps_have_no_microseconds(ui, login):
    response = login(ui.users.desk).get("/orders/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    stamps = [r[rows[0].index("created_at")] for r in rows[1:]]
    assert stamps and all(
        re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}", s) for s in stamps
    )


def test_publishing_says_the_process_name_and_version(admin_client, db):
    world = build_fulfillment_world()
    draft = definition_new_version(definition_id=world.processes[SHIP_FROM_WAREHOUSE].pk)
    response = admin_client.post(
        reverse("admin:fulfillment_processdefinition_changelist"),
        {"action": "publish", "_selected_action": [draft.pk]},
        follow=True,
    )
    text = _text(response)
    draft = ProcessDefinition.objects.get(pk=draft.pk)
    assert f"Published {draft.name}, version {draft.version}." in text
    assert "(draft)" not in text
