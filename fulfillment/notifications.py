"""Customer emails (order confirmation, shipment notice), sent from outbox events with
Django's email backend. Templates per channel: fulfillment/emails/<channel>/<kind>.txt, falling
back to fulfillment/emails/default/<kind>.txt. One email per (kind, reference)."""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import select_template

from orders.models import SalesOrder

from .models import CustomerNotification

SUBJECTS = {
    "order_confirmation": "Your order {number} is confirmed",
    "shipment_notice": "Your order {number} has shipped",
}


def customer_email_send(*, kind: str, reference: str, order_number: str, context: dict) -> bool:
    order = (
        SalesOrder.objects.select_related("customer", "channel")
        .filter(number=order_number, is_current=True)
        .first()
    )
    if order is None or not order.customer.email:
        return False
    subject = SUBJECTS[kind].format(number=order_number)
    try:
        with transaction.atomic():
            CustomerNotification.objects.create(
                kind=kind, reference=reference, recipient=order.customer.email, subject=subject
            )
    except IntegrityError:
        return False  # already sent for this event
    template = select_template(
        [f"fulfillment/emails/{order.channel.code}/{kind}.txt", f"fulfillment/emails/default/{kind}.txt"]
    )
    body = template.render({"order": order, "customer": order.customer, **context})
    send_mail(subject, body, None, [order.customer.email])
    return True
