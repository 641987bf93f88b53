"""Template tags for document templates: {% money amount %}, {% docdate value %}, {% qty n %}.

They read the document's `currency` and `locale` from the template context, so a template never
formats a number itself."""

from __future__ import annotations

from django import template

from .. import formatting

register = template.Library()


@register.simple_tag(takes_context=True)
def money(context, value, currency=None) -> str:
    return formatting.money(value, currency or context.get("currency") or "EUR", context.get("locale", "en"))


@register.simple_tag(takes_context=True)
def docdate(context, value) -> str:
    return formatting.long_date(value, context.get("locale", "en"))


@register.simple_tag(takes_context=True)
def qty(context, value) -> str:
    return formatting.number(value, context.get("locale", "en"))


@register.filter
def script_lang(value) -> str:
    return formatting.script_lang(str(value or ""))
