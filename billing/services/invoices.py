"""Invoices: created from shipped quantities and each line's stored price breakdown, numbered
from a sequence, issued (credit exposure moves from open orders to open receivables), paid.

Partial shipments: each invoice bills the difference between the rounded amount of everything
billed so far on the line and the rounded amount of what was billed before. The differences
telescope, so the invoices of a fully shipped line add up exactly to its stored total (and an
order's invoices to the order total, which is the sum of its lines), however it was split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from customers.services import credit_exposure_adjust
from oms.kernel import events
from oms.kernel.exceptions import Conflict, NotFound, ValidationFailed
from oms.kernel.money import round_money
from orders.models import OrderLine, SalesOrder
from orders.services.fulfillment_updates import line_fulfillment_progress

from ..models import INVOICE_NUMBER_PREFIX, Invoice, InvoiceLine, InvoiceNumber
from ..states import InvoiceStatus, ensure_invoice_transition
from .common import audit, receivable_settle

SEQUENCE = "billing_invoice_number_seq"
TERM_DAYS = {"PREPAID": 0, "DUE_ON_RECEIPT": 0, "NET15": 15, "NET30": 30, "NET45": 45, "NET60": 60}


def invoice_number_next() -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT nextval('{SEQUENCE}')")
            value = cursor.fetchone()[0]
    else:
        value = InvoiceNumber.objects.create().pk + 100000
    return f"{INVOICE_NUMBER_PREFIX}{value:06d}"


def due_date_for(payment_terms: str, issued: date) -> date:
    return issued + timedelta(days=TERM_DAYS.get(payment_terms, 30))


@dataclass(frozen=True)
class BillLine:
    order_line_id: int
    quantity: Decimal
    fulfillment_ref: str = ""


def _portion(amount: Decimal, done: Decimal, of: Decimal, currency: str) -> Decimal:
    if done >= of:
        return amount
    return round_money(amount * done / of, currency)


def _slice(line: OrderLine, quantity: Decimal, currency: str) -> dict[str, Decimal]:
    """This invoice's share of the line's stored breakdown for `quantity` more units."""
    b = line.price_breakdown or {}
    parts = {
        "net": Decimal(b.get("net", line.line_total)),
        "shipping": Decimal(b.get("shipping", "0")),
        "tax": Decimal(b.get("tax", "0")),
    }
    before, after = line.billed_quantity, line.billed_quantity + quantity
    out = {
        k: _portion(v, after, line.quantity, currency) - _portion(v, before, line.quantity, currency)
        for k, v in parts.items()
    }
    # The stored total is net + shipping + tax, so the parts' sum telescopes to it as well.
    out["total"] = out["net"] + out["shipping"] + out["tax"]
    return out


@transaction.atomic
def invoice_create(
    *, order_id: int, lines: Sequence[BillLine], request_key: str, issue: bool = True
) -> Invoice:
    """Bill shipped quantities of an order's lines. Idempotent on `request_key`: a repeated
    request returns the invoice the first one made."""
    existing = Invoice.objects.filter(request_key=request_key).first()
    if existing is not None:
        return existing
    # The global lock order (docs/development.md): the order header before its lines, as
    # line_fulfillment_progress below takes them; the customer is read, never locked.
    order = (
        SalesOrder.objects.select_for_update(of=("self",))
        .select_related("customer")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise NotFound("No such order.")
    if not lines:
        raise ValidationFailed("Nothing to bill.", fields={"lines": ["Required."]})
    currency = order.currency
    locked = {
        line.pk: line
        for line in OrderLine.objects.select_for_update(of=("self",))
        .filter(pk__in=[bl.order_line_id for bl in lines])
        .order_by("pk")
    }
    rows: list[InvoiceLine] = []
    for bl in lines:
        line = locked.get(bl.order_line_id)
        if line is None or line.order_id != order.pk:
            raise ValidationFailed("Not a line of this order.", fields={"lines": [str(bl.order_line_id)]})
        if bl.quantity <= 0 or line.billed_quantity + bl.quantity > line.shipped_quantity:
            raise ValidationFailed(
                "Only shipped, unbilled quantities can be billed.",
                fields={
                    "quantity": [
                        f"line {line.line_number}: at most {line.shipped_quantity - line.billed_quantity}"
                    ]
                },
            )
        part = _slice(line, bl.quantity, currency)
        rows.append(
            InvoiceLine(
                order_line=line,
                fulfillment_ref=bl.fulfillment_ref,
                quantity=bl.quantity,
                unit_net_price=line.unit_net_price,
                net=part["net"],
                shipping=part["shipping"],
                tax=part["tax"],
                total=part["total"],
            )
        )
        line.billed_quantity += bl.quantity  # a second slice of the same line starts from here
    try:
        with transaction.atomic():
            invoice = Invoice.objects.create(
                number=invoice_number_next(),
                order=order,
                order_number=order.number,
                customer_id=order.customer_id,
                currency=currency,
                net_total=sum((r.net for r in rows), Decimal(0)),
                shipping_total=sum((r.shipping for r in rows), Decimal(0)),
                tax_total=sum((r.tax for r in rows), Decimal(0)),
                total=sum((r.total for r in rows), Decimal(0)),
                payment_terms=order.payment_terms,
                request_key=request_key,
            )
    except IntegrityError:
        return Invoice.objects.get(request_key=request_key)
    for r in rows:
        r.invoice = invoice
    InvoiceLine.objects.bulk_create(rows)
    for bl in lines:
        line_fulfillment_progress(
            line_id=bl.order_line_id, billed_delta=bl.quantity, reference=f"invoice {invoice.number}"
        )
    if issue:
        invoice = invoice_issue(invoice_id=invoice.pk)
    return invoice


def _credit_share(invoice: Invoice, order: SalesOrder) -> Decimal:
    """The invoice's share of the order's credit amount; the invoice that completes the order's
    billing takes what is left, so the shares add up to the credit amount exactly."""
    if not order.credit_amount or not order.total:
        return Decimal(0)
    fully_billed = (
        not OrderLine.objects.filter(order=order)
        .exclude(status="canceled")
        .exclude(billed_quantity__gte=F("quantity"))
        .exists()
    )
    earlier = Invoice.objects.filter(
        order_number=order.number, status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID]
    ).exclude(pk=invoice.pk).aggregate(s=Sum("credit_amount"))["s"] or Decimal(0)
    if fully_billed:
        return order.credit_amount - earlier
    share = (order.credit_amount * invoice.total / order.total).quantize(Decimal("0.0001"))
    return min(share, order.credit_amount - earlier)


@transaction.atomic
def invoice_issue(*, invoice_id: int) -> Invoice:
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice_id)
    ensure_invoice_transition(invoice.status, InvoiceStatus.ISSUED)
    order = SalesOrder.objects.select_related("channel").get(pk=invoice.order_id)
    now = timezone.now()
    invoice.status = InvoiceStatus.ISSUED
    invoice.issued_at = now
    invoice.due_date = due_date_for(invoice.payment_terms, timezone.localdate())
    invoice.credit_amount = _credit_share(invoice, order)
    invoice.save(update_fields=["status", "issued_at", "due_date", "credit_amount"])
    audit(
        "invoice",
        invoice.pk,
        "issued",
        before={"status": "draft"},
        after={"status": "issued", "number": invoice.number, "total": str(invoice.total)},
    )
    if invoice.credit_amount:
        credit_exposure_adjust(
            customer_id=invoice.customer_id,
            open_orders_delta=-invoice.credit_amount,
            open_receivables_delta=invoice.credit_amount,
        )
    events.publish(
        "invoice.issued",
        {
            "invoice": invoice.number,
            "number": order.number,
            "order_id": order.pk,
            "channel": order.channel.code,
            "currency": invoice.currency,
            "total": str(invoice.total),
            "due_date": invoice.due_date.isoformat(),
        },
        aggregate=("order", order.number),
    )
    return invoice


def _publish_paid(invoice: Invoice) -> None:
    order = SalesOrder.objects.select_related("channel").get(pk=invoice.order_id)
    events.publish(
        "invoice.paid",
        {
            "invoice": invoice.number,
            "number": order.number,
            "order_id": order.pk,
            "channel": order.channel.code,
        },
        aggregate=("order", order.number),
    )


@transaction.atomic
def invoice_mark_paid(*, invoice_id: int, actor: str = "system", reason: str = "") -> Invoice:
    """Paid outside the payment records (or settled in full by them): what is still open in the
    credit exposure is released."""
    invoice = Invoice.objects.select_for_update(of=("self",)).get(pk=invoice_id)
    ensure_invoice_transition(invoice.status, InvoiceStatus.PAID)
    settled = invoice.amount_paid + invoice.amount_credited
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = timezone.now()
    invoice.save(update_fields=["status", "paid_at"])
    receivable_settle(invoice, settled_before=settled, settled_after=invoice.total)
    audit(
        "invoice",
        invoice.pk,
        "paid",
        actor=actor,
        before={"status": "issued"},
        after={"status": "paid"},
        reason=reason,
    )
    _publish_paid(invoice)
    return invoice


def invoice_settle(
    invoice: Invoice,
    *,
    paid_delta: Decimal = Decimal(0),
    credited_delta: Decimal = Decimal(0),
    actor: str = "system",
) -> Invoice:
    """Add collected / credited amounts to a locked invoice; a fully settled issued invoice
    becomes paid. The caller holds the invoice's row lock and owns the transaction."""
    before_settled = invoice.amount_paid + invoice.amount_credited
    invoice.amount_paid += paid_delta
    invoice.amount_credited += credited_delta
    if invoice.amount_paid < 0 or invoice.open_amount < 0:
        raise ValidationFailed(
            "More than the invoice's open amount.",
            fields={"amount": [f"{invoice.number} has {invoice.total - before_settled} open."]},
        )
    fields = ["amount_paid", "amount_credited"]
    became_paid = invoice.status == InvoiceStatus.ISSUED and invoice.open_amount == 0
    if became_paid:
        ensure_invoice_transition(invoice.status, InvoiceStatus.PAID)
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = timezone.now()
        fields += ["status", "paid_at"]
    invoice.save(update_fields=fields)
    receivable_settle(
        invoice, settled_before=before_settled, settled_after=invoice.amount_paid + invoice.amount_credited
    )
    if became_paid:
        audit(
            "invoice", invoice.pk, "paid", actor=actor, before={"status": "issued"}, after={"status": "paid"}
        )
        _publish_paid(invoice)
    return invoice


@transaction.atomic
def invoice_void(*, invoice_id: int, actor: str, reason: str) -> Invoice:
    """Void an unpaid invoice: its number stays used (the sequence never goes back), its billed
    quantities are left to the credit memo flow of a return, and its open share of the credit
    exposure is released."""
    if not reason.strip():
        raise ValidationFailed("A void needs a reason.", fields={"reason": ["Required."]})
    invoice = Invoice.objects.select_for_update(of=("self",)).filter(pk=invoice_id).first()
    if invoice is None:
        raise NotFound("No such invoice.")
    if invoice.amount_paid or invoice.amount_credited:
        raise Conflict("Only an invoice with nothing paid or credited can be voided; issue a credit memo.")
    before = invoice.status
    ensure_invoice_transition(invoice.status, InvoiceStatus.VOID)
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.void_reason = reason.strip()
    invoice.save(update_fields=["status", "voided_at", "void_reason"])
    if before == InvoiceStatus.ISSUED:
        receivable_settle(invoice, settled_before=Decimal(0), settled_after=invoice.total)
    audit(
        "invoice",
        invoice.pk,
        "voided",
        actor=actor,
        before={"status": before},
        after={"status": "void"},
        reason=reason,
    )
    order = SalesOrder.objects.select_related("channel").get(pk=invoice.order_id)
    events.publish(
        "invoice.voided",
        {
            "invoice": invoice.number,
            "number": order.number,
            "order_id": order.pk,
            "channel": order.channel.code,
        },
        aggregate=("order", order.number),
    )
    return invoice
