"""Order entry in a real browser at 1366x900 and 390x844 (issue 14 items 1-5, 18): the quote is
the order that will be saved, the card shows capture's defaults, units keep their precision,
fat fingers are asked about, messages sit on their fields, the keyboard does what people expect,
and a double click makes one order."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from customers.models import SitePurpose
from orders.models import SalesOrder
from orders.states import OrderStatus
from tests.factories.customers import CustomerFactory, CustomerSiteFactory

from .conftest import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.xdist_group("browser")]

VIEWPORTS = ["desktop", "phone"]


@pytest.fixture(params=VIEWPORTS)
def screen(request, seeded):
    """The page at one of the two viewports, signed in as the order desk on the entry form, with
    the console's errors collected."""
    page = request.getfixturevalue(request.param)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, seeded.base, "desk")
    page.goto(f"{seeded.base}/orders/new/")
    page.console_errors = errors
    page.viewport_name = request.param
    return page


def _pick_customer(page, typed: str, name: str) -> None:
    page.locator("#id_customer").press_sequentially(typed, delay=30)
    page.get_by_role("button", name=re.compile(name)).first.click()


def _pick_sku(page, row: int, typed: str, sku: str) -> None:
    page.locator(f"#lines-{row}-sku").press_sequentially(typed, delay=30)
    page.locator(f"#sku-results-{row}").get_by_role("button", name=re.compile(sku)).first.click()


def _quantity(page, row: int, value: str) -> None:
    field = page.locator(f"#lines-{row}-quantity")
    field.fill(value)
    field.dispatch_event("change")


def _open_adjustment(page, row: int) -> None:
    """Open the line's manual adjustment. A click that lands while the quote re-renders and the
    line moves can miss the summary, so the panel is asked to be open, not assumed."""
    details = page.locator(f"[data-line='{row}'] details")
    for _ in range(3):
        if details.evaluate("d => d.open"):
            break
        details.locator("summary").click()
        try:
            page.wait_for_function("d => d.open", arg=details.element_handle(), timeout=2000)
        except PlaywrightTimeout:
            continue
    expect(page.locator(f"#lines-{row}-adjustment_kind")).to_be_visible()


def test_quote_equals_the_saved_order_with_a_manual_adjustment_and_names_the_approval(screen, seeded):
    page = screen
    _pick_customer(page, "Acm", "Acme Tools")
    _pick_sku(page, 0, "dri", "DRILL-1")
    _quantity(page, 0, "3")
    # The quote of the unadjusted line settles first: its re-render moves the line on a phone.
    expect(page.locator("#quote-total")).to_have_text("300.00 USD")
    _open_adjustment(page, 0)
    page.locator("#lines-0-adjustment_kind").select_option("percent_off")
    page.locator("#lines-0-adjustment_value").fill("30")
    page.locator("#lines-0-adjustment_reason").select_option("price-match")
    quote = page.locator("#quote")
    expect(page.locator("#quote-total")).to_have_text("210.00 USD")
    expect(quote.locator("[data-outcome=approval]")).to_contain_text("Will wait for approval")
    shot(page, f"entry-manual-adjustment-{page.viewport_name}")
    page.get_by_role("button", name="Submit order").click()
    expect(
        page.get_by_text(re.compile(r"Order SO-\d+ was submitted\. It is waiting for approval\."))
    ).to_be_visible()
    order = SalesOrder.objects.get(source_order_id__startswith="UI-")
    assert (f"{order.total:,.2f} {order.currency}", order.status) == (
        "210.00 USD",
        OrderStatus.PENDING_APPROVAL,
    )
    assert not [e for e in page.console_errors if "htmx" in e]


def test_the_card_shows_the_ship_to_and_currency_capture_uses(screen, seeded):
    page = screen
    abroad = CustomerFactory(account_number="C-77", name="Northern Parts", credit_currency="CAD")
    CustomerSiteFactory(
        customer=abroad, purpose=SitePurpose.BILL_TO, line1="1 Head Office Rd", city="Toronto", country="CA"
    )
    CustomerSiteFactory(
        customer=abroad, purpose=SitePurpose.SHIP_TO, is_primary=False, line1="9 Dock Lane", city="Buffalo",
        region="NY", country="US",
    )  # fmt: skip
    _pick_customer(page, "Northern", "Northern Parts")
    card = page.locator("#customer-card")
    expect(card.locator("[data-card=ship-to]")).to_contain_text("9 Dock Lane, Buffalo")
    expect(card.locator("[data-card=currency]")).to_contain_text("USD")
    expect(card).not_to_contain_text("CAD")
    expect(card.locator("[data-card=bill-to]")).to_contain_text("1 Head Office Rd")
    _pick_sku(page, 0, "saw", "SAW-1")
    expect(page.locator("#quote-total")).to_have_text("50.00 USD")
    page.get_by_role("button", name="Submit order").click()
    expect(page.get_by_text(re.compile(r"Order SO-\d+ was submitted"))).to_be_visible()
    order = SalesOrder.objects.get(customer=abroad)
    assert (order.ship_to["line1"], order.currency) == ("9 Dock Lane", "USD")


def test_fractions_of_an_each_are_refused_on_the_field_and_the_input_is_kept(screen, seeded):
    page = screen
    _pick_customer(page, "Acm", "Acme Tools")
    _pick_sku(page, 0, "dri", "DRILL-1")
    _quantity(page, 0, "2.5")
    live = page.locator("#msgs-lines-0-quantity")
    expect(live).to_have_text("Line 1 quantity: EA is counted in whole units.")
    page.get_by_role("button", name="Submit order").click()
    expect(page.locator("#msgs-lines-0-quantity")).to_have_text(
        "Line 1 quantity: EA is counted in whole units."
    )
    expect(page.locator("#lines-0-quantity")).to_have_value("2.5")
    expect(page.locator("#lines-0-sku")).to_have_value("DRILL-1")
    expect(page.get_by_text("EA is counted in whole units.")).to_have_count(1)  # said once
    assert not SalesOrder.objects.filter(source_order_id__startswith="UI-").exists()
    # An unknown product on the second line is said on the second line, in words.
    _quantity(page, 0, "2")
    page.get_by_role("button", name="+ Add line").click()
    page.locator("#lines-1-sku").fill("NOPE-9")
    page.locator("#lines-1-sku").dispatch_event("change")
    expect(page.locator("#msgs-lines-1-sku")).to_have_text("Line 2 product: Unknown SKU 'NOPE-9'.")
    expect(page.locator("#msgs-lines-0-sku")).to_be_empty()
    shot(page, f"entry-messages-on-fields-{page.viewport_name}")


def test_a_quantity_100_times_the_usual_asks_for_confirmation(screen, seeded):
    page = screen
    _pick_customer(page, "Acm", "Acme Tools")
    _pick_sku(page, 0, "dri", "DRILL-1")
    _quantity(page, 0, "2100")  # Acme's lines so far: 2, 1 and 60
    expect(page.locator("#msgs-lines-0-quantity")).to_contain_text("100 times this customer's usual")
    asked: list[str] = []

    def refuse(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", refuse)
    page.get_by_role("button", name="Submit order").click()
    expect(page.locator("#msgs-lines-0-quantity")).to_contain_text("100 times")  # still on the form
    assert asked and "unusual" in asked[0]
    assert not SalesOrder.objects.filter(source_order_id__startswith="UI-").exists()
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Submit order").click()
    expect(page.get_by_text(re.compile(r"Order SO-\d+ was submitted"))).to_be_visible()
    assert SalesOrder.objects.get(source_order_id__startswith="UI-").lines.get().quantity == 2100


def test_keyboard_enter_arrows_and_leaving_with_unsaved_input(screen, seeded):
    page = screen
    _pick_customer(page, "Acm", "Acme Tools")
    sku = page.locator("#lines-0-sku")
    sku.press_sequentially("dri", delay=30)
    expect(page.locator("#sku-results-0 button").first).to_be_visible()
    sku.press("ArrowDown")
    expect(page.locator("#sku-results-0 button").first).to_be_focused()
    page.keyboard.press("Enter")  # picks the suggestion
    expect(sku).to_have_value("DRILL-1")
    sku.press("Enter")  # a half-filled form is not submitted: Enter moves on
    expect(page.locator("#lines-0-quantity")).to_be_focused()
    assert page.url.endswith("/orders/new/")
    assert not SalesOrder.objects.filter(source_order_id__startswith="UI-").exists()
    # Typing fast supersedes quote requests without console errors.
    quantity = page.locator("#lines-0-quantity")
    for value in ("1", "12", "123", "12", "1"):
        quantity.fill(value)
        quantity.dispatch_event("change")
    expect(page.locator("#quote .quote-line")).to_have_count(1)
    page.wait_for_timeout(500)
    assert not [e for e in page.console_errors if "sendAbort" in e or "htmx" in e], page.console_errors
    # Leaving with unsaved input asks first.
    asked: list[str] = []
    page.on("dialog", lambda d: (asked.append(d.type), d.dismiss()))
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"] and page.url.endswith("/orders/new/")


def test_a_double_click_on_submit_makes_one_order_and_no_server_error(screen, seeded):
    page = screen
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if "/orders/new/" in r.url else None)
    _pick_customer(page, "Acm", "Acme Tools")
    _pick_sku(page, 0, "saw", "SAW-1")
    expect(page.locator("#quote-total")).to_have_text("50.00 USD")
    page.get_by_role("button", name="Submit order").dblclick()
    expect(page.get_by_text(re.compile(r"Order SO-\d+ was"))).to_be_visible()
    assert SalesOrder.objects.filter(source_order_id__startswith="UI-").count() == 1
    assert all(s < 500 for s in statuses), statuses
