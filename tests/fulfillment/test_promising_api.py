"""POST /api/v1/promise lists options for an order draft and writes nothing; choosing one reserves
exactly it; a stale option is refused with 409 and fresh options; bad lines are named."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.test import Client
from django.utils import timezone

from fulfillment.models import SourcingRule, SourcingRuleSource
from inventory.models import Demand, Reservation, StockPosition, Warehouse
from inventory.services import (
    PurchaseLineInput,
    purchase_order_create,
    purchase_order_transition,
    stock_receive,
)
from tests.factories.catalog import ProductFactory

from .conftest import SHIP_TO, post

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

URL, CHOOSE = "/api/v1/promise", "/api/v1/promise/choose"


@pytest.fixture
def pworld(fworld):
    lamp = ProductFactory(sku="LAMP-1", tax_class=fworld.tax, primary_supplier=fworld.supplier)
    stock_receive(product_id=lamp.pk, warehouse_id=fworld.east.pk, quantity=3, reference="seed")
    stock_receive(product_id=lamp.pk, warehouse_id=fworld.west.pk, quantity=2, reference="seed")
    po = purchase_order_create(
        supplier_id=fworld.supplier.pk,
        warehouse_id=fworld.west.pk,
        lines=[PurchaseLineInput(product_id=lamp.pk, quantity=Decimal(10))],
        lead_time_days=8,
    )
    purchase_order_transition(purchase_order_id=po.pk, target="approved")
    rule = SourcingRule.objects.create(
        name="US", country="US", effective_from=timezone.localdate() - timedelta(days=1)
    )
    for rank, (wh, transit, lead, cost, unit) in enumerate(
        [
            (fworld.east, 1, 0, "6", "0"),
            (fworld.west, 4, 0, "9", "0"),
            (fworld.supplier_site, 2, 4, "15", "11"),
        ],
        start=1,
    ):
        SourcingRuleSource.objects.create(
            rule=rule, rank=rank, warehouse=wh, transit_days=transit, lead_time_days=lead,
            shipping_cost=Decimal(cost), unit_cost=Decimal(unit),
        )  # fmt: skip
    fworld.lamp = lamp
    return fworld


def _body(lines=None, **extra) -> dict:
    return {"ship_to": SHIP_TO, "lines": lines or [{"key": "L1", "sku": "LAMP-1", "quantity": "5"}], **extra}


def _counts() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in apps.get_models() if not m._meta.proxy}


def _warm(world) -> None:
    # The first API call of a process creates the reference-data version rows it reads (channel
    # keys, policies: oms.kernel.refcache), whatever it calls; promising itself writes nothing.
    post(Client(), URL, _body([{"sku": "DRILL-1", "quantity": "1"}]), world.web.key)


def test_options_are_several_and_writing_nothing(pworld):
    _warm(pworld)
    before = _counts()
    resp = post(Client(), URL, _body(), pworld.web.key)
    assert resp.status_code == 200, resp.content
    options = resp.json()["options"]
    assert _counts() == before  # every table's row count unchanged
    by_kind = {o["kind"]: o for o in options}
    assert len(options) >= 3 and len({o["option_id"] for o in options}) == len(options)
    split = by_kind["best"]["lines"][0]
    assert [(p["warehouse"], p["quantity"], p["mode"]) for p in split["pieces"]] == [
        ("wh-east", "3.0000", "warehouse"),
        ("wh-west", "2.0000", "warehouse"),
    ]
    today = timezone.localdate()
    single = by_kind["single"]["lines"][0]["pieces"]
    assert [(p["warehouse"], p["mode"], p["scheduled_ship_date"]) for p in single] == [
        ("wh-west", "backorder", (today + timedelta(days=8)).isoformat())
    ]
    fastest = by_kind["fastest"]["lines"][0]["pieces"][0]
    assert (fastest["warehouse"], fastest["mode"]) == ("acme-supply", "drop_ship")
    assert fastest["scheduled_arrival_date"] == (today + timedelta(days=6)).isoformat()
    assert by_kind["fastest"]["cost"] == "70.0000"  # 15 shipping + 5 x 11
    assert by_kind["best"]["lines"][0]["trace"][0] == "rule 'US' (country) matched"


def test_choosing_an_option_reserves_exactly_it(pworld):
    client = Client()
    options = post(client, URL, _body(), pworld.web.key).json()["options"]
    split = next(o for o in options if o["kind"] == "best")
    resp = post(client, CHOOSE, _body(option_id=split["option_id"], reference="cart-7"), pworld.web.key)
    assert resp.status_code == 200, resp.content
    reserved = {
        (r.position.warehouse.code, r.quantity, r.demand_id)
        for r in Reservation.objects.select_related("position__warehouse")
    }
    assert reserved == {("wh-east", Decimal(3), "cart-7:L1:0"), ("wh-west", Decimal(2), "cart-7:L1:1")}
    assert sorted(resp.json()["reservations"]) == sorted(Reservation.objects.values_list("pk", flat=True))
    assert {p.warehouse.code: p.reserved for p in StockPosition.objects.filter(product=pworld.lamp)} == {
        "wh-east": Decimal(3),
        "wh-west": Decimal(2),
    }


def test_choosing_a_later_single_source_books_a_dated_back_order_and_no_stock(pworld):
    client = Client()
    options = post(client, URL, _body(), pworld.web.key).json()["options"]
    single = next(o for o in options if o["kind"] == "single")
    assert post(client, CHOOSE, _body(option_id=single["option_id"]), pworld.web.key).status_code == 200
    demand = Demand.objects.get()
    assert demand.quantity == 5 and demand.need_date == timezone.localdate() + timedelta(days=8)
    assert not Reservation.objects.exists()


def test_a_source_gone_inactive_gets_409_with_fresh_options_and_nothing_reserved(pworld):
    client = Client()
    options = post(client, URL, _body(), pworld.web.key).json()["options"]
    split = next(o for o in options if o["kind"] == "best")
    Warehouse.objects.filter(pk=pworld.east.pk).update(active=False)
    resp = post(client, CHOOSE, _body(option_id=split["option_id"]), pworld.web.key)
    assert resp.status_code == 409, resp.content
    body = resp.json()
    assert body["code"] == "stale_option" and body["options"]
    assert split["option_id"] not in {o["option_id"] for o in body["options"]}
    assert "wh-east passed over: inactive" in body["options"][0]["lines"][0]["trace"]
    assert not Reservation.objects.exists() and not Demand.objects.exists()


def test_stock_taken_by_someone_else_gets_409_with_fresh_options(pworld):
    client = Client()
    options = post(client, URL, _body(), pworld.web.key).json()["options"]
    split = next(o for o in options if o["kind"] == "best")
    from inventory.services import ReserveLine, stock_reserve

    stock_reserve(lines=[ReserveLine(pworld.lamp.pk, pworld.west.pk, Decimal(1), "order_line", "x")])
    resp = post(client, CHOOSE, _body(option_id=split["option_id"]), pworld.web.key)
    assert resp.status_code == 409 and resp.json()["options"]
    assert Reservation.objects.count() == 1  # only the other order's


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([{"sku": "LAMP-1", "quantity": "1"}, {"sku": "NOPE-9", "quantity": "1"}], "lines[1].sku"),
        ([{"sku": "LAMP-1", "quantity": "0"}], "lines[0].quantity"),
        ([{"sku": "LAMP-1", "quantity": "-2"}], "lines[0].quantity"),
        ([{"sku": "LAMP-1", "quantity": "1", "need_date": "9999-12-31"}], "lines[0].need_date"),
    ],
)
def test_an_unknown_sku_or_a_zero_quantity_is_a_400_naming_the_line(pworld, lines, field):
    _warm(pworld)
    before = _counts()
    for url, extra in ((URL, {}), (CHOOSE, {"option_id": "x"})):
        resp = post(Client(), url, _body(lines, **extra), pworld.web.key)
        assert resp.status_code == 400, resp.content
        assert field in resp.json()["fields"]
    assert _counts() == before


def test_the_promise_read_is_one_query_whatever_the_number_of_lines(pworld, django_assert_max_num_queries):
    from fulfillment.promising.services import PromiseDraft, lines_validate, promise_options

    skus = []
    for i in range(20):
        p = ProductFactory(sku=f"P-{i}", tax_class=pworld.tax)
        stock_receive(product_id=p.pk, warehouse_id=pworld.east.pk, quantity=5, reference="seed")
        skus.append(p.sku)
    draft = PromiseDraft(ship_to=SHIP_TO, lines=lines_validate([{"sku": s, "quantity": "2"} for s in skus]))
    promise_options(draft=draft)  # the reference is cached after the first read
    with django_assert_max_num_queries(1):
        options = promise_options(draft=draft)
    assert options[0].lines[19].pieces[0].warehouse_code == "wh-east"


def test_staff_override_the_promised_date_with_a_reason_audited_and_told(fworld, admin_client):
    import json as _json

    from fulfillment.models import FulfillmentEvent, FulfillmentLine, LinePromise
    from oms.kernel.models import OutboxEvent

    from .conftest import order_body, settle, submit

    number = submit(Client(), fworld, order_body())["number"]
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    url = f"/api/v1/orders/{number}/fulfillment/lines/{fl.pk}/promise"
    day = timezone.localdate() + timedelta(days=12)
    refused = admin_client.post(url, _json.dumps({"promised_date": day.isoformat(), "reason": " "}),
                                content_type="application/json")  # fmt: skip
    assert refused.status_code == 400 and "reason" in refused.json()["fields"]
    assert (
        post(Client(), url, {"promised_date": day.isoformat(), "reason": "x"}, fworld.web.key).status_code
        == 403
    )
    body = {"promised_date": day.isoformat(), "reason": "customer asked", "warehouse": "wh-west"}
    moved = admin_client.post(url, _json.dumps(body), content_type="application/json")
    assert moved.status_code == 409  # reserved: a source moves through a what-if
    resp = admin_client.post(url, _json.dumps({"promised_date": day.isoformat(), "reason": "customer asked"}),
                             content_type="application/json")  # fmt: skip
    assert resp.status_code == 200, resp.content
    fl.refresh_from_db()
    assert fl.promised_date == day
    assert LinePromise.objects.get(fulfillment_line=fl).trace[-1].endswith(": customer asked")
    event = FulfillmentEvent.objects.get(kind="promise_overridden")
    assert event.data == {"reason": "customer asked"} and event.actor.startswith("user:")
    told = OutboxEvent.objects.get(topic="order.promise_changed")
    assert told.payload["lines"][0]["promised_date"] == day.isoformat()
