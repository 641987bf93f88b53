"""The workbench queues filter through FilterSets (orders.filters.OrderHoldFilter,
inventory.filters.BackorderFilter): a customer's name finds its holds, an invalid filter says so
and lists nothing."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_the_holds_queue_filters_by_customer_name_or_account_and_code(ui, login):
    client = login(ui.users.desk)
    for query in ("customer=globex", "customer=C-2", "code=manual"):
        page = client.get(f"/workbench/holds/?{query}").content.decode()
        assert ui.held_order.number in page, query
    page = client.get("/workbench/holds/?customer=nobody-like-this").content.decode()
    assert ui.held_order.number not in page


def test_an_invalid_backorder_filter_is_reported_not_ignored(ui, login):
    client = login(ui.users.desk)
    response = client.get("/workbench/backorders/?warehouse=nowhere", follow=True)
    assert "Fix the filter" in response.content.decode()
    assert "warehouse" in response.content.decode()
