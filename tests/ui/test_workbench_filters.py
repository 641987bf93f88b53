"""The workbench queues filter through FilterSets (reporting.filters.HoldQueueFilter,
BackorderQueueFilter): a customer's name finds its holds, an invalid filter says so
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


def test_an_invalid_backorder_filter_is_reported_on_its_field_not_ignored(ui, login):
    client = login(ui.users.desk)
    response = client.get("/workbench/backorders/?warehouse=nowhere")
    page = response.content.decode()
    assert response.status_code == 400
    assert (
        '<p class="field-error" id="id_warehouse-err" role="alert">No warehouse has the code “nowhere”.'
        in page
    )
    assert 'value="nowhere"' in page  # what was typed stays in the box
    assert response.context["rows"].paginator.count == 0
