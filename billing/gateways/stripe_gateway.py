"""Stripe through its official library: PaymentIntents with manual capture (authorize now,
capture per shipment with `final_capture=false` until the last), refunds, and webhooks verified
with the Stripe-Signature HMAC scheme (`stripe.Webhook.construct_event`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

import stripe

from oms.kernel.money import minor_units

from .base import (
    GatewayDeclined,
    GatewayError,
    GatewayResult,
    GatewayUnavailable,
    WebhookMessage,
    WebhookSignatureInvalid,
)

EVENT_TYPES = {
    "payment_intent.amount_capturable_updated": "authorized",
    "payment_intent.succeeded": "captured",
    "payment_intent.payment_failed": "failed",
    "payment_intent.canceled": "voided",
    "charge.captured": "captured",
    "charge.refunded": "refunded",
}


def to_minor(amount: Decimal, currency: str) -> int:
    return int((amount * (Decimal(10) ** minor_units(currency))).to_integral_value())


def from_minor(value: int, currency: str) -> Decimal:
    return Decimal(value).scaleb(-minor_units(currency))


class StripeGateway:
    provider = "stripe"

    def __init__(self, *, api_key: str, webhook_secret: str, api_base: str = "", timeout: float = 10.0):
        self.webhook_secret = webhook_secret
        kwargs = {}
        if api_base:
            kwargs["base_addresses"] = {"api": api_base.rstrip("/")}
        self.client = stripe.StripeClient(
            api_key,
            max_network_retries=0,  # our own retry is the reconciliation, with the same key
            http_client=stripe.RequestsClient(timeout=timeout),
            **kwargs,
        )

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except stripe.CardError as exc:
            body = (exc.json_body or {}).get("error", {})
            reason = body.get("decline_code") or body.get("code") or "declined"
            raise GatewayDeclined(
                str(reason), provider_ref=(body.get("payment_intent") or {}).get("id", "")
            ) from exc
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise GatewayUnavailable(str(exc)) from exc
        except stripe.APIError as exc:
            if exc.http_status is None or exc.http_status >= 500:
                raise GatewayUnavailable(str(exc)) from exc
            raise GatewayError(str(exc)) from exc
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc

    def authorize(self, *, amount, currency, token, key, reference):
        intent = self._call(
            self.client.v1.payment_intents.create,
            params={
                "amount": to_minor(amount, currency),
                "currency": currency.lower(),
                "payment_method": token,
                "capture_method": "manual",
                "confirm": True,
                "metadata": {"reference": reference},
            },
            options={"idempotency_key": key},
        )
        if intent.status != "requires_capture":
            raise GatewayDeclined(intent.status, provider_ref=intent.id)
        return GatewayResult(intent.id, from_minor(intent.amount_capturable, currency), intent.status)

    def capture(self, *, provider_ref, amount, currency, key, final):
        intent = self._call(
            self.client.v1.payment_intents.capture,
            provider_ref,
            params={"amount_to_capture": to_minor(amount, currency), "final_capture": final},
            options={"idempotency_key": key},
        )
        charge = intent.latest_charge if isinstance(intent.latest_charge, str) else ""
        return GatewayResult(intent.id, amount, intent.status, operation_ref=charge or "")

    def void(self, *, provider_ref, key):
        intent = self._call(
            self.client.v1.payment_intents.cancel, provider_ref, options={"idempotency_key": key}
        )
        return GatewayResult(intent.id, Decimal(0), intent.status)

    def refund(self, *, provider_ref, capture_ref, amount, currency, key):
        refund = self._call(
            self.client.v1.refunds.create,
            params={"payment_intent": provider_ref, "amount": to_minor(amount, currency)},
            options={"idempotency_key": key},
        )
        return GatewayResult(
            provider_ref, from_minor(refund.amount, currency), refund.status, operation_ref=refund.id
        )

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookMessage:
        signature = headers.get("Stripe-Signature", "")
        try:
            event = stripe.Webhook.construct_event(body.decode("utf-8"), signature, self.webhook_secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise WebhookSignatureInvalid(str(exc)) from exc
        payload = json.loads(body)
        obj = payload.get("data", {}).get("object", {})
        currency = (obj.get("currency") or "usd").upper()
        ref = obj.get("id", "") if obj.get("object") == "payment_intent" else obj.get("payment_intent", "")
        amount = (
            obj.get("amount_received") if EVENT_TYPES.get(event["type"]) == "captured" else obj.get("amount")
        )
        return WebhookMessage(
            event_id=payload["id"],
            event_type=EVENT_TYPES.get(payload["type"], "other"),
            provider_ref=ref or "",
            amount=from_minor(amount, currency) if amount is not None else None,
            created=int(payload.get("created", 0)),
            raw=payload,
        )
