"""Capture's configuration (defaulting and approval rules, screening lists, channel order policies,
hold codes, channel warehouse rankings) is cached per process: a change is seen by the next capture,
in this process and in another, and a steady-state capture reads none of it."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import ChannelWarehouse, Warehouse
from inventory.services import stock_receive
from orders.models import DefaultingRule, HoldCode, OrderHold, SalesOrder
from tests.factories.inventory import WarehouseFactory
from tests.factories.orders import (
    ApprovalRuleFactory,
    ChannelOrderPolicyFactory,
    EmbargoedCountryFactory,
    HoldCodeFactory,
    RestrictedPartyFactory,
)
from tests.support.services import ROOT, subprocess_env

from .conftest import ADDRESS, api_post, build_world, order_body

pytestmark = [pytest.mark.integration]

CACHED_TABLES = (
    "orders_defaultingrule",
    "orders_approvalrule",
    "orders_restrictedparty",
    "orders_embargoedcountry",
    "orders_channelorderpolicy",
    "orders_holdcode",
    "inventory_channelwarehouse",
    'inventory_warehouse"',  # the warehouses' own table (positions join it by another name)
)


class Capture:
    def __init__(self, client, world):
        self.client, self.world, self.n = client, world, 0

    def __call__(self, *, channel=None, **extra):
        self.n += 1
        key = (channel or self.world.web).key
        return api_post(self.client, "/api/v1/orders", order_body(f"R-{self.n}", **extra), key=key)

    def ok(self, **extra) -> dict:
        response = self(**extra)
        assert response.status_code == 201, response.content
        return response.json()


@pytest.fixture
def capture(client, world):
    return Capture(client, world)


def _blocked_ship_to(**changes) -> dict:
    return {**ADDRESS, "name": "Blocked Trading Co", **changes}


@pytest.mark.django_db
def test_a_defaulting_rule_added_changed_in_the_admin_or_deactivated_is_seen_by_the_next_capture(
    capture, admin_client
):
    assert capture.ok()["notes"] == ""
    rule = DefaultingRule.objects.create(field="notes", value="ground")
    assert capture.ok()["notes"] == "ground"
    url = reverse("admin:orders_defaultingrule_change", args=[rule.pk])
    form = {"field": "notes", "value": "express", "channel": "", "country": "", "active": "on"}
    assert admin_client.post(url, form).status_code == 302
    assert capture.ok()["notes"] == "express"
    rule.active = False
    rule.save()
    assert capture.ok()["notes"] == ""


@pytest.mark.django_db
def test_an_approval_rule_added_or_deleted_is_seen_by_the_next_capture(capture):
    assert capture.ok()["status"] == "open"
    rule = ApprovalRuleFactory(name="Over 100", threshold=Decimal("100"), threshold_currency="USD")
    assert capture.ok()["status"] == "pending_approval"
    rule.delete()
    assert capture.ok()["status"] == "open"


@pytest.mark.django_db
def test_restricted_parties_and_embargoes_changed_are_seen_by_the_next_capture(capture):
    assert capture.ok(ship_to=_blocked_ship_to())["holds"] == []
    party = RestrictedPartyFactory(name="Blocked Trading Co")
    assert [h["code"] for h in capture.ok(ship_to=_blocked_ship_to())["holds"]] == ["compliance"]
    party.name = "Someone Else Ltd"
    party.save()
    assert capture.ok(ship_to=_blocked_ship_to())["holds"] == []

    assert capture.ok(ship_to={**ADDRESS, "country": "KP"})["holds"] == []
    embargo = EmbargoedCountryFactory(country="KP", policy="hold")
    held = capture.ok(ship_to={**ADDRESS, "country": "KP"})
    assert held["holds"][0]["details"]["embargoed"] == ["KP"]
    embargo.policy = "reject"
    embargo.save()
    assert capture(ship_to={**ADDRESS, "country": "KP"}).status_code == 422


@pytest.mark.django_db
def test_a_channel_order_policy_created_and_changed_is_seen_by_the_next_capture(capture, world):
    RestrictedPartyFactory(name="Blocked Trading Co")
    assert capture(ship_to=_blocked_ship_to()).status_code == 201  # default policy: hold
    policy = ChannelOrderPolicyFactory(channel=world.web.channel, restricted_party_policy="reject")
    assert capture(ship_to=_blocked_ship_to()).status_code == 422
    assert capture(ship_to=_blocked_ship_to(), channel=world.other).status_code == 201  # not its policy
    policy.restricted_party_policy = "hold"
    policy.save()
    assert capture(ship_to=_blocked_ship_to()).status_code == 201
    policy.delete()
    assert capture(ship_to=_blocked_ship_to()).status_code == 201


@pytest.mark.django_db
def test_a_hold_code_deleted_and_created_again_is_the_one_the_next_hold_points_to(capture):
    RestrictedPartyFactory(name="Blocked Trading Co")
    first = HoldCodeFactory(code="compliance", name="Compliance", is_system=True)
    capture.ok(ship_to=_blocked_ship_to())
    assert set(OrderHold.objects.values_list("hold_code_id", flat=True)) == {first.pk}
    OrderHold.objects.all().delete()
    first.delete()
    capture.ok(ship_to=_blocked_ship_to())
    again = HoldCode.objects.get(code="compliance")
    assert again.pk != first.pk
    assert set(OrderHold.objects.values_list("hold_code_id", flat=True)) == {again.pk}


def _warehouse_of(data: dict) -> str:
    line = SalesOrder.objects.get(number=data["number"]).lines.get()
    return Warehouse.objects.get(pk=line.warehouse_id).code


@pytest.mark.django_db
def test_channel_rankings_and_warehouse_flags_changed_are_seen_by_the_next_capture(capture, world):
    west = WarehouseFactory(code="wh-west")
    stock_receive(product_id=world.drill.pk, warehouse_id=west.pk, quantity=500, reference="seed")
    assert _warehouse_of(capture.ok()) == "wh-east"  # the only one ranked
    ranking = ChannelWarehouse.objects.create(channel=world.web.channel, warehouse=west, rank=0)
    assert _warehouse_of(capture.ok()) == "wh-west"  # ranked first now
    west.active = False
    west.save()
    assert _warehouse_of(capture.ok()) == "wh-east"  # passed over while inactive
    west.active = True
    west.save()
    assert _warehouse_of(capture.ok()) == "wh-west"
    ranking.delete()
    assert _warehouse_of(capture.ok()) == "wh-east"


@pytest.mark.django_db
def test_a_steady_state_capture_reads_no_cached_configuration(capture, world):
    """Rules of every kind present, a restricted party hit (policy and hold code needed), a
    default applied, an approval rule checked and a reservation over a ranking: all from cache."""
    RestrictedPartyFactory(name="Blocked Trading Co")
    EmbargoedCountryFactory(country="KP", policy="hold")
    ChannelOrderPolicyFactory(channel=world.web.channel, restricted_party_policy="hold")
    ApprovalRuleFactory(name="Over a million", threshold=Decimal("1000000"), threshold_currency="USD")
    DefaultingRule.objects.create(field="notes", value="ground")
    capture.ok(ship_to=_blocked_ship_to())  # creates the system hold code (a change: reloaded)
    capture.ok(ship_to=_blocked_ship_to())  # loads every cache
    with CaptureQueriesContext(connection) as queries:
        data = capture.ok(ship_to=_blocked_ship_to())
    assert data["notes"] == "ground" and data["holds"][0]["code"] == "compliance"
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if any(table in s for table in CACHED_TABLES)], "\n".join(sql)
    assert sum("kernel_referencedataversion" in s for s in sql) == 1


def _ask(probe: subprocess.Popen, key: str, body: dict) -> dict:
    probe.stdin.write(json.dumps({"key": key, "body": body}) + "\n")
    probe.stdin.flush()
    line = probe.stdout.readline()
    assert line, probe.stderr.read()
    return json.loads(line)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_rule_changed_in_the_admin_is_seen_by_another_process_on_its_next_capture(admin_client):
    world = build_world()
    probe = subprocess.Popen(
        [sys.executable, "-m", "tests.support.capture_probe"],
        cwd=ROOT,
        env=subprocess_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = _ask(probe, world.web.key, order_body("P-1"))
        assert first["status"] == 201, first
        assert first["body"]["notes"] == ""  # the other process has loaded its cache
        assert _ask(probe, world.web.key, order_body("P-2"))["body"]["notes"] == ""

        url = reverse("admin:orders_defaultingrule_add")
        form = {"field": "notes", "value": "courier", "channel": "", "country": "", "active": "on"}
        assert admin_client.post(url, form).status_code == 302

        after = _ask(probe, world.web.key, order_body("P-3"))
        assert after["status"] == 201, after
        assert after["body"]["notes"] == "courier"
    finally:
        probe.stdin.close()
        probe.wait(timeout=30)
