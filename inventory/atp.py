"""Time-phased available-to-promise, the pure part: no database, so it can be property-tested.

A timeline starts with what is available now (on-hand - reserved) and changes on dates: scheduled
receipts (open PO lines, inbound transfers) add, back-ordered demand subtracts at its need date.
`available_by(D)` is the least cumulative balance from D onwards: promising more by D would take
stock that later, already-known demand is counting on. It never decreases with D, so
`earliest_date(Q)` is simply the first date at which it reaches Q.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

from customers.models import DemandClass

DEMAND_CLASS_RANK = {DemandClass.STANDARD: 0, DemandClass.PRIORITY: 1, DemandClass.STRATEGIC: 2}
_Q = Decimal("0.0001")


@dataclass(frozen=True)
class Timeline:
    today: date
    start: Decimal
    changes: tuple[tuple[date, Decimal], ...] = ()  # sorted by date, dates > today
    visible_share: Decimal = Decimal(1)  # what allocation lets this demand class see

    @classmethod
    def build(
        cls,
        *,
        today: date,
        now: Decimal,
        dated: Iterable[tuple[date | None, Decimal]],
        visible_share=Decimal(1),
    ) -> Timeline:
        """`dated`: (date, signed quantity); a missing or past date counts today (overdue supply
        is still expected; undated demand is due now)."""
        start = Decimal(now)
        by_date: dict[date, Decimal] = defaultdict(Decimal)
        for when, qty in dated:
            if when is None or when <= today:
                start += qty
            else:
                by_date[when] += qty
        return cls(today, start, tuple(sorted(by_date.items())), Decimal(visible_share))

    def dates(self) -> list[date]:
        return [self.today, *[d for d, _ in self.changes]]

    def _cumulative(self) -> list[tuple[date, Decimal]]:
        out, running = [(self.today, self.start)], self.start
        for when, qty in self.changes:
            running += qty
            out.append((when, running))
        return out

    def available_by(self, when: date) -> Decimal:
        when = max(when, self.today)
        cumulative = self._cumulative()
        at_when = self.start
        for d, value in cumulative:
            if d <= when:
                at_when = value
        later = [value for d, value in cumulative if d > when]
        least = min([at_when, *later])
        visible = max(least, Decimal(0)) * self.visible_share
        return visible.quantize(_Q, rounding=ROUND_DOWN)

    def earliest_date(self, quantity: Decimal) -> date | None:
        for when in self.dates():
            if self.available_by(when) >= quantity:
                return when
        return None


def visible_share(rules: Iterable[tuple[str, int, Decimal]], demand_class: str) -> Decimal:
    """`rules`: (demand_class, specificity 0 all / 1 category / 2 product, share percent).

    Shares held back for classes above `demand_class` are hidden from it; per class the most
    specific rule wins. Never below zero.
    """
    best: dict[str, tuple[int, Decimal]] = {}
    for klass, specificity, share in rules:
        if klass not in best or specificity > best[klass][0]:
            best[klass] = (specificity, Decimal(share))
    rank = DEMAND_CLASS_RANK.get(demand_class, 0)
    held = sum(
        (share for klass, (_, share) in best.items() if DEMAND_CLASS_RANK.get(klass, 0) > rank), Decimal(0)
    )
    return max(Decimal(1) - held / 100, Decimal(0))
