"""Plain customer reference data (credit exposure is built through services)."""

from __future__ import annotations

from decimal import Decimal

import factory

from customers.models import Contact, Customer, CustomerKind, CustomerSite, SitePurpose


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    kind = CustomerKind.B2B
    account_number = factory.Sequence(lambda n: f"C-{10000 + n}")
    name = factory.Sequence(lambda n: f"Customer {n} Inc.")
    email = factory.Sequence(lambda n: f"ap{n}@customer.example")
    credit_limit = Decimal("10000.0000")
    credit_currency = "USD"


class ConsumerFactory(CustomerFactory):
    kind = CustomerKind.CONSUMER
    account_number = None
    name = factory.Sequence(lambda n: f"Shopper {n}")
    email = factory.Sequence(lambda n: f"shopper{n}@mail.example")
    credit_limit = Decimal("0")


class CustomerSiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerSite

    customer = factory.SubFactory(CustomerFactory)
    purpose = SitePurpose.BOTH
    is_primary = True
    line1 = factory.Sequence(lambda n: f"{n} Market Street")
    city = "Philadelphia"
    region = "PA"
    postcode = "19103"
    country = "US"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.Sequence(lambda n: f"contact{n}@customer.example")
