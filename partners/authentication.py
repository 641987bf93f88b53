"""DRF authentication: a request resolves to a channel principal, a partner principal or staff."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import authentication, exceptions

from .models import Channel, Partner
from .services import channel_key_authenticate, partner_credential_authenticate


@dataclass(frozen=True)
class ChannelPrincipal:
    """A storefront/marketplace calling with its channel key: sees only its channel's data."""

    channel: Channel
    key_id: int
    is_authenticated: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    is_anonymous: bool = False

    @property
    def pk(self) -> str:
        return f"channel:{self.channel.pk}"

    def __str__(self) -> str:
        return f"channel {self.channel.code}"


@dataclass(frozen=True)
class PartnerPrincipal:
    partner: Partner
    credential_id: int
    is_authenticated: bool = True
    is_staff: bool = False
    is_superuser: bool = False
    is_anonymous: bool = False

    @property
    def pk(self) -> str:
        return f"partner:{self.partner.pk}"

    def __str__(self) -> str:
        return f"partner {self.partner.code}"


def _bearer(request, scheme: str) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("api-key "):
        token = header[8:].strip()
    else:
        token = request.headers.get("X-Api-Key", "").strip()
    if not token or not token.startswith(scheme):
        return None
    return token


class ChannelApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key ck_...` (or `X-Api-Key: ck_...`)."""

    def authenticate(self, request):
        raw = _bearer(request, "ck_")
        if raw is None:
            return None
        key = channel_key_authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return ChannelPrincipal(channel=key.channel, key_id=key.pk), key

    def authenticate_header(self, request):
        return "Api-Key"


class PartnerCredentialAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key pk_...` for warehouse, 3PL and supplier systems."""

    def authenticate(self, request):
        raw = _bearer(request, "pk_")
        if raw is None:
            return None
        cred = partner_credential_authenticate(raw)
        if cred is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked partner credential.")
        return PartnerPrincipal(partner=cred.partner, credential_id=cred.pk), cred

    def authenticate_header(self, request):
        return "Api-Key"
