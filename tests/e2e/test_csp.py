"""Every staff screen under the enforced content security policy: no violation, no console error,
and the scripts that need care (htmx swaps, the "+ Add line" index, the dashboard charts) work."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories.inventory import WarehouseFactory

from .conftest import WATCH_CSP, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.xdist_group("browser")]


def _screens(seeded) -> dict[str, str]:
    from inventory.models import PurchaseOrder

    screens = {
        "dashboard": "/",
        "orders": "/orders/",
        "order-detail": f"/orders/{seeded.held_order.number}/",
        "order-pending": f"/orders/{seeded.pending_order.number}/",
        "order-entry": "/orders/new/",
        "workbench": "/workbench/",
        "workbench-timeline": f"/workbench/orders/{seeded.held_order.number}/timeline",
        "workbench-filter-refused": "/workbench/holds/?warehouse=nowhere",
        "customers": "/customers/",
        "customer-history": f"/customers/{seeded.customer.pk}/",
        "stock": "/inventory/",
        "movements": "/inventory/movements/",
        "transfers": "/inventory/transfers/",
        "reorder": "/inventory/reorder/",
        "purchase-orders": "/inventory/purchase-orders/",
        "sign-in-security": "/accounts/2fa/",
        "admin": "/admin/",
        "admin-orders": "/admin/orders/salesorder/",
        "admin-access-log": "/admin/kernel/accesslogentry/",
        "rebates-checkbook": "/rebates/",
        "rebates-claims": "/rebates/claims/",
        "rebates-accruals": "/rebates/accruals/",
        "rebates-customer": f"/rebates/customers/{seeded.customer.pk}/",
    }
    from reporting.views import PANELS

    for key in PANELS:
        screens[f"workbench-{key}"] = f"/workbench/{key}/"
    po = PurchaseOrder.objects.order_by("pk").first()
    if po is not None:
        screens["purchase-order"] = f"/inventory/purchase-orders/{po.pk}/"
    return screens


def test_every_staff_screen_loads_under_the_policy_without_a_violation(seeded, browser):
    WarehouseFactory(code="wh-west")
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: console_errors.append(str(e)))
    reports: list[str] = []
    page.on("request", lambda r: reports.append(r.post_data or "") if r.url.endswith("/csp-report") else None)
    try:
        sign_in(page, seeded.base, "boss")
        violations = {}
        for name, path in _screens(seeded).items():
            response = page.goto(seeded.base + path)
            assert response.ok or name.endswith("-refused"), (name, response.status)
            csp = response.headers["content-security-policy"]
            assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, name
            page.wait_for_load_state("networkidle")
            found = page.evaluate("window.__violations")
            if found:
                violations[name] = found
        assert not violations, violations

        # htmx under the policy: live search swaps a fragment in, "+ Add line" sends its index.
        page.goto(seeded.base + "/orders/new/")
        page.get_by_label("Customer account or name").first.press_sequentially("Acm", delay=30)
        expect(page.get_by_role("button", name=re.compile("Acme Tools"))).to_be_visible()
        page.get_by_role("button", name="+ Add line").click()
        expect(page.locator("#lines-1-sku")).to_be_visible()
        assert page.evaluate("document.querySelectorAll('style').length") == 0  # htmx injected none

        # The vendored chart library draws its charts.
        page.goto(seeded.base + "/")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof window.Chart") == "function"
        charts = "Array.from(document.querySelectorAll('canvas[data-chart]'))"
        assert page.evaluate(f"{charts}.length") >= 1
        assert page.evaluate(f"{charts}.every(c => !!c._chart)")
        assert page.evaluate("window.__violations") == []
    finally:
        context.close()
    assert not [e for e in console_errors if "Content Security Policy" in e or "Refused" in e], console_errors
    assert reports == []
