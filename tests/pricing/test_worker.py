"""A rule changed in the admin is seen by a separate worker process on its next pricing call."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from pricing.engine import LineRequest, PriceRequest
from pricing.models import PriceQuote, QuoteStatus
from pricing.services import price_quote_create
from pricing.tasks import price_quote_task
from tests.support.services import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _priced_by_worker(sku: str) -> dict:
    quote = price_quote_create(
        request=PriceRequest(currency="USD", lines=(LineRequest(sku, D(2)),), pricing_date=date(2026, 3, 15))
    )
    price_quote_task.delay(quote.pk)
    done = wait_until(
        lambda: PriceQuote.objects.filter(pk=quote.pk).exclude(status=QuoteStatus.PENDING).first(),
        timeout=60,
        message="the worker priced the quote",
    )
    assert done.status == QuoteStatus.PRICED, done.error
    return done.result


def _rule_form(rule, **changes) -> dict:
    data = {
        "code": rule.code,
        "name": rule.name,
        "active": "on",
        "priority": rule.priority,
        "valid_from": "",
        "valid_to": "",
        "level": rule.level,
        "action": rule.action,
        "value": str(rule.value),
        "currency": rule.currency,
        "buy_quantity": "",
        "get_quantity": "",
        "combination": rule.combination,
        "apply_on": rule.apply_on,
        "min_quantity": "",
        "min_order_quantity": "",
        "min_order_amount": "",
        "coupons-TOTAL_FORMS": "0",
        "coupons-INITIAL_FORMS": "0",
        "coupons-MIN_NUM_FORMS": "0",
        "coupons-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_a_rule_changed_in_the_admin_is_seen_by_a_worker_on_its_next_call(
    world, celery_worker_factory, admin_client
):
    from tests.factories.pricing import DiscountRuleFactory

    rule = DiscountRuleFactory(code="spring", name="Spring sale", value=D("10"))
    celery_worker_factory()

    first = _priced_by_worker("DRILL-1")  # the worker loads and caches the rule set
    assert first["lines"][0]["net"] == "180.00"
    again = _priced_by_worker("DRILL-1")  # served from its cache, same version
    assert again["ruleset_version"] == first["ruleset_version"]

    url = reverse("admin:pricing_discountrule_change", args=[rule.pk])
    response = admin_client.post(url, _rule_form(rule, value="25"))
    assert response.status_code == 302, response.content.decode()[:2000]

    after = _priced_by_worker("DRILL-1")
    assert after["ruleset_version"] > first["ruleset_version"]
    assert after["lines"][0]["net"] == "150.00"
    assert after["lines"][0]["components"][1]["rule"] == "spring"


def test_a_product_moved_to_another_category_is_seen_by_a_worker_on_its_next_call(
    world, celery_worker_factory
):
    """Products are cached with the rule set in every process: a catalog change bumps the
    version, so a worker that priced the product before prices it with its new category."""
    from tests.factories.pricing import DiscountRuleFactory

    DiscountRuleFactory(code="drills-20", value=D("20"), conditions={"categories": [world.drills]})
    celery_worker_factory()
    before = _priced_by_worker("SAW-1")  # cached by the worker in the tools category
    assert before["lines"][0]["net"] == "100.00"
    world.saw.category = world.drills
    world.saw.save()
    after = _priced_by_worker("SAW-1")
    assert after["ruleset_version"] > before["ruleset_version"]
    assert after["lines"][0]["net"] == "80.00"
