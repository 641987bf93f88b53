"""The order timeline in words: an audit event's code and its before/after facts become one
sentence and a readable "Status: Pending approval → Open" change, instead of raw codes and dicts.

`describe(kind, before=..., after=..., data=...)` fills the kind's sentence with the event's facts
(after's values by name, before's as `was_<name>`, data's by name). A kind may list several
sentences, tried in order: the first whose facts the event has is used; with none, the kind's name
in words, so an old or unusual row still reads.
Fulfillment has its own sentences (`fulfillment/timeline.py`) on the same machinery.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .models import EventKind
from .states import LineStatus, OrderStatus

# Values that are codes of a lifecycle: shown by their label ("pending_approval" -> "Pending approval").
STATUS_LABELS: dict[str, str] = {**dict(LineStatus.choices), **dict(OrderStatus.choices)}

FIELD_NAMES = {
    "status": "Status",
    "hold": "Hold",
    "active": "Active",
    "total": "Total",
    "quantity": "Quantity",
    "unit_net_price": "Unit price",
    "is_current": "Current revision",
    "superseded_by_revision": "Superseded by revision",
}

ORDER_SENTENCES: dict[str, str] = {
    EventKind.SUBMITTED: "Order captured with {lines} line(s), total {total} {currency}; status {status}.",
    EventKind.REVISED: "Revision {revision}: {lines} line(s), total {total} {currency}; status {status}.",
    EventKind.STATUS_CHANGED: "Status changed from {was_status} to {status}.",
    EventKind.HOLD_APPLIED: "Hold “{hold}” applied.",
    EventKind.HOLD_RELEASED: "Hold “{was_hold}” released.",
    EventKind.APPROVAL_REQUESTED: "Approval requested: the order waits in {status}.",
    EventKind.APPROVED: "Approved: status {was_status} → {status}.",
    EventKind.REJECTED: "Rejected: status {was_status} → {status}.",
    EventKind.CANCELED: "Canceled: status {was_status} → {status}.",
    EventKind.LINE_CANCELED: "Line canceled: status {was_status} → {status}.",
    EventKind.PRICE_OVERRIDE: "Unit price set to {unit_net_price} (price source: {source}).",
    EventKind.BACKORDERED: "Back-ordered: {quantity} not available at the channel's warehouses.",
    EventKind.SUPERSEDED: "Superseded by revision {superseded_by_revision}.",
}


@dataclass(frozen=True)
class Described:
    sentence: str
    change: str


def humanize(value: Any, labels: Mapping[str, str] = STATUS_LABELS) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return labels.get(value, value)
    if isinstance(value, list | tuple):
        return ", ".join(humanize(v, labels) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{field_name(k)} {humanize(v, labels)}" for k, v in value.items())
    return str(value)


def field_name(key: str) -> str:
    return FIELD_NAMES.get(key, key.replace("_", " ").capitalize())


def change_text(
    before: Any,
    after: Any,
    *,
    skip: frozenset[str] = frozenset(),
    labels: Mapping[str, str] = STATUS_LABELS,
) -> str:
    """What changed, field by field: "Status: Pending approval → Open; Total: 12.00" (fields in
    `skip` are left out: the sentence already says them)."""
    before = before if isinstance(before, Mapping) else ({} if before is None else {"value": before})
    after = after if isinstance(after, Mapping) else ({} if after is None else {"value": after})
    parts = []
    for key in [*before, *(k for k in after if k not in before)]:
        if key in skip:
            continue
        was, now = before.get(key), after.get(key)
        if key in before and key in after:
            if was != now:
                parts.append(f"{field_name(key)}: {humanize(was, labels)} → {humanize(now, labels)}")
        elif key in after:
            if now not in (None, "", [], {}):
                parts.append(f"{field_name(key)}: {humanize(now, labels)}")
        elif was not in (None, "", [], {}):
            parts.append(f"{field_name(key)} was {humanize(was, labels)}")
    return "; ".join(parts)


class _Facts(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def describe(
    kind: str,
    *,
    before: Any = None,
    after: Any = None,
    data: Mapping[str, Any] | None = None,
    sentences: Mapping[str, str | tuple[str, ...]] = ORDER_SENTENCES,
    labels: Mapping[str, str] = STATUS_LABELS,
) -> Described:
    facts = _Facts()
    for source, prefix in ((data, ""), (before, "was_"), (after, "")):
        if isinstance(source, Mapping):
            facts.update({f"{prefix}{k}": humanize(v, labels) for k, v in source.items()})
    templates = sentences.get(kind, ())
    sentence, said = "", frozenset()
    for template in (templates,) if isinstance(templates, str) else templates:
        try:
            sentence = string.Formatter().vformat(template, (), facts)
        except (KeyError, IndexError, ValueError):
            continue
        said = frozenset(
            field.removeprefix("was_") for _, field, _, _ in string.Formatter().parse(template) if field
        )
        break
    if not sentence:
        sentence = f"{kind.replace('_', ' ').replace('.', ' ').capitalize()}."
    return Described(sentence=sentence, change=change_text(before, after, skip=said, labels=labels))
