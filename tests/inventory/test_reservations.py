from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from customers.models import DemandClass
from inventory.errors import WarehouseInactive
from inventory.models import (
    ChannelWarehouse,
    Demand,
    MovementKind,
    Reservation,
    StockPosition,
)
from inventory.selectors import channel_warehouse_ids
from inventory.services import (
    ReserveLine,
    backorder_cancel,
    backorder_create,
    reservation_consume,
    reservation_move,
    reservation_release,
    stock_receive,
    stock_reserve,
    stock_reserve_ranked,
)
from inventory.states import RESERVATION_TRANSITIONS, ReservationStatus
from oms.kernel.exceptions import IllegalTransition, InsufficientStock, ValidationFailed
from oms.kernel.models import OutboxEvent
from partners.models import Channel, ChannelType
from tests.factories.inventory import WarehouseFactory
from tests.inventory.conftest import ledger_sum

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _line(product, warehouse, qty, ref="1") -> ReserveLine:
    return ReserveLine(product.pk, warehouse.pk, Decimal(qty), "order_line", ref)


def _pos(product, warehouse) -> StockPosition:
    return StockPosition.objects.get(product=product, warehouse=warehouse)


def test_all_or_nothing_reserves_every_line_or_none(stocked, warehouse):
    a, b = stocked(2, qty=5)
    result = stock_reserve(lines=[_line(a, warehouse, 3), _line(b, warehouse, 5)])
    assert result.complete and [r.quantity for r in result.reservations] == [3, 5]
    assert _pos(a, warehouse).reserved == 3 and _pos(b, warehouse).reserved == 5
    with pytest.raises(InsufficientStock) as err:
        stock_reserve(lines=[_line(a, warehouse, 2, "2"), _line(b, warehouse, 1, "2")])
    assert err.value.fields == {"lines[1].quantity": ["Not enough stock available."]}
    assert err.value.message == "Not enough stock for every line."
    assert _pos(a, warehouse).reserved == 3  # the line that fitted was rolled back too
    assert Reservation.objects.count() == 2


def test_partial_mode_keeps_what_fits_and_reports_the_shortfall(stocked, warehouse):
    a, b = stocked(2, qty=5)
    result = stock_reserve(
        lines=[_line(a, warehouse, 4), _line(b, warehouse, 6), _line(a, warehouse, 1)], allow_partial=True
    )
    assert [s.index for s in result.shortfalls] == [1]
    assert result.shortfalls[0].requested == 6
    # The shortfall names what the caller back-orders: the product and the warehouse.
    assert (result.shortfalls[0].product_id, result.shortfalls[0].warehouse_id) == (b.pk, warehouse.pk)
    assert result.reservations[1] is None
    assert _pos(a, warehouse).reserved == 5 and _pos(b, warehouse).reserved == 0
    assert Reservation.objects.count() == 2


def test_a_reservation_keeps_its_demand_its_class_and_its_need_date(stocked, warehouse):
    (a,) = stocked(1, qty=5)
    need = date(2026, 7, 1)
    lines = [
        ReserveLine(a.pk, warehouse.pk, Decimal(2), "transfer_line", "T-9", DemandClass.PRIORITY, need),
        ReserveLine(a.pk, warehouse.pk, Decimal(1), "order_line", "42"),
    ]
    stock_reserve(lines=lines)
    stored = Reservation.objects.order_by("pk").values_list(
        "position__product_id",
        "position__warehouse_id",
        "quantity",
        "demand_type",
        "demand_id",
        "demand_class",
        "need_date",
    )
    assert list(stored) == [
        (a.pk, warehouse.pk, Decimal(2), "transfer_line", "T-9", "priority", need),
        (a.pk, warehouse.pk, Decimal(1), "order_line", "42", "standard", None),
    ]


def test_an_update_that_disagrees_with_the_locked_rows_reserves_nothing(stocked, warehouse, monkeypatch):
    """The safety net: should the conditional UPDATE find less than the locked rows showed, the
    whole reservation is given up inside the transaction (which must then roll back)."""
    from inventory.services import reservations

    (a,) = stocked(1, qty=5)
    monkeypatch.setattr(reservations, "_reserve_positions", lambda totals: set())
    with pytest.raises(InsufficientStock) as err, transaction.atomic():
        stock_reserve(lines=[_line(a, warehouse, 2)])
    assert err.value.message == "Stock changed under a lock; nothing is reserved."
    assert not Reservation.objects.exists() and _pos(a, warehouse).reserved == 0


def test_lines_on_the_same_position_add_up(stocked, warehouse):
    (a,) = stocked(1, qty=5)
    with pytest.raises(InsufficientStock):
        stock_reserve(lines=[_line(a, warehouse, 3), _line(a, warehouse, 3)])
    assert _pos(a, warehouse).reserved == 0


@pytest.mark.postgres
@pytest.mark.parametrize("n", [1, 10, 100])
def test_reserving_1_10_or_100_lines_costs_the_same_queries(stocked, warehouse, django_assert_num_queries, n):
    products = stocked(n, qty=3)
    lines = [_line(p, warehouse, 2, str(i)) for i, p in enumerate(products)]
    # lock positions, one UPDATE ... FROM (VALUES ...), one bulk INSERT: no savepoint
    with django_assert_num_queries(3):
        result = stock_reserve(lines=lines)
    assert result.complete and Reservation.objects.count() == n
    assert all(p.reserved == 2 for p in StockPosition.objects.all())


@pytest.mark.postgres
def test_a_refusal_is_decided_under_the_locks_before_any_write(stocked, warehouse, django_assert_num_queries):
    a, b = stocked(2, qty=3)
    with transaction.atomic():
        # Only the lock: the short line is seen on the locked rows, so nothing is written and the
        # caller's transaction goes on without a savepoint to roll back to.
        with django_assert_num_queries(1), pytest.raises(InsufficientStock):
            stock_reserve(lines=[_line(a, warehouse, 2, "1"), _line(b, warehouse, 4, "2")])
        result = stock_reserve(lines=[_line(a, warehouse, 2, "3")])
    assert result.complete
    assert _pos(a, warehouse).reserved == 2 and _pos(b, warehouse).reserved == 0
    assert list(Reservation.objects.values_list("demand_id", flat=True)) == ["3"]


@pytest.mark.postgres
def test_a_single_ranked_warehouse_reserves_without_savepoints(stocked, warehouse, django_assert_num_queries):
    a, b = stocked(2, qty=3)
    with django_assert_num_queries(3):
        served, result = stock_reserve_ranked(
            lines=[_line(a, warehouse, 1, "1"), _line(b, warehouse, 1, "2")], warehouse_ids=[warehouse.pk]
        )
    assert served == warehouse.pk and result.complete


def test_reserving_from_an_inactive_warehouse_is_refused(stocked, warehouse):
    (a,) = stocked(1)
    warehouse.active = False
    warehouse.save()
    with pytest.raises(WarehouseInactive):
        stock_reserve(lines=[_line(a, warehouse, 1)])
    assert not Reservation.objects.exists() and _pos(a, warehouse).reserved == 0


def test_a_refusal_for_inactive_warehouses_names_each_of_them(stocked, warehouse):
    north, south = WarehouseFactory(code="WH-N"), WarehouseFactory(code="WH-S")
    (a,) = stocked(1, at=north)
    stock_receive(product_id=a.pk, warehouse_id=south.pk, quantity=Decimal(5), reference="OPEN")
    stock_receive(product_id=a.pk, warehouse_id=warehouse.pk, quantity=Decimal(5), reference="OPEN")
    for closed in (south, north):
        closed.active = False
        closed.save()
    lines = [_line(a, south, 1, "1"), _line(a, warehouse, 1, "2"), _line(a, north, 1, "3")]
    with pytest.raises(WarehouseInactive) as err:
        stock_reserve(lines=lines, allow_partial=True)
    assert err.value.message == "Warehouse(s) WH-N, WH-S are not active."
    assert err.value.fields == {"warehouse": ["WH-N", "WH-S"]}
    assert not Reservation.objects.exists()


@pytest.mark.parametrize("qty", ["0", "-1", "NaN"])
def test_reserving_a_non_positive_quantity_is_refused(stocked, warehouse, qty):
    (a,) = stocked(1)
    with pytest.raises(ValidationFailed) as err:
        stock_reserve(lines=[_line(a, warehouse, 1, "1"), _line(a, warehouse, qty, "2")])
    assert list(err.value.fields) == ["lines[1].quantity"]  # the refused line, by its index
    assert not Reservation.objects.exists()


@pytest.mark.parametrize(("demand_type", "demand_id"), [("", "7"), ("order_line", ""), ("", "")])
def test_a_line_without_its_demand_type_or_id_is_refused(stocked, warehouse, demand_type, demand_id):
    (a,) = stocked(1)
    lines = [_line(a, warehouse, 1), ReserveLine(a.pk, warehouse.pk, Decimal(1), demand_type, demand_id)]
    with pytest.raises(ValidationFailed) as err:
        stock_reserve(lines=lines)
    assert err.value.message == "Each line needs its demand reference."
    assert err.value.fields == {"lines[1]": ["demand"]}
    assert not Reservation.objects.exists()


def test_release_consume_and_the_transition_table(stocked, warehouse):
    (a,) = stocked(1, qty=10)
    r1, r2 = stock_reserve(lines=[_line(a, warehouse, 4, "1"), _line(a, warehouse, 3, "2")]).reservations
    reservation_release(reservation_ids=[r1.pk])
    reservation_consume(reservation_ids=[r2.pk], reference="SHP-1")
    pos = _pos(a, warehouse)
    assert (pos.on_hand, pos.reserved) == (7, 0) and ledger_sum(pos) == 7
    assert pos.movements.filter(kind=MovementKind.SHIPMENT).get().quantity == -3
    for done in (r1, r2):
        for target in ReservationStatus.values:
            assert target not in RESERVATION_TRANSITIONS[Reservation.objects.get(pk=done.pk).status]
            with pytest.raises(IllegalTransition):
                (reservation_release if target == "released" else reservation_consume)(
                    **{"reservation_ids": [done.pk], **({"reference": "x"} if target != "released" else {})}
                )


def test_move_reserves_at_the_new_warehouse_and_frees_the_old(stocked, warehouse):
    other = WarehouseFactory()
    (a,) = stocked(1, qty=5)
    stock_receive(product_id=a.pk, warehouse_id=other.pk, quantity=2, reference="R")
    (r,) = stock_reserve(lines=[_line(a, warehouse, 2)]).reservations
    reservation_move(reservation_id=r.pk, warehouse_id=other.pk)
    assert _pos(a, warehouse).reserved == 0 and _pos(a, other).reserved == 2
    (r2,) = stock_reserve(lines=[_line(a, warehouse, 1, "2")]).reservations
    with pytest.raises(InsufficientStock):
        reservation_move(reservation_id=r2.pk, warehouse_id=other.pk)
    assert _pos(a, warehouse).reserved == 1 and _pos(a, other).reserved == 2


def test_ranked_reservation_takes_the_first_warehouse_with_everything(stocked, warehouse):
    near, far = WarehouseFactory(), WarehouseFactory()
    a, b = stocked(2, qty=5, at=far)
    stock_receive(product_id=a.pk, warehouse_id=near.pk, quantity=5, reference="R")  # near lacks b
    channel = Channel.objects.create(code="web", name="Web", type=ChannelType.WEB)
    ChannelWarehouse.objects.create(channel=channel, warehouse=near, rank=1)
    ChannelWarehouse.objects.create(channel=channel, warehouse=far, rank=2)
    ChannelWarehouse.objects.create(channel=channel, warehouse=warehouse, rank=3)
    ranking = channel_warehouse_ids(channel_id=channel.pk)
    assert ranking == [near.pk, far.pk, warehouse.pk]
    served, result = stock_reserve_ranked(lines=[_line(a, near, 2), _line(b, near, 2)], warehouse_ids=ranking)
    assert served == far.pk and result.complete
    assert _pos(a, near).reserved == 0 and _pos(a, far).reserved == 2
    with pytest.raises(InsufficientStock):
        stock_reserve_ranked(lines=[_line(b, near, 9)], warehouse_ids=ranking)
    far.active = False
    far.save()  # an inactive warehouse in the ranking is passed over
    served, _ = stock_reserve_ranked(lines=[_line(a, near, 1, "3")], warehouse_ids=[far.pk, near.pk])
    assert served == near.pk and _pos(a, far).reserved == 2 and _pos(a, near).reserved == 1


def test_a_receipt_lets_a_backorder_reserve_and_publishes_stock_received(warehouse):
    from tests.factories.catalog import ProductFactory

    a = ProductFactory()
    standard = backorder_create(demand_type="order_line", demand_id="7", product_id=a.pk, quantity=3)
    strategic = backorder_create(
        demand_type="order_line", demand_id="8", product_id=a.pk, quantity=2, demand_class="strategic"
    )
    pos = stock_receive(product_id=a.pk, warehouse_id=warehouse.pk, quantity=4, reference="PO-9")
    standard.refresh_from_db()
    strategic.refresh_from_db()
    # the strategic back-order goes first; the standard one (3) does not fit in what is left (2)
    assert (strategic.status, standard.status) == ("reserved", "open")
    assert pos.reserved == 2 and strategic.reservation.position_id == pos.pk
    event = OutboxEvent.objects.get(topic="stock.received")
    assert event.payload["reserved_backorders"][0]["demand_id"] == "8"


def test_only_an_open_backorder_can_be_canceled_and_a_canceled_one_never_reserves(warehouse):
    from tests.factories.catalog import ProductFactory

    a = ProductFactory()
    waiting = backorder_create(demand_type="order_line", demand_id="7", product_id=a.pk, quantity=2)
    served = backorder_create(demand_type="order_line", demand_id="8", product_id=a.pk, quantity=1)
    assert backorder_cancel(demand_id=waiting.pk).status == "canceled"
    assert Demand.objects.get(pk=waiting.pk).status == "canceled"
    with pytest.raises(ValidationFailed) as again:
        backorder_cancel(demand_id=waiting.pk)
    assert again.value.message == "Only an open back-order can be canceled."
    pos = stock_receive(product_id=a.pk, warehouse_id=warehouse.pk, quantity=5, reference="PO-1")
    assert pos.reserved == 1  # the canceled back-order took nothing; the open one reserved
    assert Demand.objects.get(pk=served.pk).status == "reserved"
    with pytest.raises(ValidationFailed):
        backorder_cancel(demand_id=served.pk)
    assert Demand.objects.get(pk=served.pk).status == "reserved"


def test_move_refuses_an_unknown_or_inactive_reservation_and_a_short_warehouse_and_says_why(
    stocked, warehouse, django_assert_num_queries
):
    from oms.kernel.exceptions import NotFound

    other = WarehouseFactory()
    (a,) = stocked(1, qty=5)
    stock_receive(product_id=a.pk, warehouse_id=other.pk, quantity=3, reference="R")
    with pytest.raises(NotFound) as unknown:
        reservation_move(reservation_id=0, warehouse_id=other.pk)
    assert unknown.value.message == "Unknown reservation."
    (r,) = stock_reserve(lines=[_line(a, warehouse, 4)]).reservations
    with pytest.raises(InsufficientStock) as short:
        reservation_move(reservation_id=r.pk, warehouse_id=other.pk)
    assert short.value.message == "Not enough stock at the new warehouse."
    reservation_release(reservation_ids=[r.pk])
    with pytest.raises(ValidationFailed) as inactive:
        reservation_move(reservation_id=r.pk, warehouse_id=other.pk)
    assert inactive.value.message == "Only an active reservation can move."
    assert inactive.value.fields == {"status": ["released"]}
    assert (_pos(a, warehouse).reserved, _pos(a, other).reserved) == (0, 0)
    (r2,) = stock_reserve(lines=[_line(a, warehouse, 2, "2")]).reservations
    # the reservation is read with its position in one locked query
    with django_assert_num_queries(8):
        reservation_move(reservation_id=r2.pk, warehouse_id=other.pk)
    assert (_pos(a, warehouse).reserved, _pos(a, other).reserved) == (0, 2)
