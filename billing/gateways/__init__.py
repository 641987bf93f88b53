"""Payment gateways per channel and method, from settings.OMS_PAYMENT_GATEWAYS (docs/payments.md).
A method without keys is off: `gateway_for` returns None and the caller refuses the payment."""

from __future__ import annotations

from django.conf import settings

from .base import (
    Gateway,
    GatewayDeclined,
    GatewayError,
    GatewayResult,
    GatewayUnavailable,
    WebhookMessage,
    WebhookSignatureInvalid,
)

__all__ = [
    "Gateway",
    "GatewayDeclined",
    "GatewayError",
    "GatewayResult",
    "GatewayUnavailable",
    "WebhookMessage",
    "WebhookSignatureInvalid",
    "gateway_for",
    "gateway_for_provider",
]

_REQUIRED = {"stripe": ("api_key", "webhook_secret"), "paypal": ("client_id", "client_secret", "webhook_id")}


def _build(conf: dict) -> Gateway | None:
    provider = conf.get("provider", "")
    if provider not in _REQUIRED or not all(conf.get(k) for k in _REQUIRED[provider]):
        return None
    timeout = float(conf.get("timeout", settings.OMS_PAYMENT_TIMEOUT_SECONDS))
    if provider == "stripe":
        from .stripe_gateway import StripeGateway

        return StripeGateway(
            api_key=conf["api_key"],
            webhook_secret=conf["webhook_secret"],
            api_base=conf.get("api_base", ""),
            timeout=timeout,
        )
    from .paypal_gateway import PayPalGateway

    return PayPalGateway(
        client_id=conf["client_id"],
        client_secret=conf["client_secret"],
        webhook_id=conf["webhook_id"],
        api_base=conf.get("api_base", ""),
        live=bool(conf.get("live", False)),
        timeout=timeout,
    )


def gateway_for(channel_code: str, method: str) -> Gateway | None:
    conf = (settings.OMS_PAYMENT_GATEWAYS.get(channel_code) or {}).get(method)
    return _build(conf) if conf else None


def gateway_for_provider(provider: str, channel_code: str = "") -> Gateway | None:
    """The gateway of a provider (a webhook names only the provider): the channel's own, else the
    first channel configured with it."""
    channels = settings.OMS_PAYMENT_GATEWAYS
    ordered = ([channel_code] if channel_code in channels else []) + sorted(channels)
    for code in ordered:
        for conf in (channels.get(code) or {}).values():
            if conf.get("provider") == provider:
                gateway = _build(conf)
                if gateway is not None:
                    return gateway
    return None
