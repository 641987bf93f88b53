"""Tax, shipping, recurring charges, source prices, currencies and manual adjustments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from catalog.models import ProductType
from oms.kernel.exceptions import NotFound, ValidationFailed
from partners.models import Channel, ChannelType
from pricing.models import ChargeType, PricingPolicy, RecurringPeriod
from pricing.selectors import exchange_rate_on
from tests.factories.catalog import ProductFactory, TaxClassFactory
from tests.factories.customers import CustomerFactory
from tests.factories.pricing import (
    ExchangeRateFactory,
    PriceListItemFactory,
    ShippingRuleFactory,
    TaxRuleFactory,
)

from .conftest import line, quote, trace_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_tax_by_jurisdiction_and_tax_class_region_beats_country(world):
    reduced = TaxClassFactory(code="reduced")
    gloves = ProductFactory(sku="GLOVES", tax_class=reduced, category=world.tools)
    PriceListItemFactory(price_list=world.default_list, product=gloves, uom=gloves.uom, unit_price=D("10.00"))
    TaxRuleFactory(country="DE", tax_class=world.standard, rate=D("19"), name="DE VAT")
    TaxRuleFactory(country="DE", tax_class=reduced, rate=D("7"), name="DE VAT reduced")
    TaxRuleFactory(country="US", region="NY", tax_class=world.standard, rate=D("8.875"), name="NY sales tax")

    de = quote(line("DRILL-1"), line("GLOVES", 3), ship_to=("DE", "HH"))
    assert [(ln.tax_rate, ln.tax) for ln in de.lines] == [(D("19"), D("19.00")), (D("7"), D("2.10"))]
    ny = quote(line("DRILL-1", 3), ship_to=("US", "NY"))
    assert ny.lines[0].tax == D("26.63")  # 300 x 8.875% = 26.625 -> half up
    pa = quote(line("DRILL-1"), ship_to=("US", "PA"))
    assert pa.lines[0].tax == 0 and ("line 1", "applied", "0.0000% of 100.00") in trace_of(
        pa, "US no sales tax"
    )


def test_exempt_customers_pay_no_tax(world):
    TaxRuleFactory(country="DE", tax_class=world.standard, rate=D("19"), name="DE VAT")
    CustomerFactory(account_number="C-EX", tax_exempt=True)
    result = quote(line("DRILL-1"), customer_account="C-EX", ship_to=("DE", ""))
    assert result.lines[0].tax == 0
    assert any(c.kind == "tax" and c.detail == {"exempt": True} for c in result.lines[0].components)


def test_shipping_by_method_weight_and_amount_with_a_free_threshold(world):
    ShippingRuleFactory(
        name="Ground US",
        ship_method="ground",
        country="US",
        flat_amount=D("5.00"),
        per_kg_amount=D("1.25"),
        free_over_amount=D("500"),
    )
    ShippingRuleFactory(
        name="Ground heavy",
        ship_method="ground",
        country="US",
        min_weight_kg=D("20"),
        flat_amount=D("40.00"),
        priority=1,
    )
    ShippingRuleFactory(name="Ground anywhere", ship_method="ground", flat_amount=D("25.00"))
    result = quote(line("DRILL-1"), line("SAW-1", 3), ship_to=("US", "PA"), ship_method="ground")
    # 2 kg + 3 kg = 5 kg: 5.00 + 6.25 = 11.25, spread 100 : 150 over the lines
    assert result.totals.shipping == D("11.25") and result.shipping_rule == "Ground US"
    assert [ln.shipping for ln in result.lines] == [D("4.50"), D("6.75")]
    heavy = quote(line("DRILL-1", 4), line("SAW-1", 12), ship_to=("US", "PA"), ship_method="ground")
    assert heavy.shipping_rule == "Ground heavy" and heavy.totals.shipping == D("40.00")  # 20 kg
    free = quote(line("DRILL-1", 5), ship_to=("US", "PA"), ship_method="ground")
    assert free.totals.shipping == 0 and "free" in trace_of(free, "Ground US")[0][2]
    abroad = quote(line("DRILL-1"), ship_to=("FR", ""), ship_method="ground")
    assert abroad.shipping_rule == "Ground anywhere"
    with pytest.raises(ValidationFailed) as exc:
        quote(line("DRILL-1"), ship_to=("US", "PA"), ship_method="teleport")
    assert "ship_method" in exc.value.fields


def test_taxable_shipping_is_taxed_at_each_lines_rate(world):
    TaxRuleFactory(country="GB", tax_class=world.standard, rate=D("20"), name="GB VAT")
    ShippingRuleFactory(
        name="UK", ship_method="courier", country="GB", currency="USD", flat_amount=D("10"), taxable=True
    )
    result = quote(line("DRILL-1"), ship_to=("GB", ""), ship_method="courier")
    assert (result.lines[0].shipping, result.lines[0].tax, result.totals.total) == (
        D("10"),
        D("22.00"),
        D("132.00"),
    )


def test_recurring_charges_are_shown_apart_from_one_time_charges(world):
    support = ProductFactory(sku="SUPPORT", product_type=ProductType.SERVICE, tax_class=world.standard)
    PriceListItemFactory(
        price_list=world.default_list,
        product=support,
        uom=support.uom,
        unit_price=D("30.00"),
        charge_type=ChargeType.RECURRING,
        recurring_period=RecurringPeriod.MONTH,
        recurring_periods=12,
    )
    ShippingRuleFactory(ship_method="ground", flat_amount=D("7.00"))
    result = quote(line("DRILL-1"), line("SUPPORT", 2), ship_to=("US", "PA"), ship_method="ground")
    _, sub = result.lines
    assert sub.charge_type == "recurring" and sub.recurring.period == "month" and sub.shipping == 0
    assert result.totals.total == D("107.00")  # the drill and all the shipping; no subscription
    (monthly,) = result.recurring
    assert (monthly.period, monthly.periods, monthly.total, monthly.contract_total) == (
        "month",
        12,
        D("60.00"),
        D("720.00"),
    )


def test_a_trusted_channel_keeps_its_source_prices_and_still_gets_tax(world):
    TaxRuleFactory(country="DE", tax_class=world.standard, rate=D("19"), name="DE VAT")
    Channel.objects.create(
        code="market", name="Marketplace", type=ChannelType.MARKETPLACE, trusted_prices=True
    )
    result = quote(
        line("DRILL-1", 2, source_unit_price=D("77.77")), channel_code="market", ship_to=("DE", "")
    )
    ln = result.lines[0]
    assert ln.source_price and ln.list_amount == D("155.54") and ln.price_list is None
    assert ln.components[0].kind == "source_price" and ln.tax == D("29.55")
    untrusted = quote(line("DRILL-1", 2, source_unit_price=D("1")), channel_code="web", ship_to=("DE", ""))
    assert untrusted.lines[0].list_amount == D("200.00") and untrusted.lines[0].notes


def test_fx_uses_the_latest_rate_on_or_before_the_date_and_records_it(world):
    ExchangeRateFactory(base="USD", quote="JPY", rate=D("150.123"), valid_on=date(2026, 3, 1))
    ExchangeRateFactory(base="USD", quote="JPY", rate=D("151"), valid_on=date(2026, 3, 16))
    ExchangeRateFactory(base="KWD", quote="USD", rate=D("3.25"), valid_on=date(2026, 2, 1))
    jpy = quote(line("DRILL-1"), line("SAW-1"), currency="JPY")
    assert [ln.list_amount for ln in jpy.lines] == [
        D("15012"),
        D("7506"),
    ]  # 15012.3 and 7506.15, rounded once
    assert jpy.rates[0].rate == D("150.123") and jpy.rates[0].valid_on == date(2026, 3, 1)
    assert quote(line("DRILL-1"), currency="JPY", on=date(2026, 3, 16)).lines[0].list_amount == D("15100")
    kwd = quote(line("DRILL-1"), currency="KWD")  # only KWD->USD is stored: its reciprocal
    assert kwd.lines[0].list_amount == D("30.769") and kwd.rates[0].inverted
    with pytest.raises(ValidationFailed) as exc:
        quote(line("DRILL-1"), currency="EUR")
    assert "No exchange rate from USD to EUR" in exc.value.fields["currency"][0]


def test_exchange_rate_on_selector(world):
    ExchangeRateFactory(base="EUR", quote="USD", rate=D("1.08"), valid_on=date(2026, 1, 1))
    ExchangeRateFactory(base="EUR", quote="USD", rate=D("1.12"), valid_on=date(2026, 3, 1))
    assert exchange_rate_on(base="eur", quote="USD", on=date(2026, 2, 28)).rate == D("1.08")
    fx = exchange_rate_on(base="USD", quote="EUR", on=date(2026, 3, 1))
    assert fx.inverted and fx.valid_on == date(2026, 3, 1) and fx.rate == D(1) / D("1.12")
    assert exchange_rate_on(base="USD", quote="USD", on=date(2026, 1, 1)).rate == 1
    with pytest.raises(NotFound):
        exchange_rate_on(base="EUR", quote="USD", on=date(2025, 12, 31))


def test_manual_discount_beyond_the_guardrail_needs_approval_with_its_reason(world):
    result = quote(line("DRILL-1", 2, manual=("percent_off", "25", "price-match")), line("SAW-1"))
    assert result.needs_approval
    (reason,) = result.approval_reasons
    assert "Line 1 (DRILL-1)" in reason and "25.00% below list" in reason and "20% guardrail" in reason
    assert "price-match" in reason
    assert result.lines[0].net == D("150.00") and result.lines[0].manual_reason_code == "price-match"


def test_manual_adjustment_within_the_guardrail_records_its_reason_code(world):
    result = quote(line("DRILL-1", manual=("price_override", "85", "price-match")))
    assert not result.needs_approval and result.approval_reasons == ()
    manual = next(c for c in result.lines[0].components if c.kind == "manual")
    assert manual.amount == D("-15.00") and manual.detail["reason_code"] == "price-match"
    assert result.lines[0].manual_reason_code == "price-match"
    # The guardrail is configurable; markups never need approval.
    PricingPolicy.objects.update_or_create(pk=1, defaults={"max_manual_discount_percent": D("10")})
    assert quote(line("DRILL-1", manual=("price_override", "85", "price-match"))).needs_approval
    assert not quote(line("DRILL-1", manual=("markup", "50", "price-match"))).needs_approval


def test_manual_adjustment_needs_a_known_reason_code(world):
    with pytest.raises(ValidationFailed) as exc:
        quote(line("DRILL-1", manual=("amount_off", "5", "because")))
    assert "lines[0].manual_adjustment.reason_code" in exc.value.fields


def test_without_a_ship_to_the_customers_own_site_decides_the_tax(world):
    TaxRuleFactory(country="US", region="PA", tax_class=world.standard, rate=D("6"), name="PA sales tax")
    TaxRuleFactory(country="PA", tax_class=world.standard, rate=D("12"), name="Panama ITBMS")
    result = quote(line("DRILL-1", 2), customer_account="C-1")
    assert (result.lines[0].tax_rate, result.lines[0].tax) == (D("6"), D("12.00"))
    assert result.totals.total == D("212.00")


@pytest.mark.parametrize("qty", ["0", "-1"])
def test_the_engine_itself_refuses_a_line_for_nothing(world, qty):
    # price_quote validates first; the engine is also called with requests built by other services.
    from pricing.engine import price
    from pricing.engine.types import PriceRequest
    from pricing.snapshot import snapshot_load

    request = PriceRequest(
        currency="USD", lines=(line("SAW-1"), line("DRILL-1", qty)), pricing_date=date.today()
    )
    with pytest.raises(ValidationFailed) as refused:
        price(request, snapshot_load(request))
    assert refused.value.fields == {"lines[1].quantity": ["Must be above zero."]}
    assert refused.value.message == "Some lines cannot be priced."


def test_shipping_that_is_not_taxable_adds_no_tax(world):
    TaxRuleFactory(country="GB", tax_class=world.standard, rate=D("20"), name="GB VAT")
    ShippingRuleFactory(
        name="UK", ship_method="courier", country="GB", currency="USD", flat_amount=D("10"), taxable=False
    )
    result = quote(line("DRILL-1"), ship_to=("GB", ""), ship_method="courier")
    assert (result.lines[0].shipping, result.lines[0].tax, result.totals.total) == (
        D("10"),
        D("20.00"),  # 20 % of the goods only
        D("130.00"),
    )
