"""Two-factor sign-in for staff (django-otp): TOTP enrolled with a QR code, single-use recovery
codes (django-otp's static device), and the middleware that holds back every staff page, the API
with a session and the admin until the second factor is given (docs/security.md).

Who must: users holding a role named in OMS_2FA_REQUIRED_ROLES (admin, finance and approver by
default; a superuser holds every role), and anybody entering /admin/. Others may enrol.
"""

from __future__ import annotations

import logging
from base64 import b32encode
from urllib.parse import urlencode

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import devices_for_user, match_token, user_has_device
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from .web import nav_for, roles_of

log = logging.getLogger("oms.security")

SETUP_URL = "/accounts/2fa/setup/"
VERIFY_URL = "/accounts/2fa/verify/"
# Reachable before the second factor: signing in and out, the 2FA screens themselves, and what
# carries no staff data (static files, probes, the CSP report sink, the web app manifest).
EXEMPT_PREFIXES = (
    "/accounts/",
    "/admin/login/",
    "/admin/logout/",
    "/static/",
    "/healthz",
    "/metrics",
    "/csp-report",
    "/manifest.webmanifest",
    "/api/schema/",
    "/api/docs/",
)
RECOVERY_DEVICE_NAME = "recovery codes"


def second_factor_required(request: HttpRequest) -> bool:
    """Must this signed-in user pass a second factor before `request.path`?"""
    if request.path.startswith("/admin/"):
        return True
    required = set(getattr(settings, "OMS_2FA_REQUIRED_ROLES", ()))
    return bool(required and roles_of(request) & required)


class SecondFactorRequiredMiddleware:
    """After django-otp's OTPMiddleware: a signed-in user who must give a second factor and has
    not, in this session, is sent to verify it (or to enrol, without a device); the API with a
    session answers 403 in the error envelope instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(EXEMPT_PREFIXES)
            and not user.is_verified()
            and second_factor_required(request)
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {
                        "code": "second_factor_required",
                        "message": "Sign in with your second factor first.",
                        "fields": {},
                    },
                    status=403,
                )
            target = VERIFY_URL if user_has_device(user) else SETUP_URL
            return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class TokenForm(forms.Form):
    otp_token = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return "/"
    return target


def _render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    return render(request, template, {"nav": nav_for(request), **context})


def recovery_codes_issue(*, user) -> list[str]:
    """A fresh set of single-use recovery codes (the old ones stop working); shown once."""
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE_NAME)
        device.confirmed = True
        device.save()
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(settings.OMS_RECOVERY_CODES)]
        StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def second_factor_reset(*, user) -> int:
    """Forget every device of `user` (lost phone): the next sign-in enrols again."""
    deleted = 0
    for device in devices_for_user(user, confirmed=None):
        device.delete()
        deleted += 1
    log.warning("second factor reset for user %s (%d device(s) removed)", user.get_username(), deleted)
    return deleted


def webauthn_rp_id(request: HttpRequest) -> str:
    """The passkey relying party: the host name the user reached (no port)."""
    return request.get_host().rsplit(":", 1)[0] if not request.get_host().startswith("[") else ""


@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: a code from the authenticator app, or a recovery code."""
    if not user_has_device(request.user):
        return redirect(f"{SETUP_URL}?{urlencode({'next': _next_url(request)})}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["otp_token"].replace(" ", "").strip()
        device = match_token(request.user, token)
        if device is not None:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = device.token_set.count()
                messages.warning(request, f"Recovery code used; {left} left. Make new ones if you run low.")
            return redirect(_next_url(request))
        log.warning("second factor refused for user %s", request.user.get_username())
        form.add_error("otp_token", "That code is not valid (or was already used). Try again.")
    return _render(request, "registration/2fa_verify.html", {"form": form, "next": _next_url(request)})


@login_required
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan the QR code (or type the secret), confirm with a code;
    then the recovery codes are shown once."""
    if user_has_device(request.user) and not request.user.is_verified():
        return redirect(f"{VERIFY_URL}?{urlencode({'next': _next_url(request)})}")
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name="authenticator app", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["otp_token"].replace(" ", "").strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
            otp_login(request, device)
            codes = recovery_codes_issue(user=request.user)
            log.info("second factor enrolled for user %s", request.user.get_username())
            return _render(
                request, "registration/2fa_codes.html", {"codes": codes, "next": _next_url(request)}
            )
        form.add_error("otp_token", "That code does not match. Check the clock of your device.")
    return _render(
        request,
        "registration/2fa_setup.html",
        {
            "form": form,
            "qr": segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2),
            "secret": b32encode(device.bin_key).decode(),
            "next": _next_url(request),
        },
    )


@login_required
@require_http_methods(["GET"])
def overview(request: HttpRequest) -> HttpResponse:
    """Your sign-in security: enrolled or not, recovery codes left, and the reset buttons."""
    static = StaticDevice.objects.filter(user=request.user, name=RECOVERY_DEVICE_NAME).first()
    return _render(
        request,
        "registration/2fa_overview.html",
        {
            "enrolled": TOTPDevice.objects.filter(user=request.user, confirmed=True).exists(),
            "codes_left": static.token_set.count() if static else 0,
            "passkeys": WebAuthnCredential.objects.filter(user=request.user, confirmed=True).count(),
            "verified": request.user.is_verified(),
            "required": second_factor_required(request),
        },
    )


@login_required
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    if not request.user.is_verified():
        return redirect(f"{VERIFY_URL}?{urlencode({'next': '/accounts/2fa/'})}")
    codes = recovery_codes_issue(user=request.user)
    return _render(request, "registration/2fa_codes.html", {"codes": codes, "next": "/accounts/2fa/"})


@login_required
@require_POST
def reset(request: HttpRequest) -> HttpResponse:
    """Start again with a new phone: only from a verified session (or an admin, in the admin)."""
    if not request.user.is_verified():
        return redirect(f"{VERIFY_URL}?{urlencode({'next': '/accounts/2fa/'})}")
    second_factor_reset(user=request.user)
    request.session.pop("otp_device_id", None)
    return redirect(SETUP_URL)
