"""Stage: the customer. A B2B account by account number (with its credit exposure and active
sites, in one statement), or a storefront consumer by channel + email, created on first order."""

from __future__ import annotations

import functools
from decimal import Decimal

from django.db import IntegrityError, connection, transaction

from customers.models import CreditExposure, Customer, CustomerKind, CustomerSite, PaymentTerms
from oms.kernel import rawrows
from oms.kernel.exceptions import ValidationFailed
from partners.models import Channel

from ....inputs import OrderInput
from ..context import Capture


def resolve_customer(c: Capture) -> None:
    c.customer, c.customer_created = customer_resolve(c.channel, c.data)


@functools.cache
def _b2b_customer_query(vendor: str) -> tuple[str, rawrows.Columns, rawrows.Columns, rawrows.Columns]:
    quote = connection.ops.quote_name
    c, e, s = (
        rawrows.Columns(m, a) for m, a in ((Customer, "c"), (CreditExposure, "e"), (CustomerSite, "s"))
    )

    def col(model, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    customer_id = f"c.{col(Customer, 'id')}"
    exposures, sites = quote(CreditExposure._meta.db_table), quote(CustomerSite._meta.db_table)
    sql = (
        f"SELECT {c.sql}, {e.sql}, {s.sql} FROM {quote(Customer._meta.db_table)} c "  # noqa: S608
        f"LEFT OUTER JOIN {exposures} e ON e.{col(CreditExposure, 'customer')} = {customer_id} "
        f"LEFT OUTER JOIN {sites} s ON s.{col(CustomerSite, 'customer')} = {customer_id} "
        f"AND s.{col(CustomerSite, 'active')} = %s WHERE c.{col(Customer, 'account_number')} = %s "
        f"ORDER BY s.{col(CustomerSite, 'is_primary')} DESC, s.{col(CustomerSite, 'id')}"
    )
    return sql, c, e, s


def b2b_customer(account_number: str) -> Customer | None:
    """The customer with its credit exposure (the credit check reads it) and its active sites
    (primary first: the default addresses, and pricing's view of the customer), in one statement
    built once; a capture runs it every time. The sites are kept on the instance as `_active_sites`."""
    sql, c, e, s = _b2b_customer_query(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [True, account_number])
        rows = cursor.fetchall()
    if not rows:
        return None
    customer = c.instance(rows[0], 0)
    exposure = e.instance(rows[0], c.width)
    Customer.credit_exposure.related.set_cached_value(customer, exposure)  # None: has none, as select_related
    if exposure is not None:
        CreditExposure.customer.field.set_cached_value(exposure, customer)
    start = c.width + e.width
    customer._active_sites = [site for row in rows if (site := s.instance(row, start)) is not None]
    return customer


def customer_resolve(channel: Channel, data: OrderInput) -> tuple[Customer, bool]:
    """(customer, created). B2B by account number; a consumer by channel + email, created once
    even when two first orders of the same shopper race (the unique index decides)."""
    given = data.customer
    if given.account_number:
        customer = b2b_customer(given.account_number.strip().upper())
        if customer is None:
            raise ValidationFailed(
                "Unknown customer.", fields={"customer.account_number": ["No such customer account."]}
            )
        return customer, False
    email = given.email.strip()
    if not email:
        raise ValidationFailed(
            "A customer is required.",
            fields={"customer": ["Give an account_number, or a consumer's email and name."]},
        )
    try:
        with transaction.atomic():
            customer, created = Customer.objects.get_or_create(
                kind=CustomerKind.CONSUMER,
                channel=channel,
                email__iexact=email,
                defaults={
                    "email": email,
                    "name": given.name.strip() or email,
                    "credit_limit": Decimal(0),
                    "credit_currency": channel.default_currency,
                    "payment_terms": PaymentTerms.PREPAID,
                },
            )
    except IntegrityError:
        customer = Customer.objects.get(kind=CustomerKind.CONSUMER, channel=channel, email__iexact=email)
        created = False
    return customer, created
