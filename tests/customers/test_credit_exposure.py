from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from customers.models import CreditExposure, Customer, CustomerKind
from customers.selectors import credit_position, credit_position_of
from customers.services import credit_exposure_adjust, customer_create
from oms.kernel.exceptions import Conflict, NotFound, ValidationFailed
from tests.factories.customers import CustomerFactory

pytestmark = pytest.mark.integration


@pytest.mark.django_db
def test_adjust_creates_the_row_in_the_credit_currency_and_adds_deltas():
    customer = CustomerFactory(credit_currency="EUR", credit_limit=Decimal("5000"))
    exposure = credit_exposure_adjust(customer_id=customer.pk, open_orders_delta=Decimal("1200.50"))
    assert exposure.currency == "EUR" and exposure.open_orders_amount == Decimal("1200.50")
    credit_exposure_adjust(
        customer_id=customer.pk, open_orders_delta=Decimal("-200.50"), open_receivables_delta=Decimal("300")
    )
    position = credit_position(customer_id=customer.pk)
    assert position.open_orders == Decimal("1000") and position.open_receivables == Decimal("300")
    assert position.exposure == Decimal("1300") and position.available == Decimal("3700")


@pytest.mark.django_db
def test_releasing_more_than_is_open_is_refused_and_changes_nothing():
    customer = CustomerFactory()
    credit_exposure_adjust(customer_id=customer.pk, open_orders_delta=Decimal("100"))
    with pytest.raises(Conflict):
        credit_exposure_adjust(
            customer_id=customer.pk, open_orders_delta=Decimal("-50"), open_receivables_delta=Decimal("-1")
        )
    exposure = CreditExposure.objects.get(customer=customer)
    assert exposure.open_orders_amount == Decimal("100") and exposure.open_receivables_amount == 0


@pytest.mark.django_db
def test_an_order_released_in_parts_releases_to_exactly_zero():
    """Invoicing in parts moves the order's amount to receivables slice by slice; the last slice
    must find exactly what is left (SQLite adds in binary floating point unless rounded)."""
    customer = CustomerFactory()
    for part in ("0.3", "0.1", "0.1", "0.2"):
        credit_exposure_adjust(customer_id=customer.pk, open_orders_delta=Decimal(part))
    for part in ("0.1", "0.2", "0.3", "0.1"):  # 0.7 in parts whose binary sums are inexact
        credit_exposure_adjust(
            customer_id=customer.pk, open_orders_delta=-Decimal(part), open_receivables_delta=Decimal(part)
        )
    credit_exposure_adjust(customer_id=customer.pk, open_orders_delta=Decimal("33.33"))
    for _ in range(3):
        credit_exposure_adjust(customer_id=customer.pk, open_orders_delta=Decimal("-11.11"))
    exposure = CreditExposure.objects.get(customer=customer)
    assert exposure.open_orders_amount == 0 and exposure.open_receivables_amount == Decimal("0.7")


@pytest.mark.django_db
def test_negative_amounts_are_also_refused_by_the_database():
    customer = CustomerFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditExposure.objects.create(customer=customer, currency="USD", open_orders_amount=Decimal("-1"))


@pytest.mark.django_db
def test_credit_position_without_exposure_row_is_the_full_limit(django_assert_num_queries):
    customer = CustomerFactory(credit_limit=Decimal("2500"))
    with django_assert_num_queries(1):
        position = credit_position(customer_id=customer.pk)
    assert position.exposure == 0 and position.available == Decimal("2500")


@pytest.mark.django_db
def test_unknown_customer_is_not_found():
    with pytest.raises(NotFound):
        credit_exposure_adjust(customer_id=999_999, open_orders_delta=Decimal("1"))
    with pytest.raises(NotFound):
        credit_position(customer_id=999_999)


@pytest.mark.django_db
def test_customer_create_validates_currency_and_opens_exposure():
    with pytest.raises(ValidationFailed) as excinfo:
        customer_create(name="Bad Co", account_number="C-1", credit_currency="XXX")
    assert "credit_currency" in excinfo.value.fields
    assert excinfo.value.message == "The customer is not valid."
    assert not Customer.objects.filter(account_number="C-1").exists()
    customer = customer_create(name="Good Co", account_number="c-2", credit_currency="jpy")
    assert customer.account_number == "C-2" and customer.kind == CustomerKind.B2B
    assert CreditExposure.objects.get(customer=customer).currency == "JPY"
    # The kind is the caller's (a storefront shopper is a consumer), never the default.
    shopper = customer_create(
        name="  Ana  ", kind=CustomerKind.CONSUMER, account_number="c-3", email="ana@mail.example"
    )
    shopper.refresh_from_db()
    assert (shopper.kind, shopper.name) == (CustomerKind.CONSUMER, "Ana")


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.concurrency
def test_concurrent_adjustments_sum_exactly():
    # No exposure row yet: the threads also race to create it.
    customer = CustomerFactory(credit_limit=Decimal("1000000"))
    threads_n, rounds = 8, 25
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(rounds):
                credit_exposure_adjust(
                    customer_id=customer.pk,
                    open_orders_delta=Decimal("10.0001"),
                    open_receivables_delta=Decimal(i),
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    exposure = CreditExposure.objects.get(customer=customer)
    assert exposure.open_orders_amount == Decimal("10.0001") * threads_n * rounds
    assert exposure.open_receivables_amount == Decimal(sum(range(threads_n)) * rounds)
    assert CreditExposure.objects.filter(customer=customer).count() == 1


@pytest.mark.django_db
def test_an_adjustment_is_one_statement_once_the_row_exists(django_assert_num_queries):
    customer = CustomerFactory(credit_currency="EUR")
    credit_exposure_adjust(customer_id=customer.pk, open_orders_delta=Decimal("10"))
    with django_assert_num_queries(1):
        exposure = credit_exposure_adjust(customer_id=customer.pk, open_orders_delta=Decimal("2.5"))
    assert (exposure.currency, exposure.open_orders_amount) == ("EUR", Decimal("12.5"))
    assert exposure.updated_at == CreditExposure.objects.get(customer=customer).updated_at
    # A refused release writes nothing and leaves the caller's transaction usable.
    with transaction.atomic():
        with pytest.raises(Conflict):
            credit_exposure_adjust(customer_id=customer.pk, open_orders_delta=Decimal("-13"))
        credit_exposure_adjust(customer_id=customer.pk, open_receivables_delta=Decimal("1"))
    exposure = CreditExposure.objects.get(customer=customer)
    assert (exposure.open_orders_amount, exposure.open_receivables_amount) == (Decimal("12.5"), Decimal("1"))


@pytest.mark.django_db
def test_the_position_of_a_customer_read_with_its_exposure_costs_no_query(django_assert_num_queries):
    customer = CustomerFactory(credit_limit=Decimal("500"))
    credit_exposure_adjust(customer_id=customer.pk, open_orders_delta=Decimal("120"))
    loaded = Customer.objects.select_related("credit_exposure").get(pk=customer.pk)
    with django_assert_num_queries(0):
        position = credit_position_of(loaded)
    assert position == credit_position(customer_id=customer.pk)
    assert position.available == Decimal("380")
    fresh = CustomerFactory(credit_limit=Decimal("7"))  # no exposure row yet
    unloaded = Customer.objects.get(pk=fresh.pk)
    with django_assert_num_queries(1):
        assert credit_position_of(unloaded).available == Decimal("7")


@pytest.mark.django_db
def test_a_zero_adjustment_opens_the_row_of_a_new_customer_and_changes_nothing():
    customer = CustomerFactory(credit_currency="CHF")
    assert not CreditExposure.objects.filter(customer=customer).exists()
    exposure = credit_exposure_adjust(customer_id=customer.pk)
    assert (exposure.customer_id, exposure.currency) == (customer.pk, "CHF")
    assert (exposure.open_orders_amount, exposure.open_receivables_amount) == (0, 0)
    credit_exposure_adjust(customer_id=customer.pk, open_orders_delta=Decimal("40"))
    again = credit_exposure_adjust(customer_id=customer.pk, open_orders_delta=Decimal("0"))
    assert (again.customer_id, again.open_orders_amount) == (customer.pk, Decimal("40"))
    assert CreditExposure.objects.filter(customer=customer).count() == 1


@pytest.mark.django_db
def test_receivables_are_released_down_to_exactly_zero_and_a_larger_release_says_what_was_refused():
    """An invoice paid releases its receivable; the last cent goes, one more is refused."""
    customer = CustomerFactory()
    credit_exposure_adjust(customer_id=customer.pk, open_receivables_delta=Decimal("300"))
    exposure = credit_exposure_adjust(customer_id=customer.pk, open_receivables_delta=Decimal("-100"))
    assert exposure.open_receivables_amount == Decimal("200")
    exposure = credit_exposure_adjust(customer_id=customer.pk, open_receivables_delta=Decimal("-200"))
    assert exposure.open_receivables_amount == 0
    with pytest.raises(Conflict) as excinfo:
        credit_exposure_adjust(customer_id=customer.pk, open_receivables_delta=Decimal("-0.01"))
    assert excinfo.value.message == "The release is larger than the open exposure."
    assert excinfo.value.context == {
        "customer_id": customer.pk,
        "open_orders_delta": "0",
        "open_receivables_delta": "-0.01",
    }
    exposure = CreditExposure.objects.get(customer=customer)
    assert (exposure.open_orders_amount, exposure.open_receivables_amount) == (0, 0)
