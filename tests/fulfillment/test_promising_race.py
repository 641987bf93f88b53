"""32 concurrent choices against the promising cache while the rules are rewritten in a loop:
never an oversell, and never an answer from a half-refreshed picture (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone

from fulfillment.models import SourcingRule, SourcingRuleSource
from fulfillment.promising.engine import LineRequest
from fulfillment.promising.services import PromiseDraft, StaleOption, option_choose, promise_options
from fulfillment.promising.snapshot import REFERENCE_CACHE
from inventory.models import Reservation, StockPosition
from inventory.services import stock_receive
from tests.factories.catalog import ProductFactory
from tests.factories.inventory import WarehouseFactory

from .conftest import SHIP_TO

pytestmark = [pytest.mark.postgres, pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]

THREADS, STOCK = 32, 20


def test_concurrent_choices_under_a_refreshing_cache_never_oversell_nor_mix_pictures():
    east, west = WarehouseFactory(code="east", region="NJ"), WarehouseFactory(code="west", region="CA")
    product = ProductFactory(sku="HOT-1")
    stock_receive(product_id=product.pk, warehouse_id=east.pk, quantity=STOCK // 2, reference="seed")
    stock_receive(product_id=product.pk, warehouse_id=west.pk, quantity=STOCK // 2, reference="seed")
    rule = SourcingRule.objects.create(
        name="set-0", country="US", effective_from=timezone.localdate() - timedelta(1)
    )
    for rank, wh in enumerate((east, west), start=1):
        SourcingRuleSource.objects.create(rule=rule, rank=rank, warehouse=wh, transit_days=0)
    REFERENCE_CACHE.clear()

    stop = threading.Event()
    problems: list[str] = []
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS + 1)

    def refresh() -> None:
        # Each generation renames the rule and sets every source's transit to its number, in one
        # transaction: a picture mixing two generations would show a name and a transit that differ.
        try:
            barrier.wait()
            k = 0
            while not stop.is_set():
                k += 1
                with transaction.atomic():
                    SourcingRule.objects.filter(pk=rule.pk).update(name=f"set-{k}", updated_at=timezone.now())
                    SourcingRuleSource.objects.filter(rule=rule).update(transit_days=k)
                if k % 5 == 0:
                    REFERENCE_CACHE.clear()
        finally:
            connection.close()

    def choose(i: int) -> None:
        draft = PromiseDraft(ship_to=SHIP_TO, lines=[LineRequest(key="1", sku="HOT-1", quantity=Decimal(1))])
        try:
            barrier.wait()
            for _attempt in range(5):
                best = promise_options(draft=draft)[0]
                line = best.lines[0]
                for piece in line.pieces:
                    if line.rule_name != f"set-{piece.transit_days}":
                        with lock:
                            problems.append(f"{line.rule_name} with transit {piece.transit_days}")
                try:
                    _chosen, reservations = option_choose(
                        draft=draft, option_id=best.option_id, reference=f"c{i}"
                    )
                except StaleOption:
                    continue
                with lock:
                    outcomes.append("reserved" if reservations else "parked")
                return
            with lock:
                outcomes.append("stale")
        except Exception as exc:
            with lock:
                problems.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=choose, args=(i,)) for i in range(THREADS)]
    refresher = threading.Thread(target=refresh)
    for t in [*threads, refresher]:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    refresher.join()

    assert not problems, problems[:5]
    reserved = sum(
        StockPosition.objects.filter(product=product).values_list("reserved", flat=True), Decimal(0)
    )
    active = Reservation.objects.filter(position__product=product, status="active").count()
    assert reserved == active == outcomes.count("reserved") <= STOCK
    assert outcomes.count("reserved") == STOCK  # every unit found a buyer, none twice
    assert len(outcomes) == THREADS
