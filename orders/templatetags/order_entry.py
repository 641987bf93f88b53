"""Small template helpers for the order screens: messages by input name, readable charge rows."""

from __future__ import annotations

from django import template

from oms.kernel.formatting import format_quantity

register = template.Library()

CHARGE_WORDS = {
    "list_price": "List price",
    "source_price": "Price sent by the channel",
    "discount": "Discount",
    "markup": "Markup",
    "manual": "Manual adjustment",
    "order_discount": "Order discount",
    "shipping": "Shipping",
    "tax": "Tax",
}


@register.filter
def get_item(mapping, key):
    """`{{ errors|get_item:field.name }}`: a dict entry by a computed key (empty when absent)."""
    if not mapping:
        return []
    return mapping.get(key, [])


@register.filter
def charge_kind(kind: str) -> str:
    return CHARGE_WORDS.get(kind, (kind or "").replace("_", " ").capitalize())


@register.filter
def charge_label(component) -> str:
    """What a charge row says: the rule's or list's own words, without the code repeated after
    it ("List price (usd-list)", not "List price (usd-list) (usd-list)"), and a tax rate as a
    percentage ("Sales tax 6.25%")."""
    get = component.get if isinstance(component, dict) else lambda k, d=None: getattr(component, k, d)
    kind, label = get("kind", ""), get("label", "") or ""
    words = CHARGE_WORDS.get(kind, "")
    text = label or words
    if kind == "tax":
        detail = get("detail") or {}
        rate = detail.get("rate") if isinstance(detail, dict) else None
        if rate is not None:
            text = f"{text} {format_quantity(rate)}%"
    return text


@register.filter
def tax_rate(rate) -> str:
    """A stored rate (6.2500) as people read it: 6.25%."""
    shown = format_quantity(rate)
    return f"{shown}%" if shown else ""
