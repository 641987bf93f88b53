"""Request-level security plumbing: the client address, the Permissions-Policy header, the CSP
violation report endpoint and the bearer token guarding /metrics (docs/security.md)."""

from __future__ import annotations

import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

log = logging.getLogger("oms.security")

MAX_REPORT_BYTES = 16 * 1024


def client_ip(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR, or behind our proxy (OMS_TRUST_X_FORWARDED_FOR) the
    first X-Forwarded-For hop. Used by the login lockout, the API key checks and the access log."""
    if getattr(settings, "OMS_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first[:45]
    return (request.META.get("REMOTE_ADDR") or "")[:45]


class PermissionsPolicyMiddleware:
    """Django sets Referrer-Policy and Cross-Origin-Opener-Policy; this adds Permissions-Policy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "OMS_PERMISSIONS_POLICY", "")
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        return response


@csrf_exempt  # browsers post reports without our token; nothing is written but a log line
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    """Browsers post `application/csp-report` (or `application/reports+json`) here on a violation."""
    body = request.body[:MAX_REPORT_BYTES]
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return HttpResponse(status=400)
    reports = data if isinstance(data, list) else [data]
    for item in reports:
        if not isinstance(item, dict):
            continue
        report = item.get("csp-report") or item.get("body") or item
        log.warning(
            "csp violation: %s blocked %s on %s",
            report.get("violated-directive") or report.get("effectiveDirective") or "?",
            report.get("blocked-uri") or report.get("blockedURL") or "?",
            report.get("document-uri") or report.get("documentURL") or "?",
            extra={"csp_report": report},
        )
    return HttpResponse(status=204)


def metrics_token_ok(request: HttpRequest) -> bool:
    """`Authorization: Bearer <OMS_METRICS_TOKEN>`, compared in constant time; unset: nobody."""
    expected = getattr(settings, "OMS_METRICS_TOKEN", "")
    header = request.headers.get("Authorization", "")
    if not expected or not header.lower().startswith("bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), expected.encode())


def log_lockout(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """Every sign-in lockout is logged (axes' `user_locked_out` signal)."""
    log.warning(
        "sign-in locked out: user=%r address=%s path=%s",
        username,
        ip_address,
        getattr(request, "path", "?"),
    )


def connect_lockout_log() -> None:
    from axes.signals import user_locked_out

    user_locked_out.connect(log_lockout, dispatch_uid="oms.kernel.security.log_lockout")
