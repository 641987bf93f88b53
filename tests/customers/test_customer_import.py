from __future__ import annotations

from decimal import Decimal

import pytest
import tablib
from django.contrib.auth import get_user_model
from django.db import DataError, IntegrityError, transaction

from customers.models import Customer, CustomerKind
from customers.resources import CustomerResource
from tests.factories.customers import ConsumerFactory, CustomerFactory, CustomerSiteFactory

pytestmark = pytest.mark.integration

HEADERS = ["account_number", "kind", "name", "email", "status", "demand_class", "credit_limit",
           "credit_currency", "payment_terms", "tax_exempt", "sales_rep"]  # fmt: skip


def _row_errors(result) -> dict[int, dict[str, list[str]]]:
    return {row.number: row.error_dict for row in result.invalid_rows}


@pytest.mark.django_db
def test_bad_rows_are_reported_per_row_and_good_rows_import():
    get_user_model().objects.create_user(username="jsmith")
    data = tablib.Dataset(
        ["c-200", "b2b", "Harbor Tools Ltd", "ap@harbor.example", "active", "priority", "25000", "gbp",
         "NET30", "0", "jsmith"],
        ["C-201", "b2b", "Nowhere Inc", "", "active", "standard", "1000", "XXX", "NET30", "0", ""],
        ["C-202", "b2b", "Ghost Rep GmbH", "", "active", "standard", "1000", "EUR", "NET30", "0", "nobody"],
        ["C-203", "b2b", "Minus Corp", "", "frozen", "standard", "-5", "USD", "NET30", "0", ""],
        ["", "b2b", "No Number LLC", "", "active", "standard", "0", "USD", "NET30", "0", ""],
        ["", "consumer", "Ana Ortiz", "Ana@Mail.example", "active", "standard", "0", "USD", "PREPAID",
         "0", ""],
        headers=HEADERS,
    )  # fmt: skip
    result = CustomerResource().import_data(data, dry_run=False, raise_errors=False)

    assert result.has_validation_errors() and not result.has_errors()
    errors = _row_errors(result)
    assert set(errors) == {2, 3, 4, 5}
    assert "credit_currency" in errors[2]
    assert "sales_rep" in errors[3] and "nobody" in errors[3]["sales_rep"][0]
    assert {"status", "credit_limit"} <= set(errors[4])
    assert "account_number" in errors[5]
    harbor = Customer.objects.get(account_number="C-200")
    assert harbor.credit_currency == "GBP" and harbor.credit_limit == Decimal("25000")
    assert harbor.sales_rep.username == "jsmith"
    assert Customer.objects.get(kind=CustomerKind.CONSUMER).email == "Ana@Mail.example"
    assert Customer.objects.count() == 2


@pytest.mark.django_db
def test_consumers_are_matched_by_email_case_insensitively():
    ConsumerFactory(email="ana@mail.example", name="Ana")
    data = tablib.Dataset(
        [
            "",
            "consumer",
            "Ana Ortiz",
            "ANA@mail.example",
            "active",
            "standard",
            "0",
            "USD",
            "PREPAID",
            "0",
            "",
        ],
        headers=HEADERS,
    )
    result = CustomerResource().import_data(data, dry_run=False, raise_errors=False)
    assert result.totals["update"] == 1 and not result.has_validation_errors()
    assert Customer.objects.get().name == "Ana Ortiz"


@pytest.mark.django_db
def test_export_then_import_round_trips():
    CustomerFactory.create_batch(3)
    ConsumerFactory()
    exported = CustomerResource().export()
    result = CustomerResource().import_data(exported, dry_run=True, raise_errors=False)
    assert not result.has_validation_errors() and not result.has_errors()
    assert result.totals["new"] == 0


@pytest.mark.django_db
def test_consumer_email_is_unique_regardless_of_case():
    ConsumerFactory(email="bo@mail.example")
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsumerFactory(email="BO@mail.example")
    # Business accounts may share an accounts-payable address.
    CustomerFactory(email="bo@mail.example")


@pytest.mark.django_db
@pytest.mark.parametrize("country", ["usa", "U", "us"])
def test_site_country_must_be_iso2_upper(country):
    # PostgreSQL refuses a 3-letter code by column width (DataError), SQLite by the constraint.
    with pytest.raises((IntegrityError, DataError)), transaction.atomic():
        CustomerSiteFactory(country=country)


@pytest.mark.django_db
def test_one_primary_site_per_purpose():
    site = CustomerSiteFactory(purpose="ship_to")
    CustomerSiteFactory(customer=site.customer, purpose="bill_to")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerSiteFactory(customer=site.customer, purpose="ship_to")
