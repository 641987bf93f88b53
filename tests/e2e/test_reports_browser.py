"""Reports in a real browser: open a ranking, change the range, drill down to the orders behind
a row and export the ranking as CSV; on a phone the table becomes cards."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from oms.kernel.roles import Role, role_sync
from tests.reporting.conftest import build_sales
from tests.ui.world import staff_user

from .conftest import horizontal_overflow, shot, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.xdist_group("browser"),
]


@pytest.fixture
def reports(transactional_db, live_server):
    role_sync()
    sales = build_sales()
    staff_user("manager", Role.ORDER_DESK)
    sales.base = live_server.url
    return sales


def test_opens_a_ranking_changes_the_range_drills_down_to_the_orders_and_exports_csv(reports, desktop):
    page, base = desktop, reports.base
    sign_in(page, base, "manager")
    page.get_by_role("link", name="Reports").first.click()
    expect(page.get_by_role("heading", name="Reports")).to_be_visible()
    page.get_by_role("link", name="By product").click()
    expect(page.locator("#ranking-table")).to_be_visible()

    # The week of 8 November: the drill leads with 884.00 against 110.00 the week before.
    page.get_by_label("From", exact=True).fill("2026-11-08")
    page.get_by_label("To", exact=True).fill("2026-11-14")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#report-period")).to_contain_text("2026-11-08 to 2026-11-14")
    assert "date_from=2026-11-08" in page.url and "date_to=2026-11-14" in page.url  # bookmarkable
    first = page.locator("#ranking-table tbody tr").first
    expect(first).to_contain_text("DRILL-1")
    expect(first).to_contain_text("884.00")
    expect(first).to_contain_text("703.6%")
    expect(page.locator("#report-excluded")).to_contain_text("2 canceled lines")
    assert page.locator("canvas[data-chart]").count() == 1
    shot(page, "reports-ranking-desktop")

    # Drill down from the drill's row to its five orders (the canceled one is not among them).
    first.locator("a.drill").click()
    expect(page.locator("#drill-orders")).to_be_visible()
    numbers = page.locator("#drill-orders tbody tr td:first-child").all_inner_texts()
    assert sorted(numbers) == sorted(reports.orders[i].number for i in (1, 2, 3, 4, 5))
    page.get_by_role("link", name="Back to the ranking").click()
    expect(page.locator("#ranking-table")).to_be_visible()

    # Export the same ranking as CSV.
    with page.expect_download() as info:
        page.locator("#export-csv").click()
    download = info.value
    assert download.suggested_filename == "revenue-by-product-2026-11-08-2026-11-14.csv"
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8").read())))  # noqa: SIM115
    assert rows[0][:4] == ["rank", "key", "label", "value"]
    assert [(r[0], r[3]) for r in rows[1:3]] == [("1", "884.00"), ("2", "294.00")]


def test_on_a_phone_the_ranking_table_becomes_cards(reports, phone):
    sign_in(phone, reports.base, "manager")
    phone.goto(f"{reports.base}/reports/rankings/?dimension=customer&date_from=2026-11-08&date_to=2026-11-14")
    cell = phone.locator("#ranking-table tbody tr").first.locator("td").first
    expect(cell).to_be_visible()
    assert cell.evaluate("td => getComputedStyle(td).display") == "flex"
    assert horizontal_overflow(phone) == 0
    shot(phone, "reports-ranking-phone")
