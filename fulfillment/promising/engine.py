"""The promising engine, the pure part: no database, so every case can be built by hand.

Given the rules and facilities (`Reference`) and the supply of the products asked about
(`Supply`), it promises each line of an order:

1. the most specific sourcing rule for the line's destination and item gives the ranked sources;
2. one source that can ship the whole line by the date it is needed (by rank, or by margin
   when the rule ranks by profit, with a tie-break on date), else
3. a split across sources (when the line allows it; each piece at least the rule's minimum
   split quantity), the remainder going on to
4. a back-order dated from the first scheduled receipt (PO or transfer) that covers it, else
5. drop ship from a supplier source (its lead time), else the line is parked.

Time-phased ATP per (product, facility) is `inventory.atp.Timeline` (on hand - reserved now,
receipts and transfers in flight add on their dates, open back-orders subtract); a demand
class sees what the allocation shares of the classes above it leave, until the share is released
a set number of days before the next receipt. A facility's daily capacity (lines, orders or
units, on its working days) is consumed as lines are promised, so a promise moves to the next
day with room. Ship sets ship from one source on one day; arrival sets arrive on one day.
Every line gets a trace: which rule, which sources were passed over and why.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from inventory.atp import DEMAND_CLASS_RANK, Timeline

ZERO = Decimal(0)
_Q = Decimal("0.0001")
HORIZON_DAYS = 120
STORE, SUPPLIER = "store", "supplier"


class Mode:
    WAREHOUSE = "warehouse"
    STORE = "ship_from_store"
    BACKORDER = "backorder"
    DROP_SHIP = "drop_ship"


# --- reference data (rules, facilities, allocation) ----------------------------------------------


@dataclass(frozen=True)
class Source:
    warehouse_id: int
    rank: int
    transit_days: int = 0
    lead_time_days: int = 0
    shipping_cost: Decimal = ZERO
    transfer_cost: Decimal = ZERO
    unit_cost: Decimal = ZERO


@dataclass(frozen=True)
class Destination:
    country: str = ""
    region: str = ""
    postcode: str = ""

    @classmethod
    def of(cls, ship_to: dict | None) -> Destination:
        ship_to = ship_to or {}
        return cls(
            str(ship_to.get("country", "") or "").upper(),
            str(ship_to.get("region", "") or "").upper(),
            str(ship_to.get("postcode", "") or "").upper().replace(" ", ""),
        )


@dataclass(frozen=True)
class Rule:
    id: int | None
    name: str
    sources: tuple[Source, ...]
    country: str = ""
    region: str = ""
    postcode_from: str = ""
    postcode_to: str = ""
    product_id: int | None = None
    category_id: int | None = None
    effective_from: date = date.min
    effective_to: date | None = None
    ranking: str = "rank"
    min_split: Decimal = ZERO

    @property
    def specificity(self) -> tuple[int, int]:
        item = 2 if self.product_id else (1 if self.category_id else 0)
        geo = 3 if self.postcode_from else (2 if self.region else (1 if self.country else 0))
        return (item, geo)

    def describe(self) -> str:
        item = {2: "product", 1: "category", 0: ""}[self.specificity[0]]
        geo = {3: "postcode range", 2: "region", 1: "country", 0: "global"}[self.specificity[1]]
        return f"{item}+{geo}" if item else geo

    def applies(self, dest: Destination, today: date) -> bool:
        if today < self.effective_from or (self.effective_to is not None and today > self.effective_to):
            return False
        if self.country and self.country != dest.country:
            return False
        if self.region and self.region.upper() != dest.region:
            return False
        if self.postcode_from:
            code = dest.postcode
            if not code or len(code) != len(self.postcode_from):
                return False
            return self.postcode_from.upper() <= code <= self.postcode_to.upper()
        return True


@dataclass(frozen=True)
class Facility:
    id: int
    code: str
    type: str = "distribution_center"
    active: bool = True
    working_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    # (valid_from, valid_to or None, unit, daily limit)
    capacity: tuple[tuple[date, date | None, str, int], ...] = ()

    def limit_on(self, day: date) -> tuple[str, int] | None:
        for start, end, unit, limit in self.capacity:
            if start <= day and (end is None or day <= end):
                return unit, limit
        return None


@dataclass(frozen=True)
class Allocation:
    product_id: int | None
    category_id: int | None
    demand_class: str
    share_percent: Decimal
    release_days: int | None = None


@dataclass(frozen=True)
class Reference:
    """Rules indexed by item scope, most specific first; facilities; allocation shares."""

    rules: dict[tuple[int | None, int | None], tuple[Rule, ...]]
    facilities: dict[int, Facility]
    allocation: tuple[Allocation, ...] = ()
    signature: str = ""

    @classmethod
    def build(
        cls, *, rules: Iterable[Rule], facilities: Iterable[Facility], allocation=(), signature=""
    ) -> Reference:
        index: dict[tuple[int | None, int | None], list[Rule]] = defaultdict(list)
        for rule in rules:
            index[(rule.product_id, rule.category_id)].append(rule)
        ordered = {
            key: tuple(
                sorted(group, key=lambda r: (r.specificity, r.effective_from, r.id or 0), reverse=True)
            )
            for key, group in index.items()
        }
        return cls(ordered, {f.id: f for f in facilities}, tuple(allocation), signature)

    def rule_for(
        self, *, product_id: int, category_id: int | None, dest: Destination, today: date
    ) -> Rule | None:
        best: Rule | None = None
        for key in ((product_id, None), (None, category_id), (None, None)):
            for rule in self.rules.get(key, ()):
                if best is not None and rule.specificity <= best.specificity:
                    break  # sorted: nothing later in this group beats what we have
                if rule.applies(dest, today):
                    best = rule
                    break
        return best

    def held_for(
        self, *, product_id: int, category_id: int | None, demand_class: str
    ) -> tuple[Decimal, int | None]:
        """The fraction of supply held back from `demand_class` for the classes above it, and the
        days before a receipt when the hold is released (None: never)."""
        best: dict[str, tuple[int, Allocation]] = {}
        for a in self.allocation:
            if a.product_id is not None and a.product_id != product_id:
                continue
            if a.category_id is not None and a.category_id != category_id:
                continue
            level = 2 if a.product_id else (1 if a.category_id else 0)
            if a.demand_class not in best or level > best[a.demand_class][0]:
                best[a.demand_class] = (level, a)
        rank = DEMAND_CLASS_RANK.get(demand_class, 0)
        above = [a for _, a in best.values() if DEMAND_CLASS_RANK.get(a.demand_class, 0) > rank]
        held = min(sum((a.share_percent for a in above), ZERO) / 100, Decimal(1))
        releases = [a.release_days for a in above if a.release_days is not None]
        return held, (min(releases) if releases else None)


# --- supply of the products asked about ---------------------------------------------------------


@dataclass(frozen=True)
class ProductInfo:
    id: int
    sku: str
    category_id: int | None
    active: bool = True


@dataclass
class Supply:
    products: dict[str, ProductInfo] = field(default_factory=dict)
    now: dict[tuple[int, int], Decimal] = field(default_factory=dict)
    dated: dict[tuple[int, int], list[tuple[date | None, Decimal]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    used: dict[tuple[int, date], tuple[int, int, Decimal]] = field(
        default_factory=dict
    )  # lines, orders, units


# --- requests and results -----------------------------------------------------------------------


@dataclass(frozen=True)
class LineRequest:
    key: str
    sku: str
    quantity: Decimal
    need_date: date | None = None
    unit_price: Decimal = ZERO
    ship_set: str = ""
    arrival_set: str = ""
    allow_split: bool = True


@dataclass(frozen=True)
class Piece:
    line_key: str
    warehouse_id: int
    warehouse_code: str
    quantity: Decimal
    mode: str
    ship_date: date
    arrival_date: date
    cost: Decimal = ZERO
    margin: Decimal = ZERO
    transit_days: int = 0

    def as_dict(self) -> dict:
        return {
            "warehouse": self.warehouse_code,
            "quantity": f"{self.quantity:f}",
            "mode": self.mode,
            "scheduled_ship_date": self.ship_date.isoformat(),
            "scheduled_arrival_date": self.arrival_date.isoformat(),
            "cost": f"{self.cost:f}",
        }


@dataclass
class LineResult:
    key: str
    sku: str
    quantity: Decimal
    rule_id: int | None = None
    rule_name: str = ""
    pieces: list[Piece] = field(default_factory=list)
    parked: Decimal = ZERO
    trace: list[str] = field(default_factory=list)

    @property
    def promised_date(self) -> date | None:
        return max((p.arrival_date for p in self.pieces), default=None) if not self.parked else None

    @property
    def ship_date(self) -> date | None:
        return max((p.ship_date for p in self.pieces), default=None)


@dataclass
class OrderPromise:
    lines: list[LineResult]
    kind: str = "best"

    @property
    def cost(self) -> Decimal:
        return sum((p.cost for ln in self.lines for p in ln.pieces), ZERO)

    @property
    def promised_date(self) -> date | None:
        dates = [ln.promised_date for ln in self.lines]
        return None if any(d is None for d in dates) else max(dates, default=None)

    @property
    def option_id(self) -> str:
        canon = [
            [
                ln.key,
                [[p.warehouse_id, f"{p.quantity:f}", p.mode, p.ship_date.isoformat()] for p in ln.pieces],
            ]
            for ln in self.lines
        ]
        return hashlib.sha256(json.dumps(canon, separators=(",", ":")).encode()).hexdigest()[:20]


# --- the engine -----------------------------------------------------------------------------------


def _n(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


def _q(value: Decimal) -> Decimal:
    return value.quantize(_Q, rounding=ROUND_DOWN)


class Promiser:
    """Promises the lines of one order against one picture of supply. It remembers what it has
    promised so far (stock and capacity), so two lines never count the same unit or slot."""

    STRATEGIES = ("best", "single", "split", "drop_ship", "cheapest", "fastest")

    def __init__(
        self,
        *,
        reference: Reference,
        supply: Supply,
        today: date,
        destination: Destination,
        demand_class: str = "standard",
        strategy: str = "best",
        fallback: Rule | None = None,
        allow_drop_ship: bool = True,
    ):
        self.ref, self.supply, self.today, self.dest = reference, supply, today, destination
        self.demand_class, self.strategy, self.fallback = demand_class, strategy, fallback
        self.allow_drop_ship = allow_drop_ship
        self.taken: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
        self.cap_taken: dict[tuple[int, date], list] = {}
        self.order_days: set[tuple[int, date]] = set()

    # --- ATP ---------------------------------------------------------------------------------

    def _timeline(self, pid: int, wid: int) -> Timeline:
        now = self.supply.now.get((pid, wid), ZERO) - self.taken[(pid, wid)]
        return Timeline.build(today=self.today, now=now, dated=self.supply.dated.get((pid, wid), ()))

    def _receipts(self, pid: int, wid: int) -> list[date]:
        return sorted(d for d, q in self.supply.dated.get((pid, wid), ()) if q > 0 and d and d > self.today)

    def available_by(self, product: ProductInfo, wid: int, when: date) -> Decimal:
        timeline = self._timeline(product.id, wid)
        return self._visible(product, wid, timeline, when)

    def _visible(self, product: ProductInfo, wid: int, timeline: Timeline, when: date) -> Decimal:
        free = timeline.available_by(when)
        held, release = self.ref.held_for(
            product_id=product.id, category_id=product.category_id, demand_class=self.demand_class
        )
        if held <= 0:
            return free
        if release is not None and any(
            r - timedelta(days=release) <= when for r in self._receipts(product.id, wid)
        ):
            return free  # the next receipt is near: the protected share is released
        return _q(free * (1 - held))

    def earliest(self, product: ProductInfo, wid: int, qty: Decimal, not_before: date) -> date | None:
        timeline = self._timeline(product.id, wid)
        candidates = {not_before}
        candidates.update(d for d in timeline.dates() if d > not_before)
        held, release = self.ref.held_for(
            product_id=product.id, category_id=product.category_id, demand_class=self.demand_class
        )
        if held > 0 and release is not None:
            candidates.update(
                max(r - timedelta(days=release), not_before) for r in self._receipts(product.id, wid)
            )
        for when in sorted(candidates):
            if self._visible(product, wid, timeline, when) >= qty:
                return when
        return None

    # --- capacity ----------------------------------------------------------------------------

    def _room(self, fac: Facility, day: date, qty: Decimal) -> bool:
        limit = fac.limit_on(day)
        if limit is None:
            return True
        if day.isoweekday() not in fac.working_days:
            return False
        unit, cap = limit
        lines, orders, units = self.supply.used.get((fac.id, day), (0, 0, ZERO))
        mine = self.cap_taken.get((fac.id, day), [0, 0, ZERO])
        if unit == "lines":
            return lines + mine[0] + 1 <= cap
        if unit == "orders":
            extra = 0 if (fac.id, day) in self.order_days else 1
            return orders + mine[1] + extra <= cap
        return units + mine[2] + qty <= cap

    def capacity_day(self, fac: Facility, day: date, qty: Decimal) -> date | None:
        for offset in range(HORIZON_DAYS):
            candidate = day + timedelta(days=offset)
            if self._room(fac, candidate, qty):
                return candidate
        return None

    def _consume(self, piece: Piece, product: ProductInfo) -> None:
        key = (piece.warehouse_id, piece.ship_date)
        slot = self.cap_taken.setdefault(key, [0, 0, ZERO])
        slot[0] += 1
        if key not in self.order_days:
            slot[1] += 1
            self.order_days.add(key)
        slot[2] += piece.quantity
        if piece.mode in (Mode.WAREHOUSE, Mode.STORE, Mode.BACKORDER):
            self.taken[(product.id, piece.warehouse_id)] += piece.quantity

    # --- pieces ------------------------------------------------------------------------------

    def _piece(
        self, line: LineRequest, src: Source, fac: Facility, qty: Decimal, mode: str, ship: date
    ) -> Piece:
        cost = (src.shipping_cost + src.transfer_cost + src.unit_cost * qty).quantize(
            _Q, rounding=ROUND_HALF_UP
        )
        return Piece(
            line_key=line.key,
            warehouse_id=fac.id,
            warehouse_code=fac.code,
            quantity=qty,
            mode=mode,
            ship_date=ship,
            arrival_date=ship + timedelta(days=src.transit_days),
            cost=cost,
            margin=(line.unit_price * qty - cost).quantize(_Q, rounding=ROUND_HALF_UP),
            transit_days=src.transit_days,
        )

    def _stock_mode(self, fac: Facility) -> str:
        return Mode.STORE if fac.type == STORE else Mode.WAREHOUSE

    def _usable(self, rule: Rule, trace: list[str]) -> list[tuple[Source, Facility]]:
        out = []
        for src in sorted(rule.sources, key=lambda s: s.rank):
            fac = self.ref.facilities.get(src.warehouse_id)
            if fac is None or not fac.active:
                trace.append(f"{fac.code if fac else src.warehouse_id} passed over: inactive")
                continue
            out.append((src, fac))
        return out

    def _on_time(self, line, product, usable, need, trace) -> list[Piece]:
        """Every source that can ship the whole line by `need` (or a few days later for capacity)."""
        found = []
        for src, fac in usable:
            if fac.type == SUPPLIER:
                if not self.allow_drop_ship or (
                    self.strategy in ("best", "single") and self._rule.ranking != "profit"
                ):
                    continue
                ship = max(self.today + timedelta(days=src.lead_time_days), need)
                if ship > need:
                    trace.append(f"{fac.code} passed over: lead time {src.lead_time_days} days ships {ship}")
                    continue
                found.append(self._piece(line, src, fac, line.quantity, Mode.DROP_SHIP, ship))
                continue
            free = self.available_by(product, fac.id, need)
            if free < line.quantity:
                trace.append(
                    f"{fac.code} passed over: {_n(free)} available by {need}, {_n(line.quantity)} needed"
                )
                continue
            ship = self.capacity_day(fac, need, line.quantity)
            if ship is None:
                trace.append(f"{fac.code} passed over: no capacity within {HORIZON_DAYS} days")
                continue
            if ship > need:
                trace.append(f"{fac.code}: capacity full on {need}, next day with room {ship}")
            found.append(self._piece(line, src, fac, line.quantity, self._stock_mode(fac), ship))
        return found

    def _pick(self, pieces: list[Piece], need: date, ranking: str, trace: list[str]) -> Piece:
        if ranking == "profit":
            on_time = [p for p in pieces if p.ship_date <= need] or pieces
            best = max(on_time, key=lambda p: (p.margin, -p.arrival_date.toordinal()))
            others = ", ".join(f"{p.warehouse_code} margin {_n(p.margin)}" for p in on_time if p is not best)
            trace.append(
                f"profit ranking: {best.warehouse_code} margin {_n(best.margin)}"
                + (f" beats {others}" if others else "")
            )
            return best
        on_time = [p for p in pieces if p.ship_date <= need]
        return on_time[0] if on_time else min(pieces, key=lambda p: p.ship_date)

    def promise_line(self, line: LineRequest, trace_prefix: str = "") -> LineResult:
        product = self.supply.products[line.sku]
        result = LineResult(key=line.key, sku=line.sku, quantity=line.quantity)
        trace = result.trace
        rule = self.ref.rule_for(
            product_id=product.id, category_id=product.category_id, dest=self.dest, today=self.today
        )
        if rule is None:
            rule = self.fallback
            if rule is None:
                trace.append("no sourcing rule matches the destination: parked")
                result.parked = line.quantity
                return result
            trace.append(f"no sourcing rule matches: {rule.name}")
        else:
            trace.append(f"rule '{rule.name}' ({rule.describe()}) matched")
        self._rule = rule
        result.rule_id, result.rule_name = rule.id, rule.name
        need = max(line.need_date or self.today, self.today)
        usable = self._usable(rule, trace)
        if self.strategy in ("cheapest", "fastest"):
            return self._by_cost_or_speed(line, product, usable, need, result)
        if self.strategy == "drop_ship":
            return self._drop_ship(line, product, usable, need, result, line.quantity)
        candidates = self._on_time(line, product, usable, need, trace)
        if candidates:
            piece = self._pick(candidates, need, rule.ranking, trace)
            trace.append(
                f"single source {piece.warehouse_code}: ships {piece.ship_date}, arrives {piece.arrival_date}"
            )
            self._take(result, piece, product)
            return result
        remaining = line.quantity
        if line.allow_split and self.strategy != "single":
            remaining = self._split(line, product, usable, need, rule, result)
            if remaining <= 0:
                return result
        elif not line.allow_split:
            trace.append("the line may not be split")
        if self._backorder(line, product, usable, need, result, remaining):
            return result
        if self.allow_drop_ship:
            return self._drop_ship(line, product, usable, need, result, remaining, partial=True)
        result.trace.append(f"nothing can fill {_n(remaining)} now: parked until stock arrives")
        result.parked = remaining
        return result

    def _take(self, result: LineResult, piece: Piece, product: ProductInfo) -> None:
        result.pieces.append(piece)
        self._consume(piece, product)

    def _split(self, line, product, usable, need, rule, result) -> Decimal:
        remaining, pieces = line.quantity, []
        for src, fac in usable:
            if fac.type == SUPPLIER or remaining <= 0:
                continue
            free = self.available_by(product, fac.id, need)
            take = min(free, remaining)
            if take <= 0:
                continue
            if take < rule.min_split and take < remaining:
                result.trace.append(
                    f"{fac.code} passed over for a split: {_n(take)} "
                    f"is under the minimum {_n(rule.min_split)}"
                )
                continue
            ship = self.capacity_day(fac, need, take)
            if ship is None:
                continue
            piece = self._piece(line, src, fac, take, self._stock_mode(fac), ship)
            self._take(result, piece, product)
            pieces.append(piece)
            remaining -= take
        if pieces:
            parts = " + ".join(f"{_n(p.quantity)} from {p.warehouse_code}" for p in pieces)
            result.trace.append(
                f"split: {parts}" + (f", {_n(remaining)} still to find" if remaining > 0 else "")
            )
        return remaining

    def _backorder(self, line, product, usable, need, result, qty) -> bool:
        best: tuple[date, int, Piece] | None = None
        for src, fac in usable:
            if fac.type == SUPPLIER:
                continue
            when = self.earliest(product, fac.id, qty, need)
            if when is None or when <= need:
                continue  # there now: only a split piece under the minimum, which was refused
            ship = self.capacity_day(fac, when, qty)
            if ship is None:
                continue
            piece = self._piece(line, src, fac, qty, Mode.BACKORDER, ship)
            if best is None or (ship, src.rank) < best[:2]:
                best = (ship, src.rank, piece)
        if best is None:
            result.trace.append(f"no scheduled receipt covers {_n(qty)}")
            return False
        piece = best[2]
        result.trace.append(
            f"back-order {_n(piece.quantity)} from {piece.warehouse_code}: "
            f"enough by the receipt due {piece.ship_date}"
        )
        self._take(result, piece, product)
        return True

    def _drop_ship(self, line, product, usable, need, result, qty, partial=False) -> LineResult:
        suppliers = [(s, f) for s, f in usable if f.type == SUPPLIER]
        if not suppliers:
            result.trace.append(
                "no supplier source for drop ship: parked" if partial else "no supplier source"
            )
            result.parked = qty
            return result
        pieces = [
            self._piece(
                line, s, f, qty, Mode.DROP_SHIP, max(self.today + timedelta(days=s.lead_time_days), need)
            )
            for s, f in suppliers
        ]
        piece = self._pick(pieces, need, self._rule.ranking, result.trace) if len(pieces) > 1 else pieces[0]
        result.trace.append(
            f"drop ship from {piece.warehouse_code}: ships {piece.ship_date} after its lead time"
        )
        self._take(result, piece, product)
        return result

    def _by_cost_or_speed(self, line, product, usable, need, result) -> LineResult:
        pieces = []
        for src, fac in usable:
            if fac.type == SUPPLIER:
                ship = max(self.today + timedelta(days=src.lead_time_days), need)
                pieces.append(self._piece(line, src, fac, line.quantity, Mode.DROP_SHIP, ship))
                continue
            when = self.earliest(product, fac.id, line.quantity, need)
            ship = when and self.capacity_day(fac, when, line.quantity)
            if ship:
                mode = self._stock_mode(fac) if when <= need else Mode.BACKORDER
                pieces.append(self._piece(line, src, fac, line.quantity, mode, ship))
        if not pieces:
            result.trace.append("no source can fill the line: parked")
            result.parked = line.quantity
            return result
        if self.strategy == "cheapest":
            piece = min(pieces, key=lambda p: (p.cost, p.arrival_date))
            result.trace.append(f"cheapest: {piece.warehouse_code} costs {_n(piece.cost)}")
        else:
            piece = min(pieces, key=lambda p: (p.arrival_date, p.cost))
            result.trace.append(f"fastest: {piece.warehouse_code} arrives {piece.arrival_date}")
        self._take(result, piece, product)
        return result

    # --- sets --------------------------------------------------------------------------------

    def _ship_set(self, lines: list[LineRequest]) -> list[LineResult] | None:
        """One source, one day for every line of the set; None when no source serves them all."""
        products = [self.supply.products[ln.sku] for ln in lines]
        rules = [
            self.ref.rule_for(product_id=p.id, category_id=p.category_id, dest=self.dest, today=self.today)
            or self.fallback
            for p in products
        ]
        if any(r is None for r in rules):
            return None
        shared = set.intersection(*({s.warehouse_id for s in r.sources} for r in rules))
        best: tuple[date, int, int] | None = None
        for src in sorted(rules[0].sources, key=lambda s: s.rank):
            fac = self.ref.facilities.get(src.warehouse_id)
            if src.warehouse_id not in shared or fac is None or not fac.active or fac.type == SUPPLIER:
                continue
            dates = []
            for ln, product in zip(lines, products, strict=True):
                need = max(ln.need_date or self.today, self.today)
                when = self.earliest(product, fac.id, ln.quantity, need)
                if when is None:
                    break
                dates.append(when)
            else:
                day = max(dates)
                ship = self.capacity_day(fac, day, sum((ln.quantity for ln in lines), ZERO))
                if ship is not None and (best is None or ship < best[0]):
                    best = (ship, src.rank, src.warehouse_id)
        if best is None:
            return None
        ship, _, wid = best
        fac = self.ref.facilities[wid]
        results = []
        for ln, product, rule in zip(lines, products, rules, strict=True):
            src = next(s for s in rule.sources if s.warehouse_id == wid)
            need = max(ln.need_date or self.today, self.today)
            mode = self._stock_mode(fac) if ship <= need else Mode.BACKORDER
            res = LineResult(
                key=ln.key, sku=ln.sku, quantity=ln.quantity, rule_id=rule.id, rule_name=rule.name
            )
            res.trace.append(f"rule '{rule.name}' ({rule.describe()}) matched")
            res.trace.append(
                f"ship set '{ln.ship_set}' kept together: all {len(lines)} lines from {fac.code} on {ship}"
            )
            self._take(res, self._piece(ln, src, fac, ln.quantity, mode, ship), product)
            results.append(res)
        return results

    def promise(self, lines: Sequence[LineRequest]) -> OrderPromise:
        by_key: dict[str, LineResult] = {}
        sets: dict[str, list[LineRequest]] = defaultdict(list)
        for ln in lines:
            if ln.ship_set:
                sets[ln.ship_set].append(ln)
        done: set[str] = set()
        for members in sets.values():
            if len(members) < 2:
                continue
            kept = self._ship_set(members)
            if kept is not None:
                for res in kept:
                    by_key[res.key] = res
                done.update(m.key for m in members)
        for ln in lines:
            if ln.key in done:
                continue
            res = self.promise_line(ln)
            if ln.ship_set and len(sets[ln.ship_set]) > 1:
                res.trace.insert(
                    0, f"ship set '{ln.ship_set}' could not ship from one source: promised line by line"
                )
            by_key[ln.key] = res
        self._align_arrivals(lines, by_key)
        return OrderPromise([by_key[ln.key] for ln in lines], kind=self.strategy)

    def _align_arrivals(self, lines: Sequence[LineRequest], by_key: dict[str, LineResult]) -> None:
        groups: dict[str, list[str]] = defaultdict(list)
        for ln in lines:
            if ln.arrival_set:
                groups[ln.arrival_set].append(ln.key)
        for name, keys in groups.items():
            results = [by_key[k] for k in keys]
            if len(results) < 2 or any(r.parked for r in results):
                continue
            arrive = max(p.arrival_date for r in results for p in r.pieces)
            for r in results:
                aligned = []
                for p in r.pieces:
                    ship = arrive - timedelta(days=p.transit_days)
                    aligned.append(replace(p, ship_date=max(ship, p.ship_date), arrival_date=arrive))
                r.pieces = aligned
                r.trace.append(f"arrival set '{name}': arrives with the set on {arrive}")
