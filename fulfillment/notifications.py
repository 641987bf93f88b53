"""Staff notifications sent from outbox events with Django's email backend: the jeopardy digest.
(The customer's mails carry documents: fulfillment.customer_documents.)"""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from .models import CustomerNotification


def jeopardy_digest_send(*, digest: dict) -> int:
    """One mail to the members of a role listing the alerts one scan raised for it. Sent once per
    (scan, role): a redelivered event does not mail twice; a mail server that is down raises, so
    the outbox retries the delivery (the scan itself has committed long before)."""
    from django.contrib.auth import get_user_model

    from oms.kernel.roles import Role

    role = Role(digest["role"])
    users = get_user_model().objects.filter(is_active=True, is_staff=True).exclude(email="")
    recipients = sorted(set(users.filter(groups__name=role.label).values_list("email", flat=True)))
    if not recipients:
        return 0
    count = digest["count"]
    subject = f"Jeopardy: {count} new alert{'s' if count != 1 else ''} for {role.label}"
    try:
        with transaction.atomic():
            CustomerNotification.objects.create(
                kind="jeopardy_digest",
                reference=f"scan:{digest['scan']}:{role.value}",
                recipient=recipients[0],
                subject=subject[:200],
            )
    except IntegrityError:
        return 0  # already sent for this scan and role
    body = render_to_string("fulfillment/emails/jeopardy_digest.txt", {"digest": digest, "role": role})
    send_mail(subject, body, None, recipients)
    return len(recipients)
