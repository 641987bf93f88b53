"""The order and line lifecycles: every pair outside the transition tables is refused."""

from __future__ import annotations

import itertools

import pytest

from oms.kernel.exceptions import IllegalTransition
from orders.states import (
    LINE_TRANSITIONS,
    ORDER_TRANSITIONS,
    LineStatus,
    OrderStatus,
    ensure_line_transition,
    ensure_order_transition,
)

pytestmark = pytest.mark.unit


def test_every_status_has_a_row_in_its_table():
    assert set(ORDER_TRANSITIONS) == set(OrderStatus.values)
    assert set(LINE_TRANSITIONS) == set(LineStatus.values)


@pytest.mark.parametrize("current,target", list(itertools.product(OrderStatus.values, repeat=2)))
def test_order_transition_allowed_only_if_listed(current, target):
    if target in ORDER_TRANSITIONS[current]:
        ensure_order_transition(current, target)
    else:
        with pytest.raises(IllegalTransition):
            ensure_order_transition(current, target)


@pytest.mark.parametrize("current,target", list(itertools.product(LineStatus.values, repeat=2)))
def test_line_transition_allowed_only_if_listed(current, target):
    if target in LINE_TRANSITIONS[current]:
        ensure_line_transition(current, target)
    else:
        with pytest.raises(IllegalTransition):
            ensure_line_transition(current, target)


def test_final_statuses_have_no_way_out():
    assert ORDER_TRANSITIONS[OrderStatus.CLOSED] == frozenset()
    assert ORDER_TRANSITIONS[OrderStatus.CANCELED] == frozenset()
    assert LINE_TRANSITIONS[LineStatus.CANCELED] == frozenset()
