"""The acceptance flows of the staff UI in a real browser (headless Chromium)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orders.models import OrderHold, SalesOrder
from orders.states import OrderStatus

from .conftest import horizontal_overflow, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.xdist_group("browser")]


def _pick(page, field_label: str, typed: str, option: str) -> None:
    page.get_by_label(field_label).first.fill("")
    page.get_by_label(field_label).first.press_sequentially(typed, delay=30)
    page.get_by_role("button", name=re.compile(option)).first.click()


def test_enter_order_with_two_lines_then_find_it_and_see_its_timeline(seeded, desktop):
    page, base = desktop, seeded.base
    sign_in(page, base, "desk")
    page.get_by_role("link", name="New order").first.click()
    expect(page.get_by_role("heading", name="New order")).to_be_visible()

    _pick(page, "Customer account or name", "Acm", "Acme Tools")
    expect(page.locator("#customer-card")).to_contain_text("Acme Tools Inc.")
    _pick(page, "Product (SKU or name)", "dri", "DRILL-1")
    page.locator("#lines-0-quantity").fill("2")
    page.get_by_role("button", name="+ Add line").click()
    expect(page.locator("#lines-1-sku")).to_be_visible()
    page.locator("#lines-1-sku").press_sequentially("SAW", delay=30)
    page.get_by_role("button", name=re.compile("SAW-1")).first.click()
    page.locator("#lines-1-quantity").fill("1")
    page.locator("#lines-1-quantity").dispatch_event("change")

    # Live price and availability per warehouse, before anything is saved.
    quote = page.locator("#quote")
    expect(quote).to_contain_text("250.00 USD")
    expect(quote.locator(".quote-line")).to_have_count(2)
    expect(quote).to_contain_text("wh-east")
    shot(page, "order-entry-filled-desktop")
    assert SalesOrder.objects.filter(source_order_id__startswith="UI-").count() == 0

    page.get_by_role("button", name="Submit order").click()
    expect(page.get_by_text(re.compile(r"Order SO-\d+ was submitted"))).to_be_visible()
    order = SalesOrder.objects.get(source_order_id__startswith="UI-")
    assert order.lines.count() == 2 and str(order.total) == "250.0000"

    # Find it in the search and open it.
    page.get_by_role("link", name="Orders", exact=True).click()
    page.get_by_label("Order or source id").fill(order.number)
    page.get_by_role("button", name="Search", exact=True).click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    shot(page, "order-search-result-desktop")
    rows.get_by_role("link", name=order.number).click()
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Order captured with 2 line(s)")
    expect(timeline).to_contain_text("user:desk")
    shot(page, "order-submitted-desktop")


def test_release_a_hold_from_the_workbench(seeded, desktop):
    page, base = desktop, seeded.base
    sign_in(page, base, "desk")
    page.goto(f"{base}/workbench/holds/")
    page.get_by_label(f"Select hold manual on {seeded.held_order.number}").check()
    page.get_by_label("Release reason").fill("Address confirmed by phone")
    shot(page, "workbench-holds-desktop")
    page.get_by_role("button", name="Release selected").click()
    # A confirmation first, naming the rows; nothing is released until it is confirmed.
    expect(page.get_by_text(f"{seeded.held_order.number} · hold manual")).to_be_visible()
    assert OrderHold.objects.get(pk=seeded.hold.pk).released_at is None
    page.get_by_role("button", name="Confirm: release 1").click()
    expect(page.get_by_text("1 row released.")).to_be_visible()
    hold = OrderHold.objects.get(pk=seeded.hold.pk)
    assert hold.released_at is not None and hold.release_reason == "Address confirmed by phone"


def test_approver_approves_a_pending_order(seeded, desktop):
    page, base = desktop, seeded.base
    sign_in(page, base, "approver")
    page.goto(f"{base}/orders/{seeded.pending_order.number}/")
    page.get_by_role("button", name="Approve order").click()
    expect(page.get_by_text("The order was approved.")).to_be_visible()
    assert SalesOrder.objects.get(pk=seeded.pending_order.pk).status == OrderStatus.OPEN


def test_a_non_approver_cannot_approve(seeded, desktop):
    page, base = desktop, seeded.base
    sign_in(page, base, "desk")
    page.goto(f"{base}/orders/{seeded.pending_order.number}/")
    expect(page.get_by_role("heading", name=re.compile(seeded.pending_order.number))).to_be_visible()
    expect(page.get_by_role("button", name="Approve order")).to_have_count(0)
    # Posting the approval anyway (a crafted request with a valid session and CSRF token).
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{base}/orders/{seeded.pending_order.number}/approve",
        form={"version": str(seeded.pending_order.version), "reason": "self-approved"},
        headers={"X-CSRFToken": token, "Referer": page.url},
    )
    assert response.status == 403 and "Not allowed" in response.text()
    assert SalesOrder.objects.get(pk=seeded.pending_order.pk).status == OrderStatus.PENDING_APPROVAL


def test_phone_order_entry_and_approval_without_sideways_scrolling(seeded, phone, browser):
    page, base = phone, seeded.base
    sign_in(page, base, "desk")
    assert horizontal_overflow(page) <= 0
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="New order").click()
    _pick(page, "Customer account or name", "C-2", "Globex")
    _pick(page, "Product (SKU or name)", "SAW", "SAW-1")
    page.locator("#lines-0-quantity").fill("2")
    page.locator("#lines-0-quantity").dispatch_event("change")
    expect(page.locator("#quote")).to_contain_text("100.00 USD")
    assert horizontal_overflow(page) <= 0
    shot(page, "order-entry-filled-phone")
    page.get_by_role("button", name="Submit order").click()
    expect(page.get_by_text(re.compile(r"Order SO-\d+ was submitted"))).to_be_visible()
    assert horizontal_overflow(page) <= 0
    shot(page, "order-submitted-phone")

    approver_context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        approver = approver_context.new_page()
        sign_in(approver, base, "approver")
        response = approver.goto(f"{base}/workbench/approvals/")
        assert (
            response is not None and response.status == 200 and response.url == f"{base}/workbench/approvals/"
        )
        assert horizontal_overflow(approver) <= 0
        shot(approver, "approvals-phone")
        approver.get_by_role("link", name=seeded.pending_order.number).click()
        approver.get_by_role("button", name="Approve order").click()
        expect(approver.get_by_text("The order was approved.")).to_be_visible()
        assert horizontal_overflow(approver) <= 0
    finally:
        approver_context.close()
    assert SalesOrder.objects.get(pk=seeded.pending_order.pk).status == OrderStatus.OPEN


MAIN_PAGES = {
    "dashboard": "/",
    "orders": "/orders/",
    "order-detail": None,  # the held order
    "order-entry": "/orders/new/",
    "workbench": "/workbench/",
    "customers": "/customers/",
    "customer-history": None,
    "stock": "/inventory/",
    "movements": "/inventory/movements/",
    "transfers": "/inventory/transfers/",
    "reorder": "/inventory/reorder/",
    "purchase-orders": "/inventory/purchase-orders/",
    "shipments": "/fulfillment/shipments/",
    "leads-pipeline": "/crm/leads/pipeline",
    "leads": "/crm/leads/",
    "lead-new": "/crm/leads/new",
    "follow-ups": "/crm/follow-ups/",
}


def test_main_pages_at_desktop_and_phone_width_have_no_sideways_scrolling(seeded, browser):
    pages = dict(MAIN_PAGES)
    pages["order-detail"] = f"/orders/{seeded.held_order.number}/"
    pages["customer-history"] = f"/customers/{seeded.customer.pk}/"
    from customers.services import interaction_log, lead_create

    lead = lead_create(
        contact_name="Kim Lee", company="Lee Freight Forwarding International", email="k@lee.test"
    )
    interaction_log(kind="call", subject="First call", lead_id=lead.pk, notes="A long note " * 20)
    pages["lead-detail"] = f"/crm/leads/{lead.pk}/"
    overflowing, failed = {}, {}
    for label, viewport in (
        ("desktop", {"width": 1366, "height": 900}),
        ("phone", {"width": 390, "height": 844}),
    ):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        sign_in(page, seeded.base, "boss")
        for name, path in pages.items():
            response = page.goto(seeded.base + path)
            page.wait_for_load_state("load")
            # An error page or the sign-in page also fits the screen: only the real page counts.
            if response is None or response.status != 200 or response.url != seeded.base + path:
                failed[f"{name}-{label}"] = (response.status if response else None, page.url)
                continue
            shot(page, f"{name}-{label}")
            if horizontal_overflow(page) > 0:
                overflowing[f"{name}-{label}"] = horizontal_overflow(page)
        context.close()
    assert not failed, failed
    assert not overflowing, overflowing


def test_installable_web_app_manifest(seeded, desktop):
    page, base = desktop, seeded.base
    sign_in(page, base, "desk")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = page.request.get(base + href)
    assert manifest.ok and manifest.headers["content-type"].startswith("application/manifest+json")
    data = manifest.json()
    assert data["display"] == "standalone" and data["start_url"] == "/"
    for icon in data["icons"]:
        assert page.request.get(base + icon["src"]).ok, icon
