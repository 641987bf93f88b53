"""Shared set-up for the planning and jeopardy tests: a default policy, a staff member of the
fulfillment role, and a back-to-back order whose receipt drives the jeopardy."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from fulfillment.models import JeopardyPolicy, JeopardyPriorityRange, JeopardyThreshold
from oms.kernel.roles import Role, role_sync


def default_policy() -> JeopardyPolicy:
    """>= 0 h late scores 10 (LOW), >= 1 day 50 (MEDIUM), >= 3 days 90 (HIGH)."""
    policy = JeopardyPolicy.objects.create(name="Default")
    for delay, unit, score in (("0", "hours", 10), ("1", "days", 50), ("3", "days", 90)):
        JeopardyThreshold.objects.create(policy=policy, min_delay=Decimal(delay), unit=unit, score=score)
    for priority, lo, hi in (("on_time", 0, 9), ("low", 10, 49), ("medium", 50, 89), ("high", 90, None)):
        JeopardyPriorityRange.objects.create(policy=policy, priority=priority, min_score=lo, max_score=hi)
    return policy


def fulfillment_staff(username: str = "fran", email: str = "fran@oms.example"):
    role_sync()
    user = get_user_model().objects.create_user(username=username, email=email, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.FULFILLMENT.label))
    return user


def every_day(world) -> None:
    """The test's dates must not depend on the weekday it runs on: both warehouses work daily."""
    for wh in (world.east, world.west):
        wh.working_days = "1234567"
        wh.shipping_cutoff = None
        wh.save()


def in_days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


def jeopardy_world(world):
    """`world` (build_fulfillment_world) with daily warehouses, the default policy, a staff member
    of the fulfillment role and a webhook endpoint of the web channel for jeopardy changes."""
    from partners.models import WebhookEndpoint

    every_day(world)
    default_policy()
    world.staff = fulfillment_staff()
    WebhookEndpoint.objects.create(
        channel=world.web.channel,
        url="https://hooks.example/oms",
        secret="s3cret",
        topics=["order.jeopardy_changed"],
    )
    return world


def late_piano_orders(world, n: int = 1, *, prefix: str = "JP"):
    """`n` back-to-back orders due in 10 days, then a scan nine days ahead (their receipts, planned
    for day 5, have not come): each line is late and has one open alert. Returns the alerts."""
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    from fulfillment.models import JeopardyAlert
    from fulfillment.services.jeopardy import jeopardy_scan

    from .conftest import order_body, settle, submit

    numbers = []
    for i in range(n):
        body = order_body(
            f"{prefix}-{i}",
            lines=[{"source_line_id": "1", "sku": "PIANO-1", "quantity": "1"}],
            requested_delivery_date=in_days(10),
        )
        numbers.append(submit(Client(), world, body)["number"])
    settle()
    jeopardy_scan(now=timezone.now() + timedelta(days=9))
    return list(JeopardyAlert.objects.filter(order_number__in=numbers).order_by("pk"))
