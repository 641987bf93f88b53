"""The gateway interface: what the OMS asks of a payment-service provider. Card data never
reaches the OMS; the storefront sends a provider token (a Stripe PaymentMethod, an approved
PayPal order id). Every call carries an idempotency key, so a retry after a lost reply is the
same request to the provider, never a second charge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


class GatewayError(Exception):
    """The provider refused the request for a reason other than a decline (bad state, bad key)."""


class GatewayDeclined(GatewayError):
    def __init__(self, reason: str, provider_ref: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.provider_ref = provider_ref


class GatewayUnavailable(GatewayError):
    """No answer (timeout, connection lost): the outcome is unknown until asked again."""


class WebhookSignatureInvalid(Exception):
    pass


@dataclass(frozen=True)
class GatewayResult:
    provider_ref: str  # the object the next call names (intent, authorization)
    amount: Decimal  # authorized, captured or refunded by this call
    status: str  # the provider's own status word
    operation_ref: str = ""  # the capture or refund id where the provider has one
    raw: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookMessage:
    event_id: str
    event_type: str  # normalized: authorized | captured | refunded | voided | failed | other
    provider_ref: str
    amount: Decimal | None
    created: int  # provider timestamp (seconds), for ordering
    raw: Mapping = field(default_factory=dict)


class Gateway(Protocol):
    provider: str

    def authorize(
        self, *, amount: Decimal, currency: str, token: str, key: str, reference: str
    ) -> GatewayResult: ...

    def capture(
        self, *, provider_ref: str, amount: Decimal, currency: str, key: str, final: bool
    ) -> GatewayResult: ...

    def void(self, *, provider_ref: str, key: str) -> GatewayResult: ...

    def refund(
        self, *, provider_ref: str, capture_ref: str, amount: Decimal, currency: str, key: str
    ) -> GatewayResult: ...

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookMessage: ...
