"""Hold scopes, line holds and line cancellation; list reads cost a constant number of queries."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from inventory.models import StockPosition
from orders.actors import Actor
from orders.filters import OrderFilter
from orders.models import OrderEvent, SalesOrder
from orders.selectors import holds_stopping, order_list
from orders.services import hold_apply, line_cancel
from tests.factories.orders import HoldCodeFactory

from .conftest import api_post, order_body

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

TWO_LINES = [
    {"source_line_id": "1", "sku": "DRILL-1", "quantity": "2"},
    {"source_line_id": "2", "sku": "SAW-1", "quantity": "1"},
]


def test_a_hold_stops_only_the_steps_its_code_names(client, world):
    HoldCodeFactory(
        code="billing-review", stops="billing", apply_roles=["finance"], release_roles=["finance"]
    )
    number = api_post(client, "/api/v1/orders", order_body(lines=TWO_LINES), key=world.web.key).json()[
        "number"
    ]
    response = api_post(client, f"/api/v1/orders/{number}/holds",
                        {"code": "billing-review", "reason": "check VAT id", "line_number": 2},
                        key=world.web.key)  # fmt: skip
    assert response.status_code == 403  # the channel is not among the code's roles
    order = SalesOrder.objects.get(number=number)
    line = order.lines.get(line_number=2)
    hold = hold_apply(
        order_id=order.pk, actor=Actor.system(), code="billing-review", reason="VAT", line_id=line.pk
    )
    assert holds_stopping(order_id=order.pk, step="billing", line_id=line.pk) == [hold]
    assert holds_stopping(order_id=order.pk, step="shipping", line_id=line.pk) == []
    assert holds_stopping(order_id=order.pk, step="billing") == []  # the other line is free
    assert SalesOrder.objects.get(pk=order.pk).status == "open"  # a hold is not a status


def test_a_line_is_canceled_with_a_reason_and_its_stock_released(client, world):
    number = api_post(client, "/api/v1/orders", order_body(lines=TWO_LINES), key=world.web.key).json()[
        "number"
    ]
    order = SalesOrder.objects.get(number=number)
    line = order.lines.get(line_number=1)
    line_cancel(order_id=order.pk, line_id=line.pk, actor=Actor.system(), reason="out of range")
    assert StockPosition.objects.get(product=world.drill, warehouse=world.warehouse).reserved == 0
    assert StockPosition.objects.get(product=world.saw, warehouse=world.warehouse).reserved == 1
    assert OrderEvent.objects.filter(order=order, kind="line_canceled", reason="out of range").exists()
    assert SalesOrder.objects.get(pk=order.pk).status == "open"


def test_the_order_list_costs_the_same_queries_for_3_or_30_orders(
    client, world, django_assert_max_num_queries
):
    for i in range(3):
        api_post(client, "/api/v1/orders", order_body(f"A-{i}", lines=TWO_LINES), key=world.web.key)
    principal = type("Viewer", (), {"channel": world.web.channel})()
    with django_assert_max_num_queries(3):
        assert len(list(OrderFilter(queryset=order_list(viewer=principal)).qs)) == 3
    for i in range(27):
        api_post(client, "/api/v1/orders", order_body(f"B-{i}", lines=TWO_LINES), key=world.web.key)
    with django_assert_max_num_queries(3):
        orders = list(OrderFilter({"sku": "SAW-1"}, queryset=order_list(viewer=principal)).qs)
        assert len(orders) == 30
        assert all(len(o.lines.all()) == 2 for o in orders)


def test_anyone_else_sees_no_orders(client, world):
    api_post(client, "/api/v1/orders", order_body(), key=world.web.key)
    assert list(order_list(viewer=AnonymousUser())) == []


def test_staff_see_orders_only_through_a_role_and_partners_are_refused(client, world):
    from partners.models import Partner
    from partners.services import partner_credential_issue

    from .conftest import api_get
    from .helpers_staff import staff

    number = api_post(client, "/api/v1/orders", order_body(), key=world.web.key).json()["number"]
    client.force_login(staff("norole"))
    assert client.get(f"/api/v1/orders/{number}").status_code == 404
    client.force_login(staff("desk", "order_desk"))
    assert client.get(f"/api/v1/orders/{number}").json()["number"] == number
    no_channel = api_post(client, "/api/v1/orders", order_body("S-2"))
    assert no_channel.status_code == 400 and "channel" in no_channel.json()["fields"]
    client.logout()
    partner = Partner.objects.create(code="3pl", name="3PL", type="3pl")
    cred = partner_credential_issue(partner=partner).raw_key
    assert api_get(client, f"/api/v1/orders/{number}", key=cred).status_code == 403
