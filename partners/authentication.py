"""DRF authentication: a request resolves to a channel principal, a partner principal or staff."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from oms.kernel.security import client_ip

from .models import Channel, Partner
from .services import (
    bad_key_blocked,
    bad_key_note,
    channel_key_authenticate,
    key_refusal,
    partner_credential_authenticate,
)


@dataclass(frozen=True)
class _Principal:
    """Not a Django user: DRF needs is_authenticated; staff flags are always off."""

    is_authenticated = True
    is_staff = False
    is_superuser = False
    is_anonymous = False


@dataclass(frozen=True)
class ChannelPrincipal(_Principal):
    """A storefront/marketplace calling with its channel key: sees only its channel's data."""

    channel: Channel
    key_id: int

    @property
    def pk(self) -> str:
        return f"channel:{self.channel.pk}"

    def __str__(self) -> str:
        return f"channel {self.channel.code}"


@dataclass(frozen=True)
class PartnerPrincipal(_Principal):
    """A warehouse, 3PL or supplier system calling with its partner credential."""

    partner: Partner
    credential_id: int

    @property
    def pk(self) -> str:
        return f"partner:{self.partner.pk}"

    def __str__(self) -> str:
        return f"partner {self.partner.code}"


def _presented_key(request, kind: str) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("api-key "):
        token = header[8:].strip()
    else:
        token = request.headers.get("X-Api-Key", "").strip()
    if not token or not token.startswith(f"{kind}_"):
        return None
    return token


class _ApiKeyAuthentication(authentication.BaseAuthentication):
    """Bad keys are counted per address: past OMS_API_BAD_KEY_LIMIT in the window, every key
    from that address is answered 429 until the window ends (no guessing at full speed). A good
    key is refused with 403 when it is read-only and the request writes, or when it comes from
    outside the key's address allowlist."""

    kind = ""
    refusal = ""

    def resolve(self, raw_key: str, ip: str):
        raise NotImplementedError

    def authenticate(self, request):
        raw = _presented_key(request, self.kind)
        if raw is None:
            return None  # not ours: let the next scheme try
        ip = client_ip(request)
        if bad_key_blocked(ip):
            raise exceptions.Throttled(
                wait=settings.OMS_API_BAD_KEY_WINDOW_SECONDS, detail="Too many invalid API keys."
            )
        resolved = self.resolve(raw, ip)
        if resolved is None:
            bad_key_note(ip)
            raise exceptions.AuthenticationFailed(self.refusal)
        refusal = key_refusal(resolved[1], ip=ip, write=request.method not in SAFE_METHODS)
        if refusal:
            raise exceptions.PermissionDenied(refusal)
        return resolved

    def authenticate_header(self, request):
        return "Api-Key"


class ChannelApiKeyAuthentication(_ApiKeyAuthentication):
    """`Authorization: Api-Key ck_...` (or `X-Api-Key: ck_...`)."""

    kind = "ck"
    refusal = "Invalid or revoked API key."

    def resolve(self, raw_key: str, ip: str):
        key = channel_key_authenticate(raw_key, ip)
        return (ChannelPrincipal(channel=key.channel, key_id=key.pk), key) if key else None


class PartnerCredentialAuthentication(_ApiKeyAuthentication):
    """`Authorization: Api-Key pk_...` for warehouse, 3PL and supplier systems."""

    kind = "pk"
    refusal = "Invalid or revoked partner credential."

    def resolve(self, raw_key: str, ip: str):
        cred = partner_credential_authenticate(raw_key, ip)
        return (PartnerPrincipal(partner=cred.partner, credential_id=cred.pk), cred) if cred else None
