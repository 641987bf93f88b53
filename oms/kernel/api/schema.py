"""The OpenAPI generator, told about the errors every operation can answer with.

Authentication, permissions, the error envelope, pagination, throttling and the database guard
apply to every view, so any operation may answer 400/401/403/404/429/503 (and, with a body,
413/415) in the one envelope. Views document their own specific errors; this fills in the rest
so that the schema matches what clients really receive.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from ..filtering import StrictBooleanFilter
from .errors import ErrorSerializer
from .inputs import decimal_pattern

TEXT = r"^[^\u0000]*$"
NON_BLANK_TEXT = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"

STANDARD_ERRORS = {
    "400": "Bad input (field-level messages in `fields`).",
    "401": "No credentials, or bad ones.",
    "403": "This caller may not do this.",
    "404": "Absent, not yours, or past the last page.",
    "429": "Throttled; see Retry-After.",
    "503": "The database is unavailable; see Retry-After.",
}
# A write may also lose a conflict with a concurrent transaction (a deadlock or serialization
# failure) after the server's own bounded retries (oms.kernel.dbretry): nothing was saved.
WRITE_UNAVAILABLE = (
    "`service_unavailable`: the database is unavailable; or `retry`: a concurrent change conflicted "
    "with this request and the server's own retries did not get through. Nothing was saved: send "
    "the same request again (with the same `Idempotency-Key`) after Retry-After seconds."
)
# Answered by the web server before the application, as HTML: a request line (path and query)
# over gunicorn's limit.
URI_TOO_LONG = {
    "description": "The request line (path and query string) is over the web server's 4094 bytes.",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
BODY_ERRORS = {
    "413": "Body over the size limit.",
    "415": "Send `Content-Type: application/json`.",
}


class OmsAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = dict(STANDARD_ERRORS)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.update(BODY_ERRORS)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            errors["503"] = WRITE_UNAVAILABLE
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code, direction=direction
                )
        responses.setdefault("414", dict(URI_TOO_LONG))
        return responses

    # --- request bodies say exactly what the API accepts (oms.kernel.api.inputs) ---------------

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and getattr(serializer, "strict_input", False) and "properties" in schema:
            schema["additionalProperties"] = False
        if getattr(serializer, "strict_input", False) and not type(serializer).__dict__.get("__doc__"):
            # The strict base's docstring is about the mechanism, not this body: say nothing.
            schema.pop("description", None)
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or not isinstance(schema, dict) or "$ref" in schema:
            return schema
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            if field.min_length is not None:
                schema["minItems"] = field.min_length
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        if isinstance(field, serializers.DecimalField) and schema.get("type") == "string":
            schema["pattern"] = decimal_pattern(field)
        elif (
            isinstance(field, serializers.CharField)
            and schema.get("type") == "string"
            and "pattern" not in schema
            and "format" not in schema
            and not any(isinstance(v, RegexValidator) for v in field.validators)  # slug, regex: theirs
        ):
            # Text is trimmed and may not hold NUL characters (PostgreSQL cannot store them); a
            # required text field needs something besides whitespace.
            schema["pattern"] = TEXT if field.allow_blank or not field.trim_whitespace else NON_BLANK_TEXT
        return schema

    # --- list filters (django-filter FilterSets, oms.kernel.filtering) --------------------------

    def get_filter_backends(self):
        # A view that filters its GET through a FilterSet documents it, even when its answer is
        # a page object rather than a bare list (the order list's cursor page).
        if self.method == "GET" and getattr(self.view, "filterset_class", None) is not None:
            return getattr(self.view, "filter_backends", [])
        return super().get_filter_backends()

    def _get_filter_parameters(self):
        parameters = super()._get_filter_parameters()
        filterset_class = getattr(self.view, "filterset_class", None)
        if filterset_class is None:
            return parameters
        for parameter in parameters:
            schema = parameter.get("schema", {})
            field = filterset_class.base_filters.get(parameter["name"])
            if isinstance(field, StrictBooleanFilter):
                parameter["schema"] = {"type": "boolean"}
                continue
            if schema.get("type") != "string" or field is None:
                continue
            # The API refuses a blank filter (`?status=`): absent means any.
            if "enum" not in schema and "format" not in schema:
                schema["minLength"] = max(schema.get("minLength", 0), 1, field.extra.get("min_length") or 0)
                regexes = [v for v in field.extra.get("validators", []) if isinstance(v, RegexValidator)]
                schema["pattern"] = regexes[0].regex.pattern if regexes else NON_BLANK_TEXT
                if field.extra.get("max_length"):
                    schema["maxLength"] = field.extra["max_length"]
        return parameters
