"""Request bodies that accept exactly what the OpenAPI schema says they accept.

One rule for every JSON body of the API: a field the serializer does not declare is refused (the
schema says `additionalProperties: false`), and a value must have the JSON type the schema gives
it: a string field takes a string (not the number 0), an integer field an integer (not "5" or
true), a boolean a boolean, a decimal a string (money and quantities travel as strings, so no
binary float ever rounds them). DRF alone would coerce all of these, which makes the schema a
promise the API does not keep.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from django.core.validators import RegexValidator
from rest_framework import serializers

UNKNOWN_FIELD = "Unknown or read-only field."

# Checked in order: a subclass comes before its base (a DecimalField is not a CharField, but a
# ChoiceField of strings is a string, a BooleanField is an int in Python).
_JSON_TYPES: tuple[tuple[type[serializers.Field], tuple[type, ...], str], ...] = (
    (serializers.BooleanField, (bool,), "Must be true or false."),
    (serializers.IntegerField, (int,), "Must be an integer."),
    (serializers.DecimalField, (str,), 'Must be a decimal number in a string, e.g. "2.5".'),
    (serializers.FloatField, (int, float), "Must be a number."),
    (serializers.MultipleChoiceField, (list,), "Must be a list."),
    (serializers.ChoiceField, (str,), "Must be a string."),
    (serializers.CharField, (str,), "Must be a string."),
    (serializers.DateField, (str,), "Must be a date string (YYYY-MM-DD)."),
    (serializers.DateTimeField, (str,), "Must be a date-time string (ISO 8601)."),
    (serializers.ListField, (list,), "Must be a list."),
    (serializers.ListSerializer, (list,), "Must be a list."),
    (serializers.DictField, (dict,), "Must be an object."),
    (serializers.Serializer, (dict,), "Must be an object."),
)


@lru_cache(maxsize=64)
def _decimal_pattern(whole: int, places: int, sign: str) -> str:
    fraction = rf"(?:\.\d{{1,{places}}})?" if places else ""
    if sign == "positive":  # above zero: a non-zero whole part, or a non-zero fraction
        small = "|".join(
            "0" * i + "[1-9]" + (rf"\d{{0,{places - 1 - i}}}" if places - 1 - i else "")
            for i in range(places)
        )
        return rf"^(?:[1-9]\d{{0,{whole - 1}}}{fraction}|0\.(?:{small}))$"
    number = rf"(?:0|[1-9]\d{{0,{whole - 1}}}){fraction}"
    return rf"^{number}$" if sign == "non_negative" else rf"^-?{number}$"


def decimal_pattern(field: serializers.DecimalField) -> str:
    """The one spelling of a decimal a request may use: digits, an optional fraction up to the
    field's places, no exponent, no leading zeros, a sign only where negatives are allowed, and
    the bounds the field has (a maximum that is a power of ten caps the whole digits). The schema
    publishes it and the API enforces it, so both say the same."""
    places = field.decimal_places or 0
    whole = (field.max_digits or 20) - places
    if field.max_value is not None and Decimal(field.max_value) > 0:
        whole = min(whole, len(str(int(Decimal(field.max_value)))) - 1)
    minimum = field.min_value
    if minimum is not None and Decimal(minimum) > 0:
        sign = "positive"
    elif minimum is not None and Decimal(minimum) == 0:
        sign = "non_negative"
    else:
        sign = "any"
    return _decimal_pattern(max(whole, 1), places, sign)


def raw_text_problem(value, *, max_length=None, validators=()) -> str | None:
    """What is wrong with text as sent, before any trimming: the schema's maxLength and pattern
    count the spaces that DRF and Django forms would strip, so the API measures the same."""
    if not isinstance(value, str):
        return None
    if max_length is not None and len(value) > max_length:
        return f"Ensure this value has no more than {max_length} characters."
    for validator in validators:
        if (
            isinstance(validator, RegexValidator)
            and bool(validator.regex.search(value)) == validator.inverse_match
        ):
            return str(validator.message)
    return None


def _text_problem(field, value) -> str | None:
    if value == "" and getattr(field, "allow_blank", False):
        return None  # blank is allowed and not matched against the pattern (the schema's oneOf)
    return raw_text_problem(value, max_length=getattr(field, "max_length", None), validators=field.validators)


def json_type_error(field: serializers.Field, value) -> str | None:
    """The message when `value` (from a JSON body) has the wrong JSON type for `field`."""
    if value is None:
        return None  # the field's own allow_null decides
    for kind, types, message in _JSON_TYPES:
        if isinstance(field, kind):
            if isinstance(value, bool) and bool not in types:
                return message
            if not isinstance(value, types):
                return message
            if isinstance(field, serializers.CharField) and (problem := _text_problem(field, value)):
                return problem
            if kind is serializers.DecimalField and not re.fullmatch(decimal_pattern(field), value):
                try:
                    field.run_validation(value)
                except serializers.ValidationError:
                    return None  # out of range or not a number: the field says so in its own words
                return message  # a spelling the schema does not allow ("1e3", "01", "1.")
            return None
    return None


class StrictInputMixin:
    """Refuses undeclared fields and values of the wrong JSON type (see the module docstring).
    Every input serializer of the API uses it; the schema marks their bodies
    `additionalProperties: false` (oms.kernel.api.schema)."""

    strict_input = True

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors: dict[str, list[str]] = {}
            fields = self.fields
            for name, value in data.items():
                field = fields.get(name)
                if field is None or field.read_only:
                    errors[name] = [UNKNOWN_FIELD]
                    continue
                problem = json_type_error(field, value)
                if problem is None and isinstance(field, serializers.ListField) and isinstance(value, list):
                    child_problems = {
                        i: [msg]
                        for i, item in enumerate(value)
                        if (msg := json_type_error(field.child, item))
                    }
                    if child_problems:
                        errors[name] = child_problems
                        continue
                if problem:
                    errors[name] = [problem]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictInputSerializer(StrictInputMixin, serializers.Serializer):
    """The base of every API request body."""


class StrictQuerySerializer(serializers.Serializer):
    """Query parameters: a parameter given blank (`?revision=`) is refused like any other value
    outside the schema; absent means the default."""

    def to_internal_value(self, data):
        if hasattr(data, "getlist"):
            problems = {}
            for name, field in self.fields.items():
                values = data.getlist(name) if name in data else []
                child = getattr(field, "child", field)
                if any(not str(v).strip() for v in values):
                    problems[name] = ["May not be blank: leave the parameter out for the default."]
                elif isinstance(child, serializers.CharField) and (
                    problem := next((p for v in values if (p := _text_problem(child, v))), None)
                ):
                    problems[name] = [problem]
            if problems:
                raise serializers.ValidationError(problems)
        return super().to_internal_value(data)
