"""The base of every list filter (django-filter FilterSets), for the API and the staff UI alike.

- A parameter that is not valid is an error, never silently ignored: the API answers 400 in its
  envelope, the staff UI shows the message on the field (the form keeps what was typed).
- Through the API (a DRF request) a parameter given blank (`?status=`) is refused too: the schema
  says a filter is either absent or a value. The staff UI's search form submits every field, so
  there a blank field means "any".
- Dates are ISO 8601 (YYYY-MM-DD) only, as the schema says; booleans are `true` or `false`.
"""

from __future__ import annotations

import django_filters
from django import forms

from .api.inputs import raw_text_problem

ISO_DATE = ["%Y-%m-%d"]
BLANK = "May not be blank: leave the parameter out to mean any."


class IsoDateFilter(django_filters.DateFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("input_formats", ISO_DATE)
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(*args, **kwargs)


class StrictBooleanFilter(django_filters.TypedChoiceFilter):
    """`true` or `false` and nothing else (django-filter's BooleanFilter ignores `?x=maybe`)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [("true", "true"), ("false", "false")])
        kwargs.setdefault("coerce", lambda value: value == "true")
        super().__init__(*args, **kwargs)


class StrictFilterSet(django_filters.FilterSet):
    """See the module docstring."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        if self.is_bound and _is_api_request(self.request):
            for name, filter_ in self.filters.items():
                if name not in self.data:
                    continue
                raw = str(self.data.get(name, ""))
                problem = BLANK if not raw.strip() else None
                if problem is None and isinstance(filter_, django_filters.CharFilter):
                    # Measured as sent, like the schema's maxLength and pattern (the form trims).
                    problem = raw_text_problem(
                        raw,
                        max_length=filter_.extra.get("max_length"),
                        validators=filter_.extra.get("validators", ()),
                    )
                if problem:
                    self.form.add_error(name, problem)
                    valid = False
        return valid


def _is_api_request(request) -> bool:
    # A DRF request wraps Django's; the staff UI's views get Django's own.
    return request is not None and hasattr(request, "query_params")
