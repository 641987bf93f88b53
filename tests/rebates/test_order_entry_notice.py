"""Order entry says when a ship-and-debit authorization will apply to a line: the quote (through
the kernel's line-notice seam: orders never imports rebates) names the authorization, the unit
debit and what is left under its maximum, for eligible customer and product only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Product, Supplier
from customers.models import Customer
from rebates.models import ProgramType, ShipDebitAuthorization
from tests.ui.test_order_entry import _form, _quote

from .conftest import program

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def authorization(ui):
    today = timezone.localdate()
    supplier = Supplier.objects.create(code="sd-supplier", name="Makita Supply", country="US")
    p = program(
        code="sd-entry",
        program_type=ProgramType.SHIP_AND_DEBIT,
        supplier=supplier,
        start_date=today - timedelta(days=30),
        end_date=today + timedelta(days=30),
    )
    auth = ShipDebitAuthorization.objects.create(
        program=p,
        number="SD-77",
        valid_from=today - timedelta(days=1),
        valid_to=today + timedelta(days=10),
        max_quantity=Decimal("10"),
        consumed_quantity=Decimal("7"),
        method="amount_off",
        value=Decimal("4.5"),
    )
    auth.customers.set([Customer.objects.get(account_number="C-1")])
    auth.products.set([Product.objects.get(sku="DRILL-1")])
    return auth


def test_the_quote_says_a_ship_and_debit_authorization_will_apply(ui, login, authorization):
    client = login(ui.users.desk)
    quote = _quote(client, _form(client, **{"lines-0-quantity": "5"}))
    assert "Ship-and-debit SD-77 (Makita Supply) will apply: cost 4.50 USD a unit lower" in quote
    assert "3 units left under its maximum (only those accrue)" in quote


def test_no_notice_for_another_customer_or_product_or_outside_the_dates(ui, login, authorization):
    client = login(ui.users.desk)
    assert "Ship-and-debit" not in _quote(client, _form(client, customer="C-2"))
    assert "Ship-and-debit" not in _quote(client, _form(client, **{"lines-0-sku": "SAW-1"}))
    ShipDebitAuthorization.objects.filter(pk=authorization.pk).update(
        valid_from=timezone.localdate() + timedelta(1)
    )
    assert "Ship-and-debit" not in _quote(client, _form(client))
