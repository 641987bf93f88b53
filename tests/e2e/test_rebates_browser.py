"""Channel revenue end to end in the browser (issue 18): finance creates a supplier rebate in the
console and approves it, a shipment of the supplier's product ships and accrues, finance generates
the claim from the staff UI, submits it, settles it, and the checkbook shows it settled; on a
desktop and on a phone."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from playwright.sync_api import expect

from catalog.models import Supplier
from fulfillment.models import Shipment
from fulfillment.services.shipments import AdviceLine, shipment_confirm
from oms.kernel import events
from oms.kernel.roles import Role, role_sync
from rebates.models import Accrual, Claim, RebateProgram
from rebates.states import ClaimStatus, ProgramStatus
from tests.fulfillment.conftest import build_fulfillment_world, order_body, settle, submit, wake_pauses
from tests.support.otp import totp_code, totp_device
from tests.ui.world import staff_user

from .conftest import DESKTOP, PHONE, _new_page, horizontal_overflow, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.xdist_group("browser")]


@pytest.fixture
def awaiting(transactional_db, live_server):
    """An order of 5 DRILL-1 (supplier "acme") captured and run up to "awaiting shipment"."""
    role_sync()
    world = build_fulfillment_world()
    Supplier.objects.filter(code="acme").update(name="Acme Tools")
    ship_date = (date.today() + timedelta(days=3)).isoformat()
    order = submit(
        Client(),
        world,
        order_body(
            source="REBATE-1",
            lines=[
                {"source_line_id": "1", "sku": "DRILL-1", "quantity": "5", "requested_ship_date": ship_date}
            ],
        ),
    )
    settle()
    wake_pauses()
    settle()
    world.number = order["number"]
    world.shipment = Shipment.objects.get(order_number=world.number)
    world.finance = staff_user("finance", Role.FINANCE)
    world.base = live_server.url
    return world


def _menu(page, name: str, phone: bool) -> None:
    if phone:
        page.get_by_role("button", name="Menu").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def _console_verify(page, user) -> None:
    """The console asks for the second factor again when the session has not shown it there."""
    if "/accounts/2fa/verify/" in page.url:
        page.get_by_label("Code").fill(totp_code(totp_device(user)))
        page.get_by_role("button", name="Verify").click()


def _console_action(page, base: str, program: RebateProgram, action: str) -> None:
    page.goto(f"{base}/admin/rebates/rebateprogram/")
    page.locator(f"input[name=_selected_action][value='{program.pk}']").check()
    page.locator("select[name=action]").select_option(action)
    page.get_by_role("button", name="Go").click()
    expect(page.locator("ul.messagelist")).to_be_visible()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_finance_creates_and_approves_a_program_a_shipment_accrues_and_the_claim_is_settled(
    awaiting, browser, viewport
):
    world, base = awaiting, awaiting.base
    phone = viewport is PHONE
    size = "phone" if phone else "desktop"
    context, page = _new_page(browser, viewport)
    try:
        sign_in(page, base, "finance")

        # 1. The console: a 5 % supplier rebate on acme's products, shipments basis, one tier.
        page.goto(f"{base}/admin/rebates/rebateprogram/add/")
        _console_verify(page, world.finance)
        page.locator("#id_code").fill("acme-5")
        page.locator("#id_name").fill("Acme 5 % rebate")
        page.locator("#id_program_type").select_option("supplier_rebate")
        page.locator("#id_currency").fill("USD")
        page.locator(".field-supplier .select2-selection").click()
        page.locator(".select2-search__field").fill("acme")
        page.locator(".select2-results__option", has_text="Acme Tools").first.click()
        page.locator("#id_basis").select_option("shipments")
        page.locator("#id_calc_method").select_option("percent")
        page.locator("#id_tier_mode").select_option("stepped")
        page.locator("#id_tier_measure").select_option("value")
        page.locator("#id_period").select_option("year")
        today = date.today()
        page.locator("#id_start_date").fill(today.replace(month=1, day=1).isoformat())
        page.locator("#id_end_date").fill(today.replace(month=12, day=31).isoformat())
        page.locator("#id_payout_method").select_option("check")
        page.locator("#id_tiers-0-lower").fill("0")
        page.locator("#id_tiers-0-rate").fill("5")
        page.locator("input[name=_save]").click()
        expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")
        program = RebateProgram.objects.get(code="acme-5")
        assert program.status == ProgramStatus.DRAFT
        _console_action(page, base, program, "submit")
        _console_action(page, base, program, "approve")
        program.refresh_from_db()
        assert program.status == ProgramStatus.ACTIVE
        shot(page, f"rebates-console-approved-{size}")

        # 2. The shipment leaves the warehouse; its event accrues the rebate.
        line = world.shipment.lines.get()
        shipment_confirm(
            shipment_number=world.shipment.number,
            actor="picker",
            lines=[AdviceLine(fulfillment_line_id=line.fulfillment_line_id, quantity=Decimal(5))],
            carrier="UPS",
            tracking_number="1ZREBATE",
        )
        events.relay_run()
        accrual = Accrual.objects.get(program=program)
        earned = accrual.amount
        assert earned > 0 and accrual.source_id == str(line.pk)

        # 3. The staff UI: generate the claim, submit it, settle it.
        page.goto(f"{base}/")
        _menu(page, "Rebates", phone)
        page.get_by_role("link", name=f"{program.code} v{program.version}").click()
        expect(page.locator('[data-figure="earned"]').first).to_contain_text(f"{earned:,.2f}")
        expect(page.locator('[data-figure="unclaimed"]').first).to_contain_text(f"{earned:,.2f}")
        assert horizontal_overflow(page) <= 0
        page.get_by_role("button", name="Generate claims").click()
        claim = Claim.objects.get(program=program)
        expect(page.get_by_text(f"Generated 1 claim(s): {claim.number}.")).to_be_visible()
        page.get_by_role("link", name=claim.number).first.click()
        page.get_by_role("button", name="Submit").click()
        expect(page.locator("[data-status]")).to_have_attribute("data-status", "submitted")
        page.locator("summary", has_text="Record settlement").click()
        page.get_by_label(re.compile(r"Amount received")).fill(f"{earned:.2f}")
        page.get_by_label("Method").select_option("check")
        page.get_by_label("Check or memo number").fill("CHK-77")
        page.get_by_role("button", name="Record settlement").click()
        expect(page.locator("[data-status]")).to_have_attribute("data-status", "settled")
        assert horizontal_overflow(page) <= 0
        shot(page, f"rebates-claim-settled-{size}")
        claim.refresh_from_db()
        assert claim.status == ClaimStatus.SETTLED and claim.settled_amount == earned

        # 4. The checkbook shows it: settled = earned, nothing outstanding; the chart is drawn.
        page.get_by_role("link", name=f"{program.code} v{program.version}").first.click()
        expect(page.locator('[data-figure="settled"]').first).to_contain_text(f"{earned:,.2f}")
        expect(page.locator('[data-figure="outstanding"]').first).to_contain_text("0.00")
        expect(page.locator("canvas[data-chart]")).to_be_visible()
        assert page.evaluate("() => !!document.querySelector('canvas[data-chart]')._chart")
        assert horizontal_overflow(page) <= 0
        shot(page, f"rebates-checkbook-{size}")

        # ...and from the accrual to the shipment that earned it.
        page.get_by_role("link", name=f"#{accrual.pk}").first.click()
        expect(page.locator('[data-figure="shipment"]')).to_contain_text(world.shipment.number)
        assert horizontal_overflow(page) <= 0
    finally:
        context.close()
