"""Credit memos: against an invoice, for the whole of it or some of its lines, with a reason.
What the memo credits first closes what is still open on the invoice; the part already paid goes
back to the original payment(s) (a gateway or booked refund) or becomes store credit. Memos are
numbered from their own sequence; the invoice keeps its number and its audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum

from oms.kernel.exceptions import Conflict, NotFound, ValidationFailed
from oms.kernel.money import round_money

from ..models import (
    CreditMemo,
    CreditMemoLine,
    CreditMemoNumber,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    StoreCreditEntry,
)
from ..states import InvoiceStatus, OperationStatus, RefundTarget
from .common import audit
from .invoices import invoice_settle
from .payments import _allocate, payment_refund

CM_SEQUENCE = "billing_credit_memo_number_seq"


def credit_memo_number_next() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT nextval('{CM_SEQUENCE}')")
            value = cursor.fetchone()[0]
    else:
        value = CreditMemoNumber.objects.create().pk + 100000
    return f"CM-{value:06d}"


@dataclass(frozen=True)
class CreditLine:
    invoice_line_id: int
    quantity: Decimal


def _line_amounts(
    invoice: Invoice, lines: Sequence[CreditLine] | None
) -> list[tuple[InvoiceLine, Decimal, Decimal]]:
    credited = dict(
        CreditMemoLine.objects.filter(invoice_line__invoice=invoice)
        .values("invoice_line_id")
        .annotate(q=Sum("quantity"))
        .values_list("invoice_line_id", "q")
    )
    inv_lines = {il.pk: il for il in invoice.lines.all()}
    wanted = lines or [
        CreditLine(pk, il.quantity - credited.get(pk, Decimal(0))) for pk, il in inv_lines.items()
    ]
    out = []
    for cl in wanted:
        il = inv_lines.get(cl.invoice_line_id)
        if il is None:
            raise ValidationFailed("Not a line of this invoice.", fields={"lines": [str(cl.invoice_line_id)]})
        done = credited.get(il.pk, Decimal(0))
        if cl.quantity <= 0 and lines:
            raise ValidationFailed("Quantities must be positive.", fields={"quantity": [str(cl.quantity)]})
        if done + cl.quantity > il.quantity:
            raise ValidationFailed(
                "More than was invoiced on the line.", fields={"quantity": [f"At most {il.quantity - done}."]}
            )
        if cl.quantity <= 0:
            continue
        # Telescoping like the invoices: the rounded share after minus the rounded share before.
        after = (
            il.total
            if done + cl.quantity == il.quantity
            else round_money(il.total * (done + cl.quantity) / il.quantity, invoice.currency)
        )
        before = round_money(il.total * done / il.quantity, invoice.currency) if done else Decimal(0)
        out.append((il, cl.quantity, after - before))
    return out


@transaction.atomic
def credit_memo_create(
    *,
    invoice_id: int,
    reason: str,
    refund_to: str,
    request_key: str,
    lines: Sequence[CreditLine] | None = None,
    actor: str = "system",
) -> CreditMemo:
    existing = CreditMemo.objects.filter(request_key=request_key).first()
    if existing is not None:
        return existing
    if not reason.strip():
        raise ValidationFailed("A credit memo needs a reason.", fields={"reason": ["Required."]})
    if refund_to not in RefundTarget.values:
        raise ValidationFailed("Unknown refund target.", fields={"refund_to": [refund_to]})
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound("No such invoice.")
    # Lock order everywhere in billing: payments (by pk), then the invoice.
    payment_ids = sorted(
        set(PaymentAllocation.objects.filter(invoice_id=invoice.pk).values_list("payment_id", flat=True))
    )
    list(Payment.objects.select_for_update(of=("self",)).filter(pk__in=payment_ids).order_by("pk"))
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice_id)
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.PAID):
        raise Conflict(f"A {invoice.status} invoice cannot be credited.")
    parts = _line_amounts(invoice, lines)
    total = sum((amount for _, _, amount in parts), Decimal(0))
    if total <= 0:
        raise ValidationFailed(
            "Nothing left to credit.", fields={"lines": ["Everything is credited already."]}
        )
    from_open = min(total, invoice.open_amount)
    from_paid = total - from_open
    memo = CreditMemo.objects.create(
        number=credit_memo_number_next(),
        invoice=invoice,
        customer_id=invoice.customer_id,
        currency=invoice.currency,
        total=total,
        reason=reason.strip(),
        refund_to=refund_to,
        request_key=request_key,
        created_by=actor,
    )
    CreditMemoLine.objects.bulk_create(
        [CreditMemoLine(credit_memo=memo, invoice_line=il, quantity=q, total=a) for il, q, a in parts]
    )
    invoice_settle(invoice, credited_delta=total, paid_delta=-from_paid, actor=actor)
    audit(
        "invoice",
        invoice.pk,
        "credited",
        actor=actor,
        after={
            "credit_memo": memo.number,
            "total": str(total),
            "from_open": str(from_open),
            "from_paid": str(from_paid),
        },
        reason=memo.reason,
    )
    audit(
        "credit_memo", memo.pk, "created", actor=actor, after={"invoice": invoice.number, "total": str(total)}
    )
    left = from_paid
    allocations = (
        PaymentAllocation.objects.filter(invoice_id=invoice.pk)
        .values("payment_id")
        .annotate(s=Sum("amount"))
        .order_by("-payment_id")
    )
    for row in allocations:
        if left <= 0:
            break
        part = min(left, row["s"])
        if part <= 0:
            continue
        left -= part
        if refund_to == RefundTarget.ORIGINAL_PAYMENT:
            op = payment_refund(
                payment_id=row["payment_id"],
                amount=part,
                key=f"{memo.number}:{row['payment_id']}",
                reason=f"credit memo {memo.number}: {memo.reason}",
                actor=actor,
                invoice_id=invoice.pk,
            )
            if op.status == OperationStatus.FAILED:
                raise Conflict(f"The provider refused the refund: {op.error}")
            memo.refunded_amount += part
        else:
            payment = Payment.objects.get(pk=row["payment_id"])
            _allocate(payment, invoice.pk, -part, actor=actor, credited=True)
            memo.store_credit_amount += part
    if memo.store_credit_amount:
        StoreCreditEntry.objects.create(
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            amount=memo.store_credit_amount,
            reference=f"credit_memo:{memo.number}",
        )
    memo.save(update_fields=["refunded_amount", "store_credit_amount"])
    return memo
