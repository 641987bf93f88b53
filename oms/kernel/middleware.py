from __future__ import annotations

import logging
import re

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

from . import refcache
from .context import new_correlation_id, reset_correlation_id, set_correlation_id

log = logging.getLogger(__name__)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class CorrelationIdMiddleware:
    """Take X-Request-ID from the caller (or make one) and echo it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        cid = incoming if _SAFE_ID.match(incoming) else new_correlation_id()
        request.correlation_id = cid
        token = set_correlation_id(cid)
        try:
            response = self.get_response(request)
        finally:
            reset_correlation_id(token)
        response["X-Request-ID"] = cid
        return response


class ReferenceDataScopeMiddleware:
    """A request reads the reference-data versions once, at its first use (`oms.kernel.refcache`)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = refcache.scope_begin()
        try:
            return self.get_response(request)
        finally:
            refcache.scope_end(token)


def database_unavailable_response() -> JsonResponse:
    response = JsonResponse(
        {
            "code": "service_unavailable",
            "message": "The database is unavailable; retry shortly.",
            "fields": {},
        },
        status=503,
    )
    response["Retry-After"] = "5"
    return response


class DatabaseUnavailableMiddleware:
    """A lost database answers 503 with Retry-After, never a 500 page.

    This catches what views (and template rendering) raise. Django turns an exception raised by
    another middleware (a session save after a view) into a 500 before it reaches us, so the
    project's `handler500` (`oms.kernel.views.server_error`) makes that one a 503 as well.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError) as exc:  # only if Django did not convert it first
            log.error("database unavailable: %s", exc)
            return database_unavailable_response()

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)):
            log.error("database unavailable: %s", exception)
            return database_unavailable_response()
        return None


class ApiNotFoundMiddleware:
    """An /api/ URL that matches no route answers 404 in the error envelope, not an HTML page
    (a client that put a bad value in a path segment must still get JSON it can parse)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return JsonResponse({"code": "not_found", "message": "Not found.", "fields": {}}, status=404)
        return response
