"""Every list page runs the same number of queries whatever the number of rows it shows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from .growth import grow

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

# Each page and the most queries it may run (session, user, roles, the page's own reads).
LIST_PAGES = {
    "/": 16,
    "/orders/": 10,
    "/orders/?sort=customer&status=open": 10,
    "/orders/?hold=manual&sort=-total": 10,
    "/workbench/holds/": 16,
    "/workbench/approvals/": 16,
    "/workbench/credit/": 16,
    "/workbench/backorders/": 16,
    "/workbench/webhooks/": 16,
    "/workbench/steps/": 16,
    "/customers/": 8,
    "/inventory/": 10,
    "/inventory/?warehouse=all": 8,
    "/inventory/movements/": 8,
    "/inventory/movements/?kind=receipt": 8,
    "/inventory/transfers/": 9,
    "/inventory/reorder/": 9,
    "/inventory/reorder/?show=all": 9,
    "/inventory/purchase-orders/": 8,
    "/fulfillment/shipments/": 8,
    "/crm/leads/": 8,
    "/crm/leads/?stage=new&q=lead": 8,
    "/crm/leads/pipeline": 9,
    "/crm/follow-ups/": 8,
}


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_every_list_page_query_count_is_bounded_and_independent_of_rows(ui, login):
    client = login(ui.users.admin)
    grow(ui, 2, "A")
    few = {url: _count(client, url) for url in LIST_PAGES}
    grow(ui, 12, "B")  # every list now has several times more rows on its first page
    many = {url: _count(client, url) for url in LIST_PAGES}
    assert many == few
    over = {url: n for url, n in many.items() if n > LIST_PAGES[url]}
    assert not over, over


def test_customer_history_and_order_detail_do_not_grow_with_orders_or_lines(ui, login):
    client = login(ui.users.admin)
    grow(ui, 1, "A")
    customer_url = f"/customers/{ui.customer.pk}/"
    detail_url = f"/orders/{ui.open_order.number}/"
    few = (_count(client, customer_url), _count(client, detail_url))
    grow(ui, 6, "B")
    from .world import submit

    for i in range(8):
        submit(ui, ui.users.desk, f"MORE-{i}", [("DRILL-1", "1")])
    big = submit(
        ui, ui.users.desk, "BIG", [("DRILL-1", "1"), ("SAW-1", "1"), ("GB-000", "1"), ("GB-001", "2")]
    )
    assert _count(client, customer_url) == few[0]
    assert _count(client, f"/orders/{big.number}/") == few[1]
