"""The promising engine on hand-built pictures of supply (no database): one case per acceptance
point of the issue, each checking the source, the dates, the mode and the trace."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from fulfillment.promising.engine import (
    Allocation,
    Destination,
    Facility,
    LineRequest,
    Mode,
    ProductInfo,
    Promiser,
    Reference,
    Rule,
    Source,
    Supply,
)

pytestmark = pytest.mark.unit

TODAY = date(2026, 12, 3)  # a Thursday
NJ = Destination("US", "NJ", "07102")
EAST, WEST, STORE, ACME = 1, 2, 3, 9
FACILITIES = [
    Facility(EAST, "east"),
    Facility(WEST, "west"),
    Facility(STORE, "store-nyc", type="store"),
    Facility(ACME, "acme", type="supplier"),
]
DRILL = ProductInfo(100, "DRILL", category_id=7)
SAW = ProductInfo(101, "SAW", category_id=7)
D = Decimal


def _sources(*spec) -> tuple[Source, ...]:
    return tuple(
        Source(wid, rank, transit_days=transit, lead_time_days=lead, shipping_cost=D(cost), unit_cost=D(unit))
        for rank, (wid, transit, lead, cost, unit) in enumerate(spec, start=1)
    )


US_RULE = Rule(
    1,
    "US by default",
    _sources((EAST, 1, 0, "5", "0"), (WEST, 4, 0, "9", "0"), (ACME, 3, 6, "12", "40")),
    country="US",
)


def _promiser(
    *, rules=(US_RULE,), now=None, dated=None, facilities=FACILITIES, allocation=(), used=None, **kw
):
    supply = Supply(products={"DRILL": DRILL, "SAW": SAW}, now=dict(now or {}))
    for key, changes in (dated or {}).items():
        supply.dated[key] = list(changes)
    supply.used = dict(used or {})
    ref = Reference.build(rules=rules, facilities=facilities, allocation=allocation)
    return Promiser(reference=ref, supply=supply, today=TODAY, destination=kw.pop("dest", NJ), **kw)


def _line(qty, sku="DRILL", key="1", **kw) -> LineRequest:
    return LineRequest(key=key, sku=sku, quantity=D(qty), **kw)


def test_single_source_takes_the_first_ranked_source_that_has_it_all():
    result = _promiser(now={(100, EAST): D(10), (100, WEST): D(10)}).promise([_line(4)]).lines[0]
    (piece,) = result.pieces
    assert (piece.warehouse_id, piece.quantity, piece.mode) == (EAST, D(4), Mode.WAREHOUSE)
    assert piece.ship_date == TODAY and result.promised_date == TODAY + timedelta(days=1)
    assert result.trace[0] == "rule 'US by default' (country) matched"
    assert "single source east" in result.trace[-1]


def test_a_short_first_source_is_passed_over_with_the_reason_in_the_trace():
    result = _promiser(now={(100, EAST): D(2), (100, WEST): D(10)}).promise([_line(4)]).lines[0]
    assert [p.warehouse_id for p in result.pieces] == [WEST]
    assert "east passed over: 2 available by 2026-12-03, 4 needed" in result.trace
    assert result.promised_date == TODAY + timedelta(days=4)


def test_split_across_two_warehouses_when_none_has_it_all():
    result = _promiser(now={(100, EAST): D(3), (100, WEST): D(2)}).promise([_line(5)]).lines[0]
    assert [(p.warehouse_id, p.quantity) for p in result.pieces] == [(EAST, D(3)), (WEST, D(2))]
    assert "split: 3 from east + 2 from west" in result.trace


def test_a_split_piece_under_the_minimum_is_not_taken():
    rule = Rule(1, "US", US_RULE.sources, country="US", min_split=D(3))
    p = _promiser(rules=(rule,), now={(100, EAST): D(2), (100, WEST): D(3)}, allow_drop_ship=False)
    result = p.promise([_line(5)]).lines[0]
    assert [(x.warehouse_id, x.quantity) for x in result.pieces] == [(WEST, D(3))]
    assert result.parked == D(2)
    assert "east passed over for a split: 2 is under the minimum 3" in result.trace


def test_backorder_is_dated_from_the_first_receipt_that_covers_it():
    receipt = TODAY + timedelta(days=6)
    p = _promiser(
        now={(100, EAST): D(1)}, dated={(100, WEST): [(TODAY + timedelta(days=9), D(50)), (receipt, D(5))]}
    )
    result = p.promise([_line(4, allow_split=False)]).lines[0]
    (piece,) = result.pieces
    assert (piece.warehouse_id, piece.mode, piece.ship_date) == (WEST, Mode.BACKORDER, receipt)
    assert result.promised_date == receipt + timedelta(days=4)
    assert "the line may not be split" in result.trace


def test_drop_ship_when_no_warehouse_has_stock():
    result = _promiser().promise([_line(2)]).lines[0]
    (piece,) = result.pieces
    assert (piece.warehouse_id, piece.mode) == (ACME, Mode.DROP_SHIP)
    assert piece.ship_date == TODAY + timedelta(days=6) and piece.arrival_date == TODAY + timedelta(days=9)
    assert piece.cost == D("12") + D("40") * 2
    assert "no scheduled receipt covers 2" in result.trace


def test_the_most_specific_rule_wins():
    global_rule = Rule(2, "global", _sources((WEST, 7, 0, "1", "0")))
    region = Rule(3, "NJ", _sources((WEST, 2, 0, "1", "0")), country="US", region="NJ")
    category_region = Rule(
        4, "tools NJ", _sources((STORE, 0, 0, "1", "0")), country="US", region="NJ", category_id=7
    )
    product_region = Rule(
        5, "drill NJ", _sources((EAST, 1, 0, "1", "0")), country="US", region="NJ", product_id=100
    )
    postcode = Rule(
        6,
        "Newark",
        _sources((WEST, 1, 0, "1", "0")),
        country="US",
        postcode_from="07100",
        postcode_to="07199",
    )
    ended = Rule(
        7, "old drill NJ", _sources((WEST, 1, 0, "1", "0")), country="US", region="NJ", product_id=100,
        postcode_from="07000", postcode_to="07999", effective_to=TODAY - timedelta(days=1),
    )  # fmt: skip
    stock = {(100, w): D(9) for w in (EAST, WEST, STORE)} | {(101, w): D(9) for w in (EAST, WEST, STORE)}
    every = (global_rule, region, category_region, product_region, US_RULE, postcode, ended)
    drill, saw = _promiser(rules=every, now=stock).promise([_line(1), _line(1, sku="SAW", key="2")]).lines
    assert drill.rule_name == "drill NJ" and drill.pieces[0].warehouse_id == EAST
    assert saw.rule_name == "tools NJ" and saw.pieces[0].mode == Mode.STORE
    assert drill.trace[0] == "rule 'drill NJ' (product+region) matched"
    only_geo = (
        _promiser(rules=(global_rule, region, US_RULE, postcode), now=stock).promise([_line(1)]).lines[0]
    )
    assert only_geo.rule_name == "Newark"
    elsewhere = (
        _promiser(rules=every, now=stock, dest=Destination("FR", "", "75001")).promise([_line(1)]).lines[0]
    )
    assert elsewhere.rule_name == "global"


def test_a_ship_set_ships_from_one_source_on_one_day():
    # east has all the drills, west has both: the set goes from west rather than split.
    stock = {(100, EAST): D(5), (100, WEST): D(5), (101, WEST): D(5)}
    drill, saw = (
        _promiser(now=stock)
        .promise([_line(2, ship_set="A"), _line(1, sku="SAW", key="2", ship_set="A")])
        .lines
    )
    assert {drill.pieces[0].warehouse_id, saw.pieces[0].warehouse_id} == {WEST}
    assert drill.pieces[0].ship_date == saw.pieces[0].ship_date == TODAY
    assert "ship set 'A' kept together: all 2 lines from west on 2026-12-03" in drill.trace
    alone = _promiser(now=stock).promise([_line(2), _line(1, sku="SAW", key="2")]).lines
    assert alone[0].pieces[0].warehouse_id == EAST  # without the set the drill goes from east


def test_an_arrival_set_arrives_on_one_day():
    stock = {(100, EAST): D(5), (101, WEST): D(5)}
    drill, saw = (
        _promiser(now=stock)
        .promise([_line(2, arrival_set="B"), _line(1, sku="SAW", key="2", arrival_set="B")])
        .lines
    )
    arrive = TODAY + timedelta(days=4)
    assert drill.promised_date == saw.promised_date == arrive
    assert drill.pieces[0].ship_date == TODAY + timedelta(days=3)  # east ships later to arrive with west
    assert saw.pieces[0].ship_date == TODAY
    assert f"arrival set 'B': arrives with the set on {arrive}" in drill.trace


def test_capacity_full_today_moves_the_promise_to_tomorrow():
    capped = [
        Facility(EAST, "east", capacity=((TODAY, None, "lines", 3),)),
        *FACILITIES[1:],
    ]
    used = {(EAST, TODAY): (3, 2, D(7))}
    result = _promiser(now={(100, EAST): D(9)}, facilities=capped, used=used).promise([_line(1)]).lines[0]
    assert result.pieces[0].warehouse_id == EAST and result.pieces[0].ship_date == TODAY + timedelta(days=1)
    assert "east: capacity full on 2026-12-03, next day with room 2026-12-04" in result.trace
    # Two more lines: the first fills Friday's 3 lines? no: 1 used + 2 more = 3; the next goes Monday.
    more = _promiser(
        now={(100, EAST): D(9)},
        facilities=capped,
        used=used | {(EAST, TODAY + timedelta(days=1)): (2, 1, D(2))},
    )
    lines = more.promise([_line(1), _line(1, key="2")]).lines
    assert [ln.pieces[0].ship_date for ln in lines] == [
        date(2026, 12, 4),
        date(2026, 12, 7),
    ]  # weekend skipped


def test_profit_ranking_picks_the_cheaper_source_when_both_are_on_time():
    sources = _sources((EAST, 1, 0, "30", "0"), (WEST, 2, 0, "8", "0"))
    for ranking, expected in (("rank", EAST), ("profit", WEST)):
        rule = Rule(1, "US", sources, country="US", ranking=ranking)
        p = _promiser(rules=(rule,), now={(100, EAST): D(5), (100, WEST): D(5)})
        result = p.promise([_line(2, unit_price=D(50))]).lines[0]
        assert result.pieces[0].warehouse_id == expected, ranking
    assert "profit ranking: west margin 92 beats east margin 70" in result.trace


def test_profit_ranking_breaks_a_tie_on_the_earlier_date():
    sources = _sources((EAST, 5, 0, "8", "0"), (WEST, 2, 0, "8", "0"))
    rule = Rule(1, "US", sources, country="US", ranking="profit")
    result = _promiser(rules=(rule,), now={(100, EAST): D(5), (100, WEST): D(5)}).promise([_line(1)]).lines[0]
    assert result.pieces[0].warehouse_id == WEST


def test_gold_keeps_its_share_while_bronze_is_promised_later():
    # "GOLD" is the strategic class: 30% of what is left is kept for it until 5 days before receipt.
    receipt = TODAY + timedelta(days=10)
    alloc = (Allocation(None, None, "strategic", D(30), release_days=5),)
    kwargs = {"now": {(100, EAST): D(10)}, "dated": {(100, EAST): [(receipt, D(20))]}, "allocation": alloc}
    rule = Rule(1, "east only", _sources((EAST, 1, 0, "5", "0")), country="US")
    bronze = _promiser(rules=(rule,), demand_class="standard", **kwargs).promise(
        [_line(8, allow_split=False)]
    )
    bronze = bronze.lines[0]
    (piece,) = bronze.pieces
    assert piece.mode == Mode.BACKORDER and piece.ship_date == receipt - timedelta(days=5)
    assert "east passed over: 7 available by 2026-12-03, 8 needed" in bronze.trace
    gold = _promiser(rules=(rule,), demand_class="strategic", **kwargs).promise([_line(8)]).lines[0]
    assert gold.pieces[0].mode == Mode.WAREHOUSE and gold.pieces[0].ship_date == TODAY
    small = _promiser(rules=(rule,), demand_class="standard", **kwargs).promise([_line(7)]).lines[0]
    assert small.pieces[0].ship_date == TODAY  # within the 70% BRONZE may take


def test_existing_demand_and_transfers_in_flight_count_in_the_timeline():
    later = TODAY + timedelta(days=3)
    dated = {(100, EAST): [(later, D(-4)), (TODAY + timedelta(days=4), D(6))]}
    rule = Rule(1, "east", _sources((EAST, 1, 0, "0", "0")), country="US")
    result = _promiser(rules=(rule,), now={(100, EAST): D(5)}, dated=dated, allow_drop_ship=False)
    # 5 now, a back-order takes 4 on day 3: only 1 may be promised before the receipt on day 4.
    line = result.promise([_line(3, allow_split=False)]).lines[0]
    assert line.pieces[0].ship_date == TODAY + timedelta(days=4) and line.pieces[0].mode == Mode.BACKORDER


def test_an_inactive_source_is_passed_over_and_lines_of_one_order_never_share_a_unit():
    facilities = [Facility(EAST, "east", active=False), *FACILITIES[1:]]
    p = _promiser(now={(100, EAST): D(9), (100, WEST): D(3)}, facilities=facilities, allow_drop_ship=False)
    first, second = p.promise([_line(3), _line(3, key="2")]).lines
    assert "east passed over: inactive" in first.trace
    assert first.pieces[0].warehouse_id == WEST and second.parked == D(3)


def test_no_rule_and_no_fallback_parks_the_line():
    result = _promiser(rules=()).promise([_line(1)]).lines[0]
    assert result.parked == D(1) and result.promised_date is None
