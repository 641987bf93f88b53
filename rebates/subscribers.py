"""Outbox subscribers of the rebates app: shipments, receipts and invoices earn accruals; returns
and canceled lines reverse them. Each handler calls one service; a redelivered event changes
nothing twice (the delivery's done mark commits with the accruals, and accruals are unique per
(program, source line)). Names are permanent: they key the delivery rows."""

from __future__ import annotations

from oms.kernel import events

from .services import accruals


@events.subscriber("rebates.accrue_shipments", topics=["shipment.shipped"])
def accrue_shipments(event: events.Event) -> None:
    accruals.accrue_shipment(shipment_number=event.payload["shipment"])


@events.subscriber("rebates.accrue_receipts", topics=["stock.received"])
def accrue_receipts(event: events.Event) -> None:
    p = event.payload
    if p.get("kind") == "receipt" and p.get("purchase_order_line_id") and p.get("movement_id"):
        accruals.accrue_receipt(
            movement_id=p["movement_id"], purchase_order_line_id=p["purchase_order_line_id"]
        )


@events.subscriber("rebates.accrue_invoices", topics=["invoice.issued"])
def accrue_invoices(event: events.Event) -> None:
    accruals.accrue_invoice(invoice_number=event.payload["invoice"])


@events.subscriber("rebates.reverse_returns", topics=["shipment.returned", "order.line_canceled"])
def reverse_returns(event: events.Event) -> None:
    p = event.payload
    if event.topic == "shipment.returned":
        accruals.reverse_shipment_return(
            lines=p.get("lines") or [],
            event_key=f"return:{p.get('return') or event.id}",
            reason="customer return",
        )
    else:
        accruals.reverse_order_line_cancellation(
            order_number=p["number"], line_number=p["line"], event_key=f"line_canceled:{event.id}"
        )
