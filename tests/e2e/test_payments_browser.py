"""Bank statement import and match review in the browser: finance uploads a CSV statement, the
exact payment is posted at once, and on the review screen posts an underpayment to its invoice,
assigns an unmatched line to an invoice by number, and dismisses a line with a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing.models import Invoice, StatementLine
from billing.services import BillLine, invoice_create
from customers.services import credit_exposure_adjust
from oms.kernel.roles import Role, role_sync
from tests.factories.billing import shipped_order
from tests.ui.world import staff_user

from .conftest import shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.xdist_group("browser")]


@pytest.fixture
def receivables(transactional_db, live_server, tmp_path):
    role_sync()
    staff_user("fin", Role.FINANCE)
    lines = [{"quantity": "1", "net": f"{100 + i}.00", "shipping": "0", "tax": "0"} for i in range(3)]
    order = shipped_order(currency="USD", lines=lines)
    credit_exposure_adjust(customer_id=order.customer_id, open_orders_delta=order.credit_amount)
    invoices = [
        invoice_create(order_id=order.pk, lines=[BillLine(line.pk, Decimal(1))], request_key=f"b{line.pk}")
        for line in order.lines.order_by("line_number")
    ]
    a, b, _ = invoices
    csv = tmp_path / "statement.csv"
    csv.write_text(
        "date,amount,currency,reference,counterparty\n"
        f"2026-12-01,{a.total},USD,Payment {a.number},ACME\n"
        f"2026-12-01,{b.total - 1},USD,{b.number},ACME\n"
        "2026-12-02,102.00,USD,see remittance advice,ACME\n"
        "2026-12-02,9.99,USD,unknown,Someone\n"
    )
    return {"base": live_server.url, "invoices": invoices, "csv": csv}


def test_finance_imports_a_statement_and_reviews_its_matches(receivables, desktop):
    page = desktop
    base = receivables["base"]
    a, b, c = receivables["invoices"]
    sign_in(page, base, "fin")
    page.goto(f"{base}/billing/statements/")
    page.get_by_label("Statement file").set_input_files(str(receivables["csv"]))
    page.get_by_label("Format").select_option("csv")
    page.get_by_label("Account currency").fill("USD")
    page.get_by_role("button", name="Import and match").click()
    expect(page.get_by_role("heading", name="match review")).to_be_visible()
    expect(page.locator("#line-2")).to_contain_text("Underpaid")
    expect(page.locator("#line-3")).to_contain_text("Unmatched")
    expect(page.locator("#line-1")).to_have_count(0)  # the exact payment was posted at once
    shot(page, "statement-review")

    page.get_by_role("button", name="Post line 2").click()
    expect(page.get_by_text("Line 2 posted.")).to_be_visible()
    page.get_by_label("Invoice for line 3").fill(c.number)
    page.get_by_role("button", name="Post line 3").click()
    expect(page.get_by_text("Line 3 posted.")).to_be_visible()
    page.get_by_label("Reason for line 4").fill("not ours")
    page.get_by_role("button", name="Dismiss line 4").click()
    expect(page.get_by_text("Every line is posted or dismissed.")).to_be_visible()

    status = dict(StatementLine.objects.values_list("line_no", "match_status"))
    assert status == {1: "posted", 2: "posted", 3: "posted", 4: "dismissed"}
    a, b, c = (Invoice.objects.get(pk=i.pk) for i in (a, b, c))
    assert a.status == "paid" and b.open_amount == 1 and c.status == "paid"

    page.goto(f"{base}/billing/receivables/")
    expect(page.get_by_role("heading", name="Receivables aging")).to_be_visible()
    expect(page.locator("tbody")).to_contain_text("1.00")
