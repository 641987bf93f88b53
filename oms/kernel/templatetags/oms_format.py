"""Template filters over `oms.kernel.formatting`: `{% load oms_format %}` then
`{{ order.total|money:order.currency }}`, `{{ line.quantity|qty:line.uom_places }}`,
`{{ order.created_at|when }}`, `{{ day|day }}`, `{{ hold.reason|stored_text }}`."""

from __future__ import annotations

from django import template

from oms.kernel import formatting

register = template.Library()


@register.filter
def money(amount, currency=""):
    return formatting.format_money(amount, currency or "")


@register.filter
def amount(value, currency=""):
    """Money without the currency code (a column whose header names it)."""
    return formatting.format_money(value, currency or "", with_currency=False)


@register.filter
def qty(value, places=None):
    if places is not None and not isinstance(places, int):
        places = getattr(places, "decimal_places", None)  # a UnitOfMeasure
    return formatting.format_quantity(value, places)


@register.filter
def when(value):
    return formatting.format_datetime(value)


@register.filter
def day(value):
    return formatting.format_date(value)


@register.filter
def stored_text(text):
    """Amounts and dates inside a stored text, by the same rules."""
    return formatting.readable_text(text)
