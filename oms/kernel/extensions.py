"""Extension points: a higher app adds facts to a lower app's screens without the lower app
importing it (the layers point one way). The higher app registers a provider in its
`AppConfig.ready()`; the lower app asks the kernel, which imports no app.

Line notices: order entry's live quote asks every provider what it has to say about each line of
the order being entered (rebates: "a ship-and-debit authorization will apply"). A provider gets
the customer, the date and the lines, returns {line index: [notice, ...]}, reads in a fixed
number of queries whatever the lines, and never writes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class NoticeLine:
    index: int
    product_id: int
    quantity: Decimal


LineNoticeProvider = Callable[..., dict[int, list[str]]]

_line_notice_providers: dict[str, LineNoticeProvider] = {}


def register_line_notices(name: str, provider: LineNoticeProvider) -> None:
    """`provider(*, customer_id: int, on: date, lines: Sequence[NoticeLine])`; registering a
    name again replaces its provider."""
    _line_notice_providers[name] = provider


def unregister_line_notices(name: str) -> None:
    _line_notice_providers.pop(name, None)


def line_notices(*, customer_id: int, on: date, lines: Sequence[NoticeLine]) -> dict[int, list[str]]:
    """Every provider's notices, merged per line index (providers in registration order)."""
    out: dict[int, list[str]] = {}
    if not lines:
        return out
    for provider in _line_notice_providers.values():
        for index, notices in provider(customer_id=customer_id, on=on, lines=lines).items():
            out.setdefault(index, []).extend(notices)
    return out
