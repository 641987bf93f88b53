"""Bank statements (CSV and CAMT.053) matched to invoices by reference: exact matches posted,
under-, over-payments, unmatched and duplicate lines flagged for a person; bad files refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.models import BankStatement, Invoice, Payment, StatementLine
from billing.services import BillLine, invoice_create
from billing.services.statements import statement_import, statement_line_dismiss, statement_line_post
from customers.models import CreditExposure
from customers.services import credit_exposure_adjust
from oms.kernel.exceptions import ValidationFailed
from tests.factories.billing import shipped_order

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _invoices(n: int, currency: str = "USD") -> tuple:
    lines = [{"quantity": "1", "net": f"{100 + i}.00", "shipping": "0", "tax": "0"} for i in range(n)]
    order = shipped_order(currency=currency, lines=lines)
    credit_exposure_adjust(customer_id=order.customer_id, open_orders_delta=order.credit_amount)
    return order, [
        invoice_create(order_id=order.pk, lines=[BillLine(line.pk, Decimal(1))], request_key=f"s{line.pk}")
        for line in order.lines.order_by("line_number")
    ]


def _csv(rows) -> bytes:
    return ("date,amount,currency,reference,counterparty\n" + "\n".join(",".join(r) for r in rows)).encode()


def _camt(rows) -> bytes:
    entries = "".join(
        f"""<Ntry><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>{d}</Dt></BookgDt>
        <NtryDtls><TxDtls><RltdPties><Dbtr><Nm>{who}</Nm></Dbtr></RltdPties>
        <RmtInf><Ustrd>{ref}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"""
        for d, amount, ccy, ref, who in rows
    )
    debit = (
        '<Ntry><Amt Ccy="USD">5.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
        "<BookgDt><Dt>2026-12-01</Dt></BookgDt></Ntry>"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt><Id>S1</Id>
<Acct><Ccy>USD</Acct>{entries}{debit}</Stmt></BkToCstmrStmt></Document>""".replace(
        "<Ccy>USD</Acct>", "<Ccy>USD</Ccy></Acct>"
    ).encode()


def _rows(inv, eur_invoice):
    a, b, c, d, e = inv
    return (
        [
            ("2026-12-01", str(a.total), "USD", f"Payment {a.number} thanks", "ACME"),  # exact
            (
                "2026-12-01",
                str(b.total - 1),
                "USD",
                f"inv{b.number[4:]}",
                "ACME",
            ),  # under (reference written loosely)
            ("2026-12-01", str(c.total + 5), "USD", c.number, "ACME"),  # over
            ("2026-12-02", "77.00", "USD", "no reference at all", "Somebody"),  # unmatched
            ("2026-12-02", str(d.total), "USD", d.number, "ACME"),  # duplicate reference ...
            ("2026-12-02", str(d.total), "USD", d.number, "ACME"),  # ... both wait for a person
            ("2026-12-03", "10.00", "USD", eur_invoice.number, "ACME"),  # the invoice is in EUR
        ],
        e,
    )


@pytest.mark.parametrize("fmt", ["csv", "camt053"])
def test_statement_matches_by_reference_and_flags_the_rest(fmt):
    order, inv = _invoices(5)
    _, (eur,) = _invoices(1, currency="EUR")
    rows, untouched = _rows(inv, eur)
    content = _csv(rows) if fmt == "csv" else _camt(rows)
    statement = statement_import(content=content, format=fmt, currency="USD", filename=f"s.{fmt}")
    status = dict(StatementLine.objects.filter(statement=statement).values_list("line_no", "match_status"))
    assert status == {
        1: "posted",
        2: "underpaid",
        3: "overpaid",
        4: "unmatched",
        5: "unmatched",
        6: "unmatched",
        7: "currency",
    }
    a, b, c = (Invoice.objects.get(pk=i.pk) for i in inv[:3])
    assert a.status == "paid" and a.amount_paid == a.total
    assert b.status == "issued" and c.status == "issued" and b.amount_paid == 0
    line1 = StatementLine.objects.get(statement=statement, line_no=1)
    assert line1.payment.method == "bank_transfer" and line1.payment.allocated_amount == a.total
    assert StatementLine.objects.get(statement=statement, line_no=3).difference == Decimal("5")
    open_now = sum(
        (i.open_amount for i in Invoice.objects.filter(customer_id=order.customer_id, status="issued")),
        Decimal(0),
    )
    assert CreditExposure.objects.get(customer_id=order.customer_id).open_receivables_amount == open_now

    # The person's review: accept the underpayment (partial) and the overpayment (rest on account),
    # assign the unmatched line, dismiss one duplicate.
    statement_line_post(line_id=StatementLine.objects.get(statement=statement, line_no=2).pk, actor="user:f")
    over = statement_line_post(
        line_id=StatementLine.objects.get(statement=statement, line_no=3).pk, actor="user:f"
    )
    b.refresh_from_db()
    c.refresh_from_db()
    assert b.open_amount == 1 and c.status == "paid" and over.payment.unallocated == 5
    statement_line_post(
        line_id=StatementLine.objects.get(statement=statement, line_no=4).pk,
        actor="user:f",
        invoice_number=untouched.number,
    )
    statement_line_dismiss(
        line_id=StatementLine.objects.get(statement=statement, line_no=6).pk, actor="user:f", reason="twice"
    )
    assert Payment.objects.filter(method="bank_transfer").count() == 4
    # Importing the same file again posts nothing twice: the paid invoice no longer matches.
    again = statement_import(content=content, format=fmt, currency="USD")
    assert not StatementLine.objects.filter(statement=again, match_status="posted").exists()


def test_the_generic_path_import_then_match_classifies_the_same_way():
    """The path SQLite takes (lines inserted, then statement_match), run here on PostgreSQL too."""
    from billing.services.statements import statement_match

    order, inv = _invoices(5)
    _, (eur,) = _invoices(1, currency="EUR")
    rows, _ = _rows(inv, eur)
    statement = statement_import(content=_csv(rows), format="csv", currency="USD", match=False)
    assert set(StatementLine.objects.filter(statement=statement).values_list("match_status", flat=True)) == {
        "unmatched"
    }
    statement_match(statement_id=statement.pk)
    status = dict(StatementLine.objects.filter(statement=statement).values_list("line_no", "match_status"))
    assert status == {
        1: "posted",
        2: "underpaid",
        3: "overpaid",
        4: "unmatched",
        5: "unmatched",
        6: "unmatched",
        7: "currency",
    }
    assert Invoice.objects.get(pk=inv[0].pk).status == "paid"
    open_now = sum(
        (i.open_amount for i in Invoice.objects.filter(customer_id=order.customer_id, status="issued")),
        Decimal(0),
    )
    assert CreditExposure.objects.get(customer_id=order.customer_id).open_receivables_amount == open_now


def test_a_line_in_another_currency_or_with_too_many_decimals_refuses_the_file():
    _, inv = _invoices(1)
    for rows, match in [
        ([("2026-12-01", "10.00", "EUR", inv[0].number, "X")], "another currency"),
        ([("2026-12-01", "10.001", "USD", inv[0].number, "X")], "decimals"),
    ]:
        with pytest.raises(ValidationFailed, match=match):
            statement_import(content=_csv(rows), format="csv", currency="USD")
    with pytest.raises(ValidationFailed):
        statement_import(content=b"<not-xml", format="camt053", currency="USD")
    assert not BankStatement.objects.exists() and not StatementLine.objects.exists()
