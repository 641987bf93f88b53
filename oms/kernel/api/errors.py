"""One error envelope for the whole API: {"code", "message", "fields"}."""

from __future__ import annotations

import logging

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework import serializers
from rest_framework.response import Response

from ..dbretry import is_conflict
from ..exceptions import DomainError

log = logging.getLogger(__name__)


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


def _join(prefix: str, key) -> str:
    if isinstance(key, int):  # list items: DRF >= 3.17 reports them as {index: errors}
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF error detail -> {"lines[0].qty": ["..."]}, the same shape whatever DRF's list format."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            out.update(_flatten(value, _join(prefix, key)))
    elif isinstance(detail, list) and any(isinstance(v, (dict, list)) for v in detail):
        for i, item in enumerate(detail):
            out.update(_flatten(item, _join(prefix, i)))
    elif isinstance(detail, list):
        if detail:
            out[prefix or "non_field_errors"] = [str(v) for v in detail]
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def envelope(
    code: str, message: str, fields: dict | None = None, status: int = 400, headers=None
) -> Response:
    return Response(
        {"code": code, "message": message, "fields": fields or {}}, status=status, headers=headers
    )


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        fields = {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in exc.fields.items()}
        response = envelope(exc.code, exc.message, fields, exc.status_code)
        if "change_cost" in exc.context:  # a revision refused for its cost says what it would cost
            response.data["change_cost"] = exc.context["change_cost"]
        return response
    # A record the caller named that is not there (a service's .get()) is a 404, never a 500.
    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        return envelope("not_found", "Not found.", status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return envelope("permission_denied", "You may not do this.", status=403)
    if isinstance(exc, RequestDataTooBig):
        return envelope("request_too_large", "The request body is too large.", status=413)
    if isinstance(exc, (OperationalError, InterfaceError)):
        # A deadlock victim or a serialization failure (SQLSTATE 40P01 / 40001) was rolled back
        # whole: nothing was written and the same request can simply be sent again.
        # The services retried it a few times already (oms.kernel.dbretry).
        if is_conflict(exc):
            log.warning("transaction rolled back by a concurrent one, caller may retry", exc_info=exc)
            return envelope(
                "retry",
                "A concurrent change conflicted with this request; nothing was saved, send it again.",
                status=503,
                headers={"Retry-After": "1"},
            )
        log.error("database unavailable", exc_info=exc)
        return envelope(
            "service_unavailable",
            "The database is unavailable; retry shortly.",
            status=503,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, drf.ValidationError):
        return envelope("validation_failed", "Some fields are not valid.", _flatten(exc.detail), 400)
    if isinstance(exc, drf.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait))
        status = exc.status_code
        if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
            status = 401
        detail = exc.detail
        message = str(detail) if not isinstance(detail, (dict, list)) else exc.default_detail
        fields = _flatten(detail) if isinstance(detail, (dict, list)) else {}
        return envelope(
            exc.default_code if hasattr(exc, "default_code") else "error",
            str(message),
            fields,
            status,
            headers,
        )
    return None
