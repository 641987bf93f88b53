"""The staff order search in a browser, at desktop and phone width: an invalid search is an error
on its field with what was typed kept; a name or part of a SKU finds orders; ticked rows go to
the bulk action form."""

from __future__ import annotations

import pytest

from orders.models import OrderHold

from .conftest import DESKTOP, PHONE, _new_page, horizontal_overflow, shot, sign_in


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_search_errors_on_the_field_and_a_bulk_hold(seeded, browser, viewport):
    context, page = _new_page(browser, viewport)
    try:
        base = seeded.base
        sign_in(page, base, "desk")
        page.goto(f"{base}/orders/")
        page.get_by_label("From", exact=True).fill("2026-03-01")
        page.get_by_label("To", exact=True).fill("2026-02-01")
        page.get_by_label("Channel", exact=True).fill("nowhere")
        page.get_by_role("button", name="Search", exact=True).click()
        page.wait_for_load_state()
        assert "Must be on or after the From date." in page.content()
        assert "Select a valid choice" in page.content()
        assert page.get_by_label("Channel", exact=True).input_value() == "nowhere"  # the input is kept
        assert page.get_by_label("To", exact=True).input_value() == "2026-02-01"
        assert page.get_by_text("No orders match these filters.").is_visible()
        assert horizontal_overflow(page) <= 0
        shot(page, f"order-search-errors-{viewport['width']}")

        page.goto(f"{base}/orders/?customer=globex")
        assert page.get_by_role("link", name=seeded.held_order.number).is_visible()
        page.goto(f"{base}/orders/?sku=dril")
        page.get_by_label(f"Select order {seeded.open_order.number}").check()
        page.get_by_label("With the ticked orders").select_option("hold")
        page.get_by_label("Hold to place", exact=True).select_option("manual")
        page.get_by_label("Reason", exact=True).fill("Check the ship-to")
        page.get_by_role("button", name="Apply to ticked orders").click()
        page.wait_for_load_state()
        assert "placed on 1 order" in page.content()
        assert OrderHold.objects.filter(order=seeded.open_order, released_at__isnull=True).exists()
        assert horizontal_overflow(page) <= 0
    finally:
        context.close()
