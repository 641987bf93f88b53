"""The customer's documents for an order -- order acknowledgement, shipment notice, invoice --
issued through the documents app and mailed to the customer with the PDF attached, from the
order's events (fulfillment.subscribers.customer_emails).

This app knows the order, its shipments and invoices; documents knows none of them. Here each
document's context is built (JSON facts: amounts as strings) and handed over. Every document is
filed under "order:<number>", so the order page lists them. A redelivered event finds the
document its first delivery issued and the mail it queued (dedupe key per document), so nothing
is issued or mailed twice. The texts come from documents/email/<channel>/<type>.<lang>.txt when
the channel has its own, else documents/email/<type>.<lang>.txt."""

from __future__ import annotations

from billing.models import Invoice
from documents.mail import mail_queue
from documents.models import Document
from documents.services import document_ensure
from documents.states import DocumentType
from orders.models import SalesOrder

from .models import Shipment

# The language a customer is written to, from the bill-to (else ship-to) country.
COUNTRY_LOCALES = {
    "DE": "de_DE", "AT": "de_AT", "CH": "de_CH", "FR": "fr_FR", "BE": "fr_BE", "NL": "nl_NL",
    "ES": "es_ES", "IT": "it_IT", "PT": "pt_PT", "BR": "pt_BR", "GB": "en_GB", "US": "en_US",
    "JP": "ja_JP", "CN": "zh_CN", "TW": "zh_TW", "SA": "ar_SA", "AE": "ar_AE", "EG": "ar_EG",
}  # fmt: skip


def locale_for(order: SalesOrder) -> str:
    country = ((order.bill_to or {}).get("country") or (order.ship_to or {}).get("country") or "").upper()
    return COUNTRY_LOCALES.get(country, "en")


def _address(address: dict | None, fallback_name: str = "") -> dict:
    a = address or {}
    lines = [
        a.get("line1", ""),
        a.get("line2", ""),
        " ".join(filter(None, [a.get("postcode"), a.get("city")])),
    ]
    lines += [a.get("region", ""), a.get("country", "")]
    return {"name": a.get("name") or fallback_name, "address": [line for line in lines if line]}


def _order(number: str) -> SalesOrder | None:
    return (
        SalesOrder.objects.select_related("customer", "channel")
        .filter(number=number, is_current=True)
        .first()
    )


def _common(order: SalesOrder) -> dict:
    return {
        "reference": order.number,
        "currency": order.currency,
        "party": _address(order.bill_to or order.ship_to, order.customer.name),
        "ship_to": _address(order.ship_to, order.customer.name),
    }


def _issue_and_mail(
    *, order: SalesOrder, doc_type: str, number: str, owner_type: str, context: dict
) -> Document:
    document = document_ensure(
        doc_type=doc_type,
        number=number,
        owner_type=owner_type,
        owner_id=number,
        related_ref=f"order:{order.number}",
        context=context,
        party_name=order.customer.name,
        party_email=order.customer.email,
        locale=locale_for(order),
        actor="system",
        render=False,  # rendered by the documents sweep, not inside the outbox batch
    )
    if order.customer.email:
        mail_queue(
            document=document,
            recipients=[order.customer.email],
            dedupe_key=f"{doc_type}:{number}",
            variant=order.channel.code,
            kick=False,  # the documents sweep renders and sends (every 30 s)
        )
    return document


def order_acknowledgement_send(*, order_number: str) -> Document | None:
    order = _order(order_number)
    if order is None:
        return None
    lines = [
        {
            "sku": line.product.sku,
            "description": line.product.name,
            "quantity": str(line.quantity),
            "unit_price": str(line.unit_net_price),
            "total": str(line.line_total),
        }
        for line in order.lines.select_related("product").order_by("line_number")
    ]
    context = {
        **_common(order),
        "title": "Order acknowledgement",
        "date": order.created_at.date().isoformat(),
        "facts": [
            f for f in [_fact("Your PO", order.customer_po), _fact("Ship method", order.ship_method)] if f
        ],
        "lines": lines,
        "totals": [{"label": "Total", "amount": str(order.total)}],
    }
    return _issue_and_mail(
        order=order, doc_type=DocumentType.ORDER_ACKNOWLEDGEMENT, number=order.number, owner_type="order",
        context=context,
    )  # fmt: skip


def shipment_notice_send(
    *, shipment_number: str, carrier: str = "", tracking_number: str = ""
) -> Document | None:
    shipment = Shipment.objects.filter(number=shipment_number).first()
    order = _order(shipment.order_number) if shipment else None
    if order is None:
        return None
    lines = [
        {
            "sku": sl.fulfillment_line.product.sku,
            "description": sl.fulfillment_line.product.name,
            "quantity": str(sl.quantity_shipped or sl.quantity_requested),
        }
        for sl in shipment.lines.select_related("fulfillment_line__product").order_by("pk")
    ]
    carrier = carrier or shipment.carrier
    tracking_number = tracking_number or shipment.tracking_number
    context = {
        **_common(order),
        "title": "Shipment notice",
        "date": (shipment.shipped_at or shipment.requested_at).date().isoformat(),
        "carrier": carrier,
        "tracking_number": tracking_number,
        "facts": [
            f
            for f in [
                _fact("Shipment", shipment.number),
                _fact("Carrier", carrier),
                _fact("Tracking", tracking_number),
            ]
            if f
        ],
        "lines": lines,
    }
    return _issue_and_mail(
        order=order, doc_type=DocumentType.SHIPMENT_NOTICE, number=shipment.number, owner_type="shipment",
        context=context,
    )  # fmt: skip


def invoice_send(*, invoice_number: str) -> Document | None:
    invoice = Invoice.objects.filter(number=invoice_number).first()
    order = _order(invoice.order_number) if invoice else None
    if order is None:
        return None
    lines = [
        {
            "sku": il.order_line.product.sku,
            "description": il.order_line.product.name,
            "quantity": str(il.quantity),
            "unit_price": str(il.unit_net_price),
            "total": str(il.net),
        }
        for il in invoice.lines.select_related("order_line__product").order_by("pk")
    ]
    totals = [{"label": "Net", "amount": str(invoice.net_total)}]
    if invoice.shipping_total:
        totals.append({"label": "Shipping", "amount": str(invoice.shipping_total)})
    totals += [
        {"label": "Tax", "amount": str(invoice.tax_total)},
        {"label": "Total", "amount": str(invoice.total)},
    ]
    context = {
        **_common(order),
        "title": "Invoice",
        "date": (invoice.issued_at or invoice.created_at).date().isoformat(),
        "due_date": invoice.due_date.isoformat() if invoice.due_date else "",
        "payment_terms": invoice.payment_terms,
        "facts": [f for f in [_fact("Order", order.number), _fact("Your PO", order.customer_po)] if f],
        "lines": lines,
        "totals": totals,
    }
    return _issue_and_mail(
        order=order,
        doc_type=DocumentType.INVOICE,
        number=invoice.number,
        owner_type="invoice",
        context=context,
    )


def _fact(label: str, value) -> dict | None:
    if value in (None, ""):
        return None
    return {"label": label, "value": str(value)}
