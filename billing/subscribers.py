"""Outbox subscribers of billing: a delivered cash-on-delivery shipment records its payment."""

from __future__ import annotations

from oms.kernel import events

from .services.payments import cod_delivery_confirmed


@events.subscriber("billing.cod", topics=["shipment.delivered"])
def cod_collected(event: events.Event) -> None:
    p = event.payload
    cod_delivery_confirmed(order_number=p["number"], shipment=p["shipment"])
