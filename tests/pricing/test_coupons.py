"""Coupon usage limits hold under concurrent orders; /prices only validates, capture redeems."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection

from oms.kernel.exceptions import Conflict, NotFound
from pricing.models import Coupon, CouponRedemption
from pricing.services import coupon_redeem, coupon_redemption_release
from tests.factories.customers import CustomerFactory
from tests.factories.pricing import CouponFactory, DiscountRuleFactory

from .conftest import line, quote


def _race(n: int, fn) -> tuple[int, list[Exception]]:
    barrier = threading.Barrier(n)
    ok, errors, lock = [0], [], threading.Lock()

    def worker(i: int) -> None:
        try:
            barrier.wait()
            fn(i)
            with lock:
                ok[0] += 1
        except Exception as exc:
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return ok[0], errors


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.concurrency
def test_a_coupon_limited_to_10_uses_raced_by_30_orders_is_used_exactly_10_times():
    coupon = CouponFactory(code="TEN", max_uses=10)
    customers = [CustomerFactory().pk for _ in range(30)]
    ok, errors = _race(30, lambda i: coupon_redeem(code="ten", order_ref=f"SO-{i}", customer_id=customers[i]))
    assert ok == 10
    assert len(errors) == 20 and all(isinstance(e, Conflict) for e in errors), errors
    coupon.refresh_from_db()
    assert coupon.times_used == 10 and CouponRedemption.objects.filter(coupon=coupon).count() == 10


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
@pytest.mark.concurrency
def test_the_per_customer_limit_holds_under_the_same_lock():
    coupon = CouponFactory(code="TWICE", max_uses=None, max_uses_per_customer=2)
    customer = CustomerFactory()
    ok, errors = _race(
        30, lambda i: coupon_redeem(code="TWICE", order_ref=f"SO-{i}", customer_id=customer.pk)
    )
    assert ok == 2 and len(errors) == 28
    coupon.refresh_from_db()
    assert coupon.times_used == 2  # refused uses were rolled back
    assert CouponRedemption.objects.filter(coupon=coupon, customer=customer).count() == 2


@pytest.mark.integration
@pytest.mark.django_db
def test_redeem_is_idempotent_per_order_and_release_gives_the_use_back():
    CouponFactory(code="ONCE", max_uses=1)
    first = coupon_redeem(code="once", order_ref="SO-1")
    assert coupon_redeem(code="ONCE", order_ref="SO-1").pk == first.pk  # the same order again
    with pytest.raises(Conflict):
        coupon_redeem(code="ONCE", order_ref="SO-2")
    assert coupon_redemption_release(code="ONCE", order_ref="SO-1")
    assert Coupon.objects.get(code="ONCE").times_used == 0
    assert coupon_redeem(code="ONCE", order_ref="SO-2").order_ref == "SO-2"
    with pytest.raises(NotFound):
        coupon_redeem(code="NOPE", order_ref="SO-3")


@pytest.mark.integration
@pytest.mark.django_db
def test_an_expired_or_inactive_coupon_cannot_be_redeemed():
    CouponFactory(code="OLD", valid_to=date.today() - timedelta(days=1))
    CouponFactory(code="OFF", active=False)
    for code in ("OLD", "OFF"):
        with pytest.raises(Conflict):
            coupon_redeem(code=code, order_ref="SO-1")


@pytest.mark.integration
@pytest.mark.django_db
def test_pricing_validates_usage_limits_without_redeeming(world):
    rule = DiscountRuleFactory(code="five", value=D("5"))
    CouponFactory(code="USED", rule=rule, max_uses=1, max_uses_per_customer=1)
    result = quote(line("DRILL-1"), customer_account="C-1", coupon_codes=("USED",))
    assert result.coupons[0].valid and result.lines[0].net == D("95.00")
    assert Coupon.objects.get(code="USED").times_used == 0  # pricing never redeems
    coupon_redeem(code="USED", order_ref="SO-1", customer_id=world.customer.pk)
    again = quote(line("DRILL-1"), customer_account="C-1", coupon_codes=("USED",))
    assert not again.coupons[0].valid and "used up" in again.coupons[0].reason
    assert again.lines[0].net == D("100.00")
