"""The accrual engine runs in PostgreSQL (rebates/services/accrual_sql.py); SQLite runs the in-memory
engine (rebates/services/accruals.py `accrue_sources`). On the same shipments and invoices, with
prior period volume, a return in between, both tier modes, two currencies, a budget cap, a customer
group and ship-and-debit maximums crossed, both write the same accruals, journal totals and
counters."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal as D

import pytest
from django.db import connection, transaction

from billing.models import Invoice, InvoiceLine
from pricing.models import SegmentMembership
from rebates.models import (
    Accrual,
    AccrualBasis,
    JournalLine,
    ProgramType,
    RebateProgram,
    ShipDebitAuthorization,
)
from rebates.services import accruals as engine
from tests.factories.pricing import ExchangeRateFactory, PricingSegmentFactory

from .conftest import program, ship

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="compares the PostgreSQL engine"),
]

FIELDS = (
    "kind",
    "source_type",
    "source_id",
    "quantity",
    "value",
    "source_currency",
    "source_value",
    "fx_rate",
    "tier",
    "rate",
    "amount",
    "currency",
    "functional_amount",
    "functional_currency",
    "functional_fx_rate",
    "period_start",
    "period_end",
    "source_date",
    "supplier_id",
    "customer_id",
    "product_id",
    "warehouse_id",
    "authorization_id",
    "document",
)


class _Rollback(Exception):
    pass


def _world(w):
    ExchangeRateFactory(base="EUR", quote="USD", rate=D("1.0875"), valid_on=date(2026, 1, 1))
    common = {"supplier": w.supplier, "basis": "shipments", "period": "month"}
    tiers = [(0, 500, "2"), (500, 1500, "3.5"), (1500, None, "5")]
    program(
        code="retro-eur",
        program_type=ProgramType.SUPPLIER_REBATE,
        currency="EUR",
        tier_mode="retrospective",
        calc_method="percent",
        tier_measure="value",
        tiers=tiers,
        **common,
    )
    program(
        code="step-qty",
        program_type=ProgramType.SUPPLIER_REBATE,
        tier_mode="stepped",
        calc_method="per_unit",
        tier_measure="quantity",
        tiers=[(0, 7, "0.75"), (7, 20, "1.25"), (20, None, "2")],
        budget_cap=D("31.40"),
        **common,
    )
    program(
        code="step-val",
        program_type=ProgramType.SUPPLIER_REBATE,
        tier_mode="stepped",
        calc_method="percent",
        tier_measure="value",
        tiers=tiers,
        products=[w.drill],
        **common,
    )
    group = PricingSegmentFactory(code="eq-grp")
    SegmentMembership.objects.create(segment=group, customer=w.customer2)
    program(
        code="cv-grp",
        program_type=ProgramType.CUSTOMER_VOLUME,
        customer_segment=group,
        basis="shipments",
        tier_mode="retrospective",
        calc_method="percent",
        tier_measure="value",
        period="quarter",
        tiers=[(0, 300, "1"), (300, None, "1.5")],
    )
    program(
        code="cv-inv",
        program_type=ProgramType.CUSTOMER_VOLUME,
        customer=w.customer,
        basis="invoices",
        currency="EUR",
        tier_mode="stepped",
        calc_method="percent",
        tier_measure="value",
        period="year",
        tiers=[(0, 100, "1"), (100, None, "2")],
    )
    for code, method, value, base_cost, maximum in (
        ("sd-amount", "amount_off", "2.5", None, 14),
        ("sd-cost", "new_cost", "31", "40", None),
        ("sd-pct", "percent_off", "12.5", "40", 9),
    ):
        sd = program(code=code, program_type=ProgramType.SHIP_AND_DEBIT, supplier=w.supplier)
        auth = ShipDebitAuthorization.objects.create(
            program=sd,
            number=code.upper(),
            valid_from=date(2026, 1, 1),
            valid_to=date(2026, 6, 30),
            method=method,
            value=D(value),
            base_cost=D(base_cost) if base_cost else None,
            max_quantity=maximum,
        )
        auth.customers.set([w.customer])
        auth.segments.set([group])
        auth.products.set([w.drill, w.saw])


def _shipments(w):
    first = ship(
        w, w.customer, [(w.drill, 6, "41.37"), (w.saw, 3, "19.99"), (w.widget, 2, "5")], on=date(2026, 1, 30)
    )
    first += ship(w, w.customer2, [(w.drill, 5, "38.10")], on=date(2026, 1, 31), currency="EUR")
    second = ship(w, w.customer, [(w.drill, 7, "41.37"), (w.saw, 11, "19.99")], on=date(2026, 1, 31))
    second += ship(w, w.customer2, [(w.saw, 4, "22.45"), (w.drill, 9, "41.37")], on=date(2026, 2, 2))
    second += ship(w, w.customer, [(w.drill, 2, "41.37")], on=date(2026, 7, 1))  # after the authorizations
    return first, second


def _invoice(w, lines):
    inv = Invoice.objects.create(
        number="INV-EQ-1",
        order=lines[0].shipment.order,
        order_number=lines[0].shipment.order_number,
        customer=w.customer,
        status="issued",
        currency="USD",
        request_key="eq:1",
        issued_at=datetime.combine(date(2026, 2, 3), time(9), tzinfo=UTC),
    )
    for sl in lines:
        ol = sl.fulfillment_line.order_line
        net = ol.quantity * ol.unit_net_price
        InvoiceLine.objects.create(
            invoice=inv,
            order_line=ol,
            quantity=ol.quantity,
            unit_net_price=ol.unit_net_price,
            net=net,
            shipping=0,
            tax=0,
            total=net,
        )
    return inv.number


def _story(w, first, second, invoice, *, in_database: bool):
    def shipments(lines):
        ids = [sl.pk for sl in lines]
        if in_database:
            return engine.accrue_shipment_lines(shipment_line_ids=ids)
        return engine.accrue_sources(
            engine.shipment_line_sources(shipment_line_ids=ids), basis=AccrualBasis.SHIPMENTS
        )

    runs = [shipments(first)]
    engine.reverse_shipment_return(
        lines=[{"shipment_line": first[0].pk, "quantity": "2"}], event_key="return:eq", reason="test"
    )
    runs.append(shipments(second))
    runs.append(shipments(first + second))  # a redelivery: nothing new
    if in_database:
        runs.append(engine.accrue_invoice(invoice_number=invoice))
    else:
        runs.append(
            engine.accrue_sources(
                engine.invoice_line_sources(invoice_number=invoice), basis=AccrualBasis.INVOICES
            )
        )
    rows = [
        (
            a.program.code,
            *(getattr(a, f) for f in FIELDS),
            sorted(set(a.basis) & {"capped_from", "remainder_of_maximum"}),
        )
        for a in Accrual.objects.select_related("program").order_by("program__code", "kind", "source_id")
    ]
    counters = (
        sorted(RebateProgram.objects.values_list("code", "accrued_amount")),
        sorted(ShipDebitAuthorization.objects.values_list("number", "consumed_quantity")),
    )
    journal = sorted(
        JournalLine.objects.values_list(
            "entry__program__code", "account", "debit", "credit", "functional_debit", "functional_credit"
        )
    )
    return [(len(r.created), r.already) for r in runs], rows, counters, journal


def test_the_database_engine_writes_what_the_in_memory_engine_writes(rworld):
    _world(rworld)
    first, second = _shipments(rworld)
    invoice = _invoice(rworld, first[:3])
    with pytest.raises(_Rollback), transaction.atomic():
        in_db = _story(rworld, first, second, invoice, in_database=True)
        raise _Rollback
    in_memory = _story(rworld, first, second, invoice, in_database=False)
    assert in_db[0] == in_memory[0]
    assert in_db[1] == in_memory[1]
    assert in_db[2] == in_memory[2]
    assert in_db[3] == in_memory[3]
    # The story crossed what it was written to cross.
    assert any("remainder_of_maximum" in r[-1] for r in in_db[1])
    assert any("capped_from" in r[-1] for r in in_db[1])
    assert {r[0] for r in in_db[1]} >= {"retro-eur", "step-qty", "step-val", "cv-grp", "cv-inv", "sd-amount",
                                        "sd-cost", "sd-pct"}  # fmt: skip
