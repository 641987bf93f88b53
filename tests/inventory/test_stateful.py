"""Random sequences of receive, reserve, release, ship, adjust and transfer over the real services:
the ledger and the position constraints hold after every step."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from inventory.errors import NegativeOnHand
from inventory.models import StockPosition
from inventory.services import (
    ReserveLine,
    TransferLineInput,
    reservation_consume,
    reservation_release,
    stock_adjust,
    stock_receive,
    stock_reserve,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from oms.kernel.exceptions import InsufficientStock
from tests.factories.catalog import ProductFactory
from tests.factories.inventory import WarehouseFactory

idx = st.integers(min_value=0, max_value=1)
qty = st.integers(min_value=1, max_value=12).map(Decimal)


class StockMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.warehouses = [WarehouseFactory(), WarehouseFactory()]
        self.products = [ProductFactory(), ProductFactory()]
        self.active: list[tuple[int, tuple[int, int], Decimal]] = []  # (reservation id, key, qty)
        self.on_hand: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
        self.reserved: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
        self.seq = 0

    def _key(self, p, w):
        return (self.products[p].pk, self.warehouses[w].pk)

    @rule(p=idx, w=idx, q=qty)
    def receive(self, p, w, q):
        stock_receive(
            product_id=self.products[p].pk, warehouse_id=self.warehouses[w].pk, quantity=q, reference="R"
        )
        self.on_hand[self._key(p, w)] += q

    @rule(lines=st.lists(st.tuples(idx, idx, qty), min_size=1, max_size=3), partial=st.booleans())
    def reserve(self, lines, partial):
        self.seq += 1
        wanted = [
            ReserveLine(self.products[p].pk, self.warehouses[w].pk, q, "order_line", f"{self.seq}-{i}")
            for i, (p, w, q) in enumerate(lines)
        ]
        try:
            result = stock_reserve(lines=wanted, allow_partial=partial)
        except InsufficientStock:
            return
        for line, reservation in zip(wanted, result.reservations, strict=True):
            if reservation is not None:
                key = (line.product_id, line.warehouse_id)
                self.reserved[key] += line.quantity
                self.active.append((reservation.pk, key, line.quantity))

    @precondition(lambda self: self.active)
    @rule(pick=st.integers(min_value=0, max_value=100), ship=st.booleans())
    def release_or_ship(self, pick, ship):
        reservation_id, key, q = self.active.pop(pick % len(self.active))
        if ship:
            reservation_consume(reservation_ids=[reservation_id], reference="SHP")
            self.on_hand[key] -= q
        else:
            reservation_release(reservation_ids=[reservation_id])
        self.reserved[key] -= q

    @rule(p=idx, w=idx, delta=st.integers(min_value=-12, max_value=12).filter(bool).map(Decimal))
    def adjust(self, p, w, delta):
        key = self._key(p, w)
        try:
            stock_adjust(product_id=key[0], warehouse_id=key[1], quantity=delta, reason="count")
        except NegativeOnHand:
            assert self.on_hand[key] + delta < self.reserved[key]
            return
        self.on_hand[key] += delta

    @rule(p=idx, w=idx, q=qty)
    def transfer(self, p, w, q):
        src, dst = self._key(p, w), self._key(p, 1 - w)
        t = transfer_create(
            from_warehouse_id=src[1], to_warehouse_id=dst[1], lines=[TransferLineInput(src[0], q)]
        )
        try:
            transfer_ship(transfer_id=t.pk)
        except InsufficientStock:
            assert self.on_hand[src] - self.reserved[src] < q
            return
        transfer_receive(transfer_id=t.pk)
        self.on_hand[src] -= q
        self.on_hand[dst] += q

    @invariant()
    def ledger_and_bounds_hold(self):
        positions = StockPosition.objects.filter(product__in=self.products).annotate(
            ledger=Sum("movements__quantity")
        )
        for pos in positions:
            key = (pos.product_id, pos.warehouse_id)
            assert pos.on_hand == (pos.ledger or 0) == self.on_hand[key]
            assert 0 <= pos.reserved <= pos.on_hand
            assert pos.reserved == self.reserved[key]
            assert pos.available >= 0


@pytest.mark.fuzz
@pytest.mark.django_db
def test_stock_invariants_hold_over_random_operations():
    run_state_machine_as_test(
        StockMachine, settings=settings(max_examples=18, stateful_step_count=15, deadline=None)
    )
