"""Cost of change in the staff UI: lowering a quantity after the shipment request went to the
warehouse shows its cost before the person confirms; above the policy's threshold the order
waits for approval with the cost shown, and the approver approves it. Then the what-if panel on
the order page lists an alternative and applies it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from fulfillment.models import ChangeCostPolicy, ChangeCostRule, FulfillmentLine, Shipment
from fulfillment.seeding import processes_seed
from fulfillment.states import ChangeCostKind
from orders.models import SalesOrder
from orders.states import OrderStatus
from tests.fulfillment.conftest import settle, wake_pauses
from tests.ui.world import submit

from .conftest import horizontal_overflow, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.xdist_group("browser")]


def _shipping_order(seeded) -> SalesOrder:
    processes_seed()
    order = submit(seeded, seeded.users.desk, "COST-1", [("DRILL-1", "5")])
    settle()
    wake_pauses()
    settle()
    assert Shipment.objects.get(order_number=order.number).status == "requested"
    ChangeCostRule.objects.create(
        name="Warehouse cancel fee", kind=ChangeCostKind.SHIPMENT_REQUEST_CANCEL, fixed_amount=Decimal("25")
    )
    ChangeCostPolicy.objects.create(approval_threshold=Decimal("10"), currency="USD")
    return order


def test_lowering_a_quantity_after_the_shipment_request_shows_its_cost_and_waits_for_approval(
    seeded, desktop, browser
):
    order = _shipping_order(seeded)
    page, base = desktop, seeded.base
    sign_in(page, base, "desk")
    page.goto(f"{base}/orders/{order.number}/")
    page.get_by_role("link", name="Change quantities").click()
    page.get_by_label("New quantity of line 1 (DRILL-1)").fill("3")
    page.get_by_role("button", name="Review the cost").click()
    expect(page.get_by_text("Cost of change: 25.00 USD")).to_be_visible()
    expect(page.get_by_text("The order will wait for approval")).to_be_visible()
    assert SalesOrder.objects.filter(number=order.number).count() == 1  # nothing written yet
    shot(page, "change-cost-review")
    page.get_by_role("button", name="Confirm the change").click()
    expect(page.get_by_text("It waits for approval.")).to_be_visible()
    expect(page.get_by_role("heading", name="Cost of change (revision 2)")).to_be_visible()
    current = SalesOrder.objects.get(number=order.number, is_current=True)
    assert (current.revision, current.status) == (2, OrderStatus.PENDING_APPROVAL)

    # The approver sees the cost beside the decision, and approves; fulfillment follows.
    context = browser.new_context(viewport={"width": 390, "height": 844})
    approver = context.new_page()
    try:
        sign_in(approver, base, "approver")
        approver.goto(f"{base}/orders/{order.number}/")
        expect(approver.get_by_text("Cost of change 25.00 USD over the threshold").first).to_be_visible()
        expect(approver.get_by_text("Cost of change: 25.00 USD")).to_be_visible()
        assert horizontal_overflow(approver) == 0
        approver.get_by_role("button", name="Approve order").click()
        expect(approver.get_by_text("The order was approved.")).to_be_visible()
    finally:
        context.close()
    settle()
    assert FulfillmentLine.objects.get(order_number=order.number).quantity == 3


def test_the_whatif_panel_on_the_order_page_says_when_there_is_no_alternative(seeded, desktop):
    order = _shipping_order(seeded)
    page, base = desktop, seeded.base
    sign_in(page, base, "desk")
    page.goto(f"{base}/orders/{order.number}/")
    page.get_by_role("button", name="Show alternatives").click()
    expect(page.get_by_text("No alternative: the current sourcing is the only one")).to_be_visible()
    assert horizontal_overflow(page) == 0
