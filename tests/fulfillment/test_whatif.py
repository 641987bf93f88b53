"""What-if on a fulfillment line: the alternatives with their expected dates and extra costs,
listed without writing anything (every table's row count unchanged); applying one reserves
exactly it and replans; bad input (unknown option, stale option, another channel's order) is a
clear 4xx that changes nothing."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from fulfillment.models import (
    ChangeCostRule,
    FulfillmentEvent,
    FulfillmentLine,
    ProcessInstance,
    ProductSupply,
    Shipment,
)
from fulfillment.services.whatif import whatif_options
from fulfillment.states import ChangeCostKind as K
from fulfillment.states import FulfillmentLineStatus as FLS
from fulfillment.states import FulfillmentMode, ProcessStatus
from inventory.models import Reservation, StockPosition, Transfer
from inventory.services import TransferLineInput, stock_adjust, transfer_create
from orders.models import ChannelOrderPolicy, ShortagePolicy
from tests.orders.conftest import make_channel

from .conftest import WEST_SHIP_TO, order_body, post, settle, submit, wake_pauses

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _line(quantity: str, sku: str = "DRILL-1") -> dict:
    ship_date = (date.today() + timedelta(days=10)).isoformat()
    return {"source_line_id": "1", "sku": sku, "quantity": quantity, "requested_ship_date": ship_date}


def _awaiting_shipping(client, world, quantity="5", sku="DRILL-1") -> FulfillmentLine:
    number = submit(client, world, order_body(lines=[_line(quantity, sku)]))["number"]
    settle()
    wake_pauses()
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    assert fl.status == FLS.AWAITING_SHIPPING
    return fl


def _url(fl: FulfillmentLine) -> str:
    return f"/api/v1/orders/{fl.order_number}/fulfillment/lines/{fl.pk}/what-if"


def _apply(client, fl, key):
    return client.post(_url(fl), data=json.dumps({"option": key}), content_type="application/json")


def _row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608  (table names from the catalog)
            counts[table] = cursor.fetchone()[0]
    return counts


def _reserved(world, warehouse, sku="DRILL-1") -> Decimal:
    return StockPosition.objects.get(product=world.products[sku], warehouse=warehouse).reserved


def _rules(world) -> None:
    ChangeCostRule.objects.create(
        name="Cancel at east",
        kind=K.SHIPMENT_REQUEST_CANCEL,
        warehouse=world.east,
        fixed_amount=Decimal("15"),
    )
    ChangeCostRule.objects.create(
        name="Longer haul", kind=K.WAREHOUSE_CHANGE, warehouse=world.west, per_unit_amount=Decimal("1.25")
    )
    ChangeCostRule.objects.create(name="Second parcel", kind=K.EXTRA_SHIPMENT, fixed_amount=Decimal("7.99"))
    ChangeCostRule.objects.create(name="Drop-ship fee", kind=K.DROP_SHIP, percent_of_value=Decimal("5"))
    ChangeCostRule.objects.create(name="Express", kind=K.EXPEDITE_TRANSFER, fixed_amount=Decimal("40"))


def test_whatif_lists_alternatives_with_dates_and_costs_without_writing_anything(fworld, admin_client):
    _rules(fworld)
    ProductSupply.objects.create(
        product=fworld.products["SAW-1"],
        mode=FulfillmentMode.WAREHOUSE,
        supplier=fworld.supplier,
        supplier_warehouse=fworld.supplier_site,
        lead_time_days=3,
    )
    fl = _awaiting_shipping(Client(), fworld, "4", sku="SAW-1")
    before = _row_counts()
    resp = admin_client.get(_url(fl))
    listed = whatif_options(line=FulfillmentLine.objects.get(pk=fl.pk))
    assert _row_counts() == before  # every table: not one row more or less
    assert resp.status_code == 200, resp.content
    body = resp.json()
    options = {o["key"]: o for o in body["options"]}
    assert set(options) == {"move:wh-west", "drop_ship:acme-supply"} == {o.key for o in listed.options}
    assert body["only_option"] is False and body["message"] == "2 alternatives."
    move, drop = options["move:wh-west"], options["drop_ship:acme-supply"]
    # Moving: the east request is canceled (15) + 4 units x 1.25 for the longer haul.
    assert Decimal(move["extra_cost"]) == Decimal("20.00")
    assert [(p["warehouse"], Decimal(p["quantity"])) for p in move["parts"]] == [("wh-west", 4)]
    # Drop ship: the east request (15) + 5% of 4 x 33.33.
    assert Decimal(drop["extra_cost"]) == Decimal("21.67")
    assert move["expected_end"] and drop["expected_end"] and body["current_expected_end"]
    # The drop-ship process (72 h waiting for the supplier) ends after the warehouse's.
    assert drop["expected_end"] > move["expected_end"]


def test_choosing_another_warehouse_reserves_exactly_it_and_replans(fworld, admin_client):
    _rules(fworld)
    fl = _awaiting_shipping(Client(), fworld, "5")
    east_request = Shipment.objects.get(order_number=fl.order_number)
    assert _reserved(fworld, fworld.east) == 5
    resp = _apply(admin_client, fl, "move:wh-west")
    assert resp.status_code == 200, resp.content
    assert resp.json()["fulfillment_lines"] == [fl.pk]
    fl.refresh_from_db()
    reservation = Reservation.objects.get(pk=fl.reservation_id)
    assert (reservation.position.warehouse_id, reservation.quantity, reservation.status) == (
        fworld.west.pk,
        5,
        "active",
    )
    assert _reserved(fworld, fworld.east) == 0 and _reserved(fworld, fworld.west) == 5
    east_request.refresh_from_db()
    assert east_request.status == "canceled"
    process = ProcessInstance.objects.get(fulfillment_line=fl)
    assert process.planned_at is not None and process.status == ProcessStatus.RUNNING
    applied = FulfillmentEvent.objects.get(fulfillment_line=fl, kind="whatif_applied")
    assert applied.data["option"] == "move:wh-west" and Decimal(applied.data["extra_cost"]) == Decimal(
        "21.25"
    )
    settle()
    wake_pauses()
    settle()
    fl.refresh_from_db()
    assert fl.warehouse == fworld.west and fl.status == FLS.AWAITING_SHIPPING
    assert Shipment.objects.get(order_number=fl.order_number, status="requested").warehouse == fworld.west
    assert _reserved(fworld, fworld.west) == 5  # the re-run steps kept the chosen reservation


def test_a_split_reserves_each_part_where_it_was_chosen(fworld, admin_client):
    _rules(fworld)
    ChannelOrderPolicy.objects.update_or_create(
        channel=fworld.web.channel, defaults={"shortage_policy": ShortagePolicy.REJECT}
    )
    drill = fworld.products["DRILL-1"]
    stock_adjust(product_id=drill.pk, warehouse_id=fworld.east.pk, quantity=-97, reason="damaged")
    stock_adjust(product_id=drill.pk, warehouse_id=fworld.west.pk, quantity=-98, reason="damaged")
    number = submit(Client(), fworld, order_body(lines=[_line("5")]))["number"]
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    assert fl.status == FLS.BACKORDERED  # 3 at east, 2 at west: nobody has 5, no automatic split
    body = admin_client.get(_url(fl)).json()
    assert [o["key"] for o in body["options"]] == ["split:wh-east:3:wh-west:2"]
    assert body["only_option"] is True
    assert body["message"].startswith("Only one alternative: Split: 3 from")
    assert Decimal(body["options"][0]["extra_cost"]) == Decimal("7.99")
    resp = _apply(admin_client, fl, "split:wh-east:3:wh-west:2")
    assert resp.status_code == 200, resp.content
    first, second = (FulfillmentLine.objects.get(pk=pk) for pk in resp.json()["fulfillment_lines"])
    assert (first.quantity, second.quantity) == (3, 2)
    assert Reservation.objects.get(pk=first.reservation_id).position.warehouse_id == fworld.east.pk
    assert Reservation.objects.get(pk=second.reservation_id).position.warehouse_id == fworld.west.pk
    assert (_reserved(fworld, fworld.east), _reserved(fworld, fworld.west)) == (3, 2)
    settle()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.warehouse, second.warehouse) == (fworld.east, fworld.west)
    assert {first.status, second.status} <= {FLS.RESERVED, FLS.AWAITING_SHIPPING}


def test_a_drop_ship_cancels_the_warehouse_process_and_starts_the_drop_ship_one(fworld, admin_client):
    ProductSupply.objects.create(
        product=fworld.products["SAW-1"],
        mode=FulfillmentMode.WAREHOUSE,
        supplier=fworld.supplier,
        supplier_warehouse=fworld.supplier_site,
    )
    fl = _awaiting_shipping(Client(), fworld, "4", sku="SAW-1")
    resp = _apply(admin_client, fl, "drop_ship:acme-supply")
    assert resp.status_code == 200, resp.content
    old_id, new_id = resp.json()["fulfillment_lines"]
    settle()
    old, new = FulfillmentLine.objects.get(pk=old_id), FulfillmentLine.objects.get(pk=new_id)
    assert old.status == FLS.CANCELED and _reserved(fworld, fworld.east, "SAW-1") == 0
    assert new.mode == FulfillmentMode.DROP_SHIP and new.warehouse == fworld.supplier_site
    assert new.purchase_order is not None and new.purchase_order.kind == "drop_ship"
    assert new.process.definition.code == "drop-ship" and new.status == FLS.AWAITING_SHIPPING


def test_expediting_a_transfer_moves_its_arrival(fworld, admin_client):
    _rules(fworld)
    ChannelOrderPolicy.objects.update_or_create(
        channel=fworld.web.channel, defaults={"shortage_policy": ShortagePolicy.REJECT}
    )
    drill = fworld.products["DRILL-1"]
    stock_adjust(product_id=drill.pk, warehouse_id=fworld.east.pk, quantity=-100, reason="damaged")
    stock_adjust(product_id=drill.pk, warehouse_id=fworld.west.pk, quantity=-98, reason="damaged")
    transfer = transfer_create(
        from_warehouse_id=fworld.supplier_site.pk,
        to_warehouse_id=fworld.east.pk,
        lines=[TransferLineInput(product_id=drill.pk, quantity=Decimal(10))],
        expected_arrival=date.today() + timedelta(days=20),
    )
    number = submit(Client(), fworld, order_body(lines=[_line("5")]))["number"]
    settle()
    fl = FulfillmentLine.objects.get(order_number=number)
    body = admin_client.get(_url(fl)).json()
    assert [o["key"] for o in body["options"]] == [f"expedite:{transfer.pk}"]
    assert Decimal(body["options"][0]["extra_cost"]) == Decimal("40.00")
    assert _apply(admin_client, fl, f"expedite:{transfer.pk}").status_code == 200
    transfer.refresh_from_db()
    assert date.today() < transfer.expected_arrival <= date.today() + timedelta(days=4)


def test_a_line_with_no_alternative_says_so(fworld, admin_client):
    drill = fworld.products["DRILL-1"]
    stock_adjust(product_id=drill.pk, warehouse_id=fworld.west.pk, quantity=-98, reason="damaged")
    fl = _awaiting_shipping(Client(), fworld, "5")
    body = admin_client.get(_url(fl)).json()
    assert body["options"] == [] and body["message"].startswith("No alternative")


@pytest.mark.parametrize("key", ["teleport:wh-west", "move:", "", "split:wh-east:x:wh-west:2"])
def test_an_unknown_option_is_a_400_and_changes_nothing(fworld, admin_client, key):
    fl = _awaiting_shipping(Client(), fworld, "5")
    before = _row_counts()
    resp = _apply(admin_client, fl, key)
    assert resp.status_code == 400, resp.content
    assert resp.json()["code"] in ("validation_failed",) and "option" in resp.json()["fields"]
    assert _row_counts() == before


def test_a_stale_option_is_a_409_and_changes_nothing(fworld, admin_client):
    fl = _awaiting_shipping(Client(), fworld, "5")
    assert "move:wh-west" in [o["key"] for o in admin_client.get(_url(fl)).json()["options"]]
    # Meanwhile another order takes most of the west's stock.
    submit(Client(), fworld, order_body(source="F-2", lines=[_line("97")], ship_to=WEST_SHIP_TO))
    settle()
    before = _row_counts()
    resp = _apply(admin_client, fl, "move:wh-west")
    assert resp.status_code == 409, resp.content
    assert "no longer available" in resp.json()["message"]
    assert _row_counts() == before
    fl.refresh_from_db()
    assert fl.warehouse == fworld.east and _reserved(fworld, fworld.east) == 5


def test_another_channels_order_is_a_404_and_a_channel_cannot_apply(fworld):
    fl = _awaiting_shipping(Client(), fworld, "5")
    other = make_channel("pos", warehouses=[fworld.east])
    client = Client()
    resp = client.get(_url(fl), HTTP_AUTHORIZATION=f"Api-Key {other.key}")
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"
    resp = post(client, _url(fl), {"option": "move:wh-west"}, other.key)
    assert resp.status_code in (403, 404)
    own = client.get(_url(fl), HTTP_AUTHORIZATION=f"Api-Key {fworld.web.key}")
    assert own.status_code == 200
    resp = post(client, _url(fl), {"option": "move:wh-west"}, fworld.web.key)
    assert resp.status_code == 403
    assert Reservation.objects.get(pk=fl.reservation_id).position.warehouse_id == fworld.east.pk
    assert Transfer.objects.count() == 0


def test_listing_alternatives_reads_in_a_bounded_number_of_queries(fworld, django_assert_max_num_queries):
    from django.test.utils import CaptureQueriesContext

    _rules(fworld)
    ProductSupply.objects.create(
        product=fworld.products["SAW-1"],
        mode=FulfillmentMode.WAREHOUSE,
        supplier=fworld.supplier,
        supplier_warehouse=fworld.supplier_site,
    )
    fl = _awaiting_shipping(Client(), fworld, "4", sku="SAW-1")
    line = FulfillmentLine.objects.select_related("order", "order_line", "warehouse", "product").get(pk=fl.pk)
    with CaptureQueriesContext(connection) as listed:
        options = whatif_options(line=line).options
    assert len(options) == 2
    # Rules, process, steps, stock, ranking, transfers, supply, the drop-ship process and one
    # calendar per warehouse: not one query per step or per rule.
    with django_assert_max_num_queries(len(listed.captured_queries)):
        whatif_options(line=line)
    assert len(listed.captured_queries) <= 24, [q["sql"][:80] for q in listed.captured_queries]


def test_pricing_a_revision_takes_the_same_queries_for_one_line_or_three(fworld):
    from django.test.utils import CaptureQueriesContext

    from orders.change_cost import change_cost_assess, change_request_for
    from orders.models import SalesOrder

    _rules(fworld)
    counts = []
    for source, skus in (("Q-1", ["DRILL-1"]), ("Q-3", ["DRILL-1", "SAW-1", "DRILL-1"])):
        lines = [{**_line("4", sku), "source_line_id": str(n)} for n, sku in enumerate(skus, start=1)]
        number = submit(Client(), fworld, order_body(source=source, lines=lines))["number"]
        settle()
        wake_pauses()
        settle()
        order = SalesOrder.objects.get(number=number, is_current=True)
        request = change_request_for(
            current=order, new_lines=[(str(n), Decimal(1), None) for n in range(1, len(skus) + 1)]
        )
        with CaptureQueriesContext(connection) as priced:
            cost = change_cost_assess(request)
        assert len(cost.items) == len(skus)  # each line's shipment request at east is canceled
        counts.append(len(priced.captured_queries))
    assert counts[0] == counts[1] <= 5, counts
