from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum

from inventory.models import AppendOnlyError, MovementKind, StockMovement, StockPosition
from inventory.selectors import positions_missing
from inventory.services import ReceiptLine, stock_receive, stock_receive_bulk
from oms.kernel.exceptions import ValidationFailed
from tests.factories.catalog import ProductFactory, UnitOfMeasureFactory
from tests.factories.inventory import WarehouseFactory

pytestmark = pytest.mark.integration


def _ledger_sum(position: StockPosition) -> Decimal:
    return position.movements.aggregate(total=Sum("quantity"))["total"] or Decimal(0)


@pytest.fixture
def product():
    return ProductFactory()


@pytest.fixture
def warehouse():
    return WarehouseFactory()


@pytest.mark.django_db
def test_on_hand_equals_the_sum_of_movements_after_receipts(warehouse, django_user_model):
    clerk = django_user_model.objects.create_user(username="clerk")
    product = ProductFactory(uom=UnitOfMeasureFactory(code="KG"))  # a measured unit: 3.5 kg
    stock_receive(product_id=product.pk, warehouse_id=warehouse.pk, quantity=Decimal("12"), reference="PO-1")
    position = stock_receive(
        product_id=product.pk, warehouse_id=warehouse.pk, quantity="3.5", reference="PO-2", actor=clerk
    )
    assert position.on_hand == Decimal("15.5") == _ledger_sum(position)
    assert StockPosition.objects.count() == 1
    movements = list(position.movements.order_by("pk"))
    assert [m.kind for m in movements] == [MovementKind.RECEIPT, MovementKind.RECEIPT]
    assert [m.reference for m in movements] == ["PO-1", "PO-2"]
    assert movements[1].user == clerk


@pytest.mark.django_db
@pytest.mark.parametrize("quantity", [Decimal("0"), Decimal("-1"), "NaN"])
def test_receipts_must_be_positive_and_write_nothing(product, warehouse, quantity):
    with pytest.raises(ValidationFailed):
        stock_receive(product_id=product.pk, warehouse_id=warehouse.pk, quantity=quantity, reference="PO-X")
    assert not StockPosition.objects.exists() and not StockMovement.objects.exists()


@pytest.mark.django_db
def test_database_refuses_negative_on_hand(product, warehouse):
    position = StockPosition.objects.create(product=product, warehouse=warehouse, on_hand=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockPosition.objects.filter(pk=position.pk).update(on_hand=Decimal("-1"))


@pytest.mark.django_db
def test_database_refuses_negative_reserved(product, warehouse):
    position = StockPosition.objects.create(product=product, warehouse=warehouse, on_hand=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockPosition.objects.filter(pk=position.pk).update(reserved=Decimal("-1"))


@pytest.mark.django_db
def test_database_refuses_over_reservation(product, warehouse):
    position = StockPosition.objects.create(product=product, warehouse=warehouse, on_hand=5)
    StockPosition.objects.filter(pk=position.pk).update(reserved=5)  # exactly all of it is fine
    with pytest.raises(IntegrityError), transaction.atomic():
        StockPosition.objects.filter(pk=position.pk).update(reserved=Decimal("5.0001"))


@pytest.mark.django_db
def test_one_position_per_product_and_warehouse(product, warehouse):
    StockPosition.objects.create(product=product, warehouse=warehouse)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockPosition.objects.create(product=product, warehouse=warehouse)


@pytest.mark.django_db
def test_movements_are_append_only(product, warehouse):
    position = stock_receive(product_id=product.pk, warehouse_id=warehouse.pk, quantity=1, reference="PO-1")
    movement = position.movements.get()
    movement.quantity = Decimal("100")
    with pytest.raises(AppendOnlyError):
        movement.save()
    with pytest.raises(AppendOnlyError):
        movement.delete()


@pytest.mark.django_db
def test_bulk_receive_matches_single_receipts_in_a_constant_number_of_queries(
    warehouse, django_assert_max_num_queries
):
    products = ProductFactory.create_batch(40, uom=UnitOfMeasureFactory(code="KG"))
    other = WarehouseFactory()
    existing = stock_receive(
        product_id=products[0].pk, warehouse_id=warehouse.pk, quantity=5, reference="PO-0"
    )
    lines = [
        ReceiptLine(p.pk, w.pk, Decimal(i + 1)) for i, p in enumerate(products) for w in (warehouse, other)
    ]
    lines.append(ReceiptLine(products[1].pk, other.pk, Decimal("0.5")))  # same pair twice adds up
    with django_assert_max_num_queries(8):
        positions = stock_receive_bulk(lines=lines, reference="SEED")
    assert len(positions) == 80
    existing.refresh_from_db()
    assert existing.on_hand == Decimal("6")
    for position in StockPosition.objects.all():
        assert position.on_hand == _ledger_sum(position)
    assert StockPosition.objects.get(product=products[1], warehouse=other).on_hand == Decimal("2.5")
    assert positions_missing(pairs=[(products[0].pk, warehouse.pk), (products[0].pk, 0)]) == [
        (products[0].pk, 0)
    ]


@pytest.mark.django_db
def test_bulk_receive_refuses_a_bad_line_and_writes_nothing(product, warehouse):
    lines = [ReceiptLine(product.pk, warehouse.pk, Decimal("3")), ReceiptLine(product.pk, warehouse.pk, 0)]
    with pytest.raises(ValidationFailed):
        stock_receive_bulk(lines=lines, reference="SEED")
    assert not StockPosition.objects.exists()


@pytest.mark.django_db
def test_bulk_receive_refuses_a_fraction_of_a_counted_unit_and_records_no_reason_unless_given(warehouse):
    each = ProductFactory(uom=UnitOfMeasureFactory(code="EA"))  # counted: no decimals
    kilo = ProductFactory(uom=UnitOfMeasureFactory(code="KG"))  # measured: 3 decimals
    lines = [
        ReceiptLine(kilo.pk, warehouse.pk, Decimal("1.5")),
        ReceiptLine(each.pk, warehouse.pk, Decimal("2.5")),
    ]
    with pytest.raises(ValidationFailed) as refused:
        stock_receive_bulk(lines=lines, reference="PO-7")
    assert list(refused.value.fields) == ["lines[1].quantity"]
    assert not StockPosition.objects.exists() and not StockMovement.objects.exists()
    stock_receive_bulk(lines=[ReceiptLine(each.pk, warehouse.pk, Decimal("2"))], reference="PO-8")
    movement = StockMovement.objects.get()
    assert (movement.reference, movement.reason, movement.quantity) == ("PO-8", "", Decimal("2"))


@pytest.mark.django_db
def test_bulk_receive_records_who_why_and_returns_the_new_on_hand(warehouse, django_user_model):
    from django.contrib.auth.models import AnonymousUser

    clerk = django_user_model.objects.create_user(username="clerk")
    product = ProductFactory()
    stock_receive(product_id=product.pk, warehouse_id=warehouse.pk, quantity=4, reference="PO-1")
    (position,) = stock_receive_bulk(
        lines=[ReceiptLine(product.pk, warehouse.pk, Decimal("3"))],
        reference="PO-2",
        actor=clerk,
        reason="count",
    )
    assert position.on_hand == Decimal("7") == StockPosition.objects.get(pk=position.pk).on_hand
    movement = StockMovement.objects.get(reference="PO-2")
    assert (movement.user, movement.reason, movement.kind) == (clerk, "count", MovementKind.RECEIPT)
    # an actor that is no saved user (a system job, an anonymous request) records no user
    stock_receive_bulk(
        lines=[ReceiptLine(product.pk, warehouse.pk, 1)], reference="PO-3", actor=AnonymousUser()
    )
    assert StockMovement.objects.get(reference="PO-3").user is None


@pytest.mark.django_db
def test_receive_takes_only_receipts_and_returns_and_records_no_reason_unless_given(product, warehouse):
    with pytest.raises(ValidationFailed) as err:
        stock_receive(
            product_id=product.pk,
            warehouse_id=warehouse.pk,
            quantity=Decimal(1),
            reference="R",
            kind="shipment",
        )
    assert err.value.message == "Receive records receipts and customer returns."
    assert err.value.fields == {"kind": ["shipment"]}
    assert not StockMovement.objects.exists()
    stock_receive(product_id=product.pk, warehouse_id=warehouse.pk, quantity=Decimal(2), reference="PO-1")
    stock_receive(
        product_id=product.pk,
        warehouse_id=warehouse.pk,
        quantity=Decimal(1),
        reference="RMA-1",
        kind="return",
    )
    moves = StockMovement.objects.order_by("pk").values_list("kind", "quantity", "reason")
    assert list(moves) == [("receipt", Decimal(2), ""), ("return", Decimal(1), "")]


@pytest.mark.django_db
def test_receive_refuses_a_fraction_of_a_counted_unit_and_records_the_reason_given(warehouse):
    each = ProductFactory(uom=UnitOfMeasureFactory(code="EA"))  # counted: no decimals
    with pytest.raises(ValidationFailed) as refused:
        stock_receive(
            product_id=each.pk, warehouse_id=warehouse.pk, quantity=Decimal("2.5"), reference="PO-9"
        )
    assert list(refused.value.fields) == ["quantity"]
    assert not StockMovement.objects.exists()
    stock_receive(
        product_id=each.pk,
        warehouse_id=warehouse.pk,
        quantity=Decimal(2),
        reference="PO-9",
        reason="late pallet",
    )
    assert StockMovement.objects.get().reason == "late pallet"
