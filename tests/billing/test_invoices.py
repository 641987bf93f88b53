"""Invoices from shipped quantities: exact sums over partial invoices in 0-, 2- and 3-decimal
currencies, numbering, due dates, credit exposure, idempotent requests, transitions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Invoice
from billing.services import BillLine, invoice_create, invoice_mark_paid
from customers.models import CreditExposure
from customers.services import credit_exposure_adjust
from oms.kernel.exceptions import IllegalTransition, ValidationFailed
from tests.factories.billing import shipped_order

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CASES = {
    "USD": [
        {"quantity": "7", "net": "699.93", "shipping": "5.33", "tax": "58.19"},
        {"quantity": "3", "net": "99.99", "shipping": "2.66", "tax": "8.47"},
    ],
    "JPY": [
        {"quantity": "7", "net": "10001", "shipping": "333", "tax": "1000"},
        {"quantity": "3", "net": "2999", "shipping": "167", "tax": "301"},
    ],
    "KWD": [
        {"quantity": "7", "net": "70.001", "shipping": "1.333", "tax": "3.502"},
        {"quantity": "3", "net": "9.999", "shipping": "0.667", "tax": "0.499"},
    ],
}
SPLITS = [["3", "1"], ["2", "2"], ["2"]]  # three shipments: line 1 in 3+2+2, line 2 in 1+2


@pytest.mark.parametrize("currency", sorted(CASES))
def test_three_partial_invoices_add_up_exactly_to_the_order_total(currency):
    order = shipped_order(currency=currency, lines=CASES[currency])
    credit_exposure_adjust(customer_id=order.customer_id, open_orders_delta=order.credit_amount)
    lines = list(order.lines.order_by("line_number"))
    invoices = []
    for n, split in enumerate(SPLITS):
        bill = [BillLine(order_line_id=lines[i].pk, quantity=Decimal(q)) for i, q in enumerate(split)]
        invoices.append(invoice_create(order_id=order.pk, lines=bill, request_key=f"{currency}-{n}"))
    assert sum(i.total for i in invoices) == order.total
    for line in lines:
        line.refresh_from_db()
        assert line.billed_quantity == line.quantity
    quantum = Decimal(1).scaleb(-{"USD": 2, "JPY": 0, "KWD": 3}[currency])
    for invoice in invoices:
        for il in invoice.lines.all():
            assert il.net == il.net.quantize(quantum) and il.tax == il.tax.quantize(quantum)
            assert il.total == il.net + il.shipping + il.tax
    exposure = CreditExposure.objects.get(customer_id=order.customer_id)
    assert exposure.open_orders_amount == 0 and exposure.open_receivables_amount == order.total


def test_numbering_due_dates_payment_and_idempotent_requests():
    order = shipped_order(currency="USD", lines=CASES["USD"], payment_terms="NET45")
    credit_exposure_adjust(customer_id=order.customer_id, open_orders_delta=order.credit_amount)
    line = order.lines.first()
    first = invoice_create(order_id=order.pk, lines=[BillLine(line.pk, Decimal(1))], request_key="k1")
    again = invoice_create(order_id=order.pk, lines=[BillLine(line.pk, Decimal(1))], request_key="k1")
    assert first.pk == again.pk and Invoice.objects.count() == 1
    second = invoice_create(order_id=order.pk, lines=[BillLine(line.pk, Decimal(1))], request_key="k2")
    assert first.number != second.number and first.number.startswith("INV-")
    assert first.status == "issued" and first.due_date == timezone.localdate() + timedelta(days=45)
    paid = invoice_mark_paid(invoice_id=first.pk)
    assert paid.status == "paid"
    exposure = CreditExposure.objects.get(customer_id=order.customer_id)
    assert exposure.open_receivables_amount == second.credit_amount
    with pytest.raises(IllegalTransition):
        invoice_mark_paid(invoice_id=first.pk)


def test_only_shipped_unbilled_quantities_can_be_billed():
    order = shipped_order(currency="USD", lines=CASES["USD"])
    line = order.lines.first()
    with pytest.raises(ValidationFailed):
        invoice_create(order_id=order.pk, lines=[BillLine(line.pk, Decimal(8))], request_key="too-much")
    with pytest.raises(ValidationFailed):
        invoice_create(order_id=order.pk, lines=[], request_key="nothing")
    assert not Invoice.objects.exists()
