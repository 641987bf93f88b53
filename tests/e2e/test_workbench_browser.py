"""The workbench acceptance flow in a real browser (issue 17 item 6): filter the jeopardy queue by
warehouse, open an order's timeline (planned vs actual vs required per step), go back to the
filtered queue and bulk-assign its alerts (confirmation, then a result per row), on a desktop
(1366x900) and a phone (390x844) without sideways scrolling."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from fulfillment.models import FulfillmentEvent, JeopardyAlert
from tests.reporting.workbench_world import build_workbench_world

from .conftest import DESKTOP, PHONE, horizontal_overflow, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.xdist_group("browser")]


@pytest.fixture
def wbworld(transactional_db, live_server):
    world = build_workbench_world()
    world.base = live_server.url
    return world


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_filter_jeopardy_by_warehouse_open_the_timeline_and_bulk_assign(wbworld, browser, size):
    context = browser.new_context(viewport=DESKTOP if size == "desktop" else PHONE, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        base, made = wbworld.base, wbworld.wb
        east, west = made.east.order_number, made.west.order_number
        sign_in(page, base, "picker")
        page.goto(f"{base}/workbench/jeopardy/")
        rows = page.locator("main table.stack tbody tr")
        expect(rows).to_have_count(2)
        expect(page.locator("#workbench-tabs")).to_contain_text("H 1 · M 1 · L 0")
        assert horizontal_overflow(page) <= 0

        # Filter by warehouse: only the west line's alert stays.
        page.get_by_label("Warehouse").fill("wh-west")
        page.get_by_role("button", name="Filter").click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(west)
        expect(page.locator("main table.stack")).not_to_contain_text(east)
        assert horizontal_overflow(page) <= 0
        shot(page, f"workbench-jeopardy-west-{size}")

        # Drill down: the order's timeline, one bar pair per step and the required dates marked.
        page.get_by_role("link", name=f"Timeline of {west}").click()
        expect(page.get_by_role("heading", name=f"Timeline of {west}")).to_be_visible()
        steps = made.west.process.steps.count()
        expect(page.locator("svg.gantt-track")).to_have_count(steps)
        expect(page.locator("svg.gantt-track rect.g-planned")).to_have_count(steps)
        assert page.locator("svg.gantt-track line.g-required").count() > 0
        assert page.locator("svg.gantt-track rect.g-actual").count() > 0
        assert horizontal_overflow(page) <= 0
        shot(page, f"workbench-timeline-{size}")

        # Back to the filtered queue, tick the alert, assign it to the lead, confirm.
        page.get_by_role("link", name="Back to the queue").click()
        expect(page.get_by_label("Warehouse")).to_have_value("wh-west")
        page.get_by_label(f"Select alert on {west} line 1").check()
        page.get_by_label("Assign to").select_option(label="lead")
        page.get_by_role("button", name="Assign selected").click()
        expect(page.get_by_role("heading", name="Assign 1 row of jeopardy?")).to_be_visible()
        assert not JeopardyAlert.objects.filter(assigned_to__isnull=False).exists()
        assert horizontal_overflow(page) <= 0
        page.get_by_role("button", name="Confirm: assign 1").click()
        result = page.locator("table.bulk-results tbody tr")
        expect(result).to_have_count(1)
        expect(result.first).to_contain_text(west)
        expect(result.first).to_contain_text("Assigned to lead.")
        expect(page.locator("#bulk-summary")).to_have_text("1 row assigned.")
        assert horizontal_overflow(page) <= 0
        shot(page, f"workbench-assigned-{size}")

        assert JeopardyAlert.objects.get(pk=made.medium.pk).assigned_to == wbworld.users.lead
        assert JeopardyAlert.objects.get(pk=made.high.pk).assigned_to is None  # filtered out, untouched
        assert FulfillmentEvent.objects.filter(kind="alert_assigned").count() == 1
    finally:
        context.close()
