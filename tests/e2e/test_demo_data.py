"""After `seed_demo`, a newcomer sees the product working: every dashboard panel and every
workbench queue has content (nothing says "none" or "nothing")."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from orders.models import SalesOrder
from reporting.views import PANELS
from tests.ui.world import PASSWORD

from .conftest import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.xdist_group("browser")]


@pytest.fixture
def demo(transactional_db, live_server):
    call_command("seed_demo", "--password", PASSWORD, stdout=StringIO())
    return live_server.url


def test_after_seed_demo_every_dashboard_panel_and_workbench_queue_has_content(demo, desktop):
    page = desktop
    sign_in(page, demo, "admin")

    # Dashboard: today's orders from every channel, a month of history, exceptions, low stock.
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert page.locator("main .empty").count() == 0, page.locator("main .empty").all_inner_texts()
    kpis = dict(
        zip(
            page.locator(".kpi .label").all_inner_texts(),
            page.locator(".kpi .value").all_inner_texts(),
            strict=True,
        )
    )
    for label in (
        "Orders today",
        "Awaiting approval",
        "Active holds",
        "Open back-orders",
        "Failing webhooks",
    ):
        assert int(kpis[label]) > 0, (label, kpis)
    channels_today = page.locator("section:has(h2:text('Revenue today by channel')) tbody tr")
    assert channels_today.count() == 6  # web, pos, call center, field sales, marketplace, import
    per_day = json.loads(page.locator("canvas[aria-label^='Orders per day']").get_attribute("data-chart"))
    assert all(n > 0 for n in per_day["data"]["datasets"][0]["data"])  # every one of the 14 days
    facts = page.locator("section:has(h2:text('Open exceptions')) .count-list li strong").all_inner_texts()
    assert facts and all(int(n) > 0 for n in facts), facts
    assert page.locator("section:has(h2:text('Low stock')) tbody tr").count() > 0
    shot(page, "demo-dashboard-desktop")

    # Workbench: every queue has rows, and the side summaries too.
    for key, panel in PANELS.items():
        page.goto(f"{demo}/workbench/{key}/")
        expect(page.get_by_role("heading", name=panel.title, exact=True)).to_be_visible()
        rows = page.locator("main table.stack tbody tr")
        assert rows.count() > 0, f"the {panel.title} queue is empty"
        assert page.locator("main .empty").count() == 0, (key, page.locator("main .empty").all_inner_texts())
        shot(page, f"demo-workbench-{key}-desktop")

    # "Apply hold" on an order offers the manual hold codes.
    number = SalesOrder.objects.get(source_order_id="DEMO-0001", is_current=True).number
    page.goto(f"{demo}/orders/{number}/")
    codes = page.locator("#hold-code option").evaluate_all("options => options.map(o => o.value)")
    assert {"address-check", "payment-check", "customer-request"} <= set(codes)
    # The order's timeline reads as sentences, a month after it was placed.
    expect(page.locator("#timeline")).to_contain_text("Order captured with")
