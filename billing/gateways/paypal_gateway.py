"""PayPal through its official server SDK (`paypal-server-sdk`, Orders v2): the storefront sends
the id of an order the buyer approved; the OMS authorizes it, captures the authorization per
shipment (`final_capture` on the last), voids, and refunds captures. Webhooks are verified the
way PayPal signs them: RSA-SHA256 over "transmission_id|time|webhook_id|crc32(body)" with the
certificate named in PAYPAL-CERT-URL (fetched only from the configured API host or paypal.com)."""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.request
import zlib
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from urllib.parse import urlparse

import requests
from paypalserversdk.configuration import Configuration, Environment
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.capture_request import CaptureRequest
from paypalserversdk.models.money import Money
from paypalserversdk.models.refund_request import RefundRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from oms.kernel.money import round_money

from .base import (
    GatewayDeclined,
    GatewayError,
    GatewayResult,
    GatewayUnavailable,
    WebhookMessage,
    WebhookSignatureInvalid,
)

EVENT_TYPES = {
    "PAYMENT.AUTHORIZATION.CREATED": "authorized",
    "PAYMENT.AUTHORIZATION.VOIDED": "voided",
    "PAYMENT.CAPTURE.COMPLETED": "captured",
    "PAYMENT.CAPTURE.DENIED": "failed",
    "PAYMENT.CAPTURE.REFUNDED": "refunded",
}
DECLINE_ISSUES = {
    "INSTRUMENT_DECLINED",
    "PAYER_ACTION_REQUIRED",
    "TRANSACTION_REFUSED",
    "AUTHORIZATION_DENIED",
}


class _Configuration(Configuration):
    """The SDK's configuration with its base URL replaceable (the sandbox in tests)."""

    api_base = ""

    def get_base_uri(self, server=None):
        return self.api_base or super().get_base_uri()

    def clone_with(self, **kwargs):
        clone = super().clone_with(**kwargs)
        clone.__class__ = _Configuration
        clone.api_base = self.api_base
        return clone


@lru_cache(maxsize=16)
def _certificate(url: str):
    from cryptography import x509

    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (host checked by caller)
        return x509.load_pem_x509_certificate(response.read())


def _money(amount: Decimal, currency: str) -> Money:
    return Money(currency_code=currency, value=str(round_money(amount, currency)))


class PayPalGateway:
    provider = "paypal"

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        webhook_id: str,
        api_base: str = "",
        live: bool = False,
        timeout: float = 10.0,
    ):
        self.webhook_id = webhook_id
        self.api_base = api_base.rstrip("/")
        config = _Configuration(
            timeout=timeout,
            max_retries=0,
            environment=Environment.PRODUCTION if live else Environment.SANDBOX,
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=client_id, o_auth_client_secret=client_secret
            ),
        )
        config.api_base = self.api_base
        self.client = PaypalServersdkClient(config=config)

    def _call(self, fn, options: dict) -> dict:
        try:
            response = fn(options)
        except ApiException as exc:
            body = {}
            with contextlib.suppress(AttributeError, ValueError):
                body = json.loads(exc.response.text or "{}")
            issues = {d.get("issue", "") for d in body.get("details", []) if isinstance(d, dict)}
            if issues & DECLINE_ISSUES:
                raise GatewayDeclined(sorted(issues & DECLINE_ISSUES)[0]) from exc
            if exc.response_code >= 500:
                raise GatewayUnavailable(str(exc)) from exc
            raise GatewayError(f"{exc.response_code}: {body.get('name', '')} {sorted(issues)}") from exc
        except requests.exceptions.RequestException as exc:
            raise GatewayUnavailable(str(exc)) from exc
        return json.loads(response.text or "{}")

    def authorize(self, *, amount, currency, token, key, reference):
        order = self._call(
            self.client.orders.authorize_order,
            {"id": token, "paypal_request_id": key, "prefer": "return=representation"},
        )
        auth = order["purchase_units"][0]["payments"]["authorizations"][0]
        if auth.get("status") not in ("CREATED", "PENDING"):
            raise GatewayDeclined(auth.get("status", "DENIED"), provider_ref=auth.get("id", ""))
        authorized = Decimal(auth["amount"]["value"])
        if authorized < amount:
            raise GatewayDeclined("AMOUNT_BELOW_ORDER", provider_ref=auth["id"])
        return GatewayResult(auth["id"], amount, auth["status"], raw=order)

    def capture(self, *, provider_ref, amount, currency, key, final):
        capture = self._call(
            self.client.payments.capture_authorized_payment,
            {
                "authorization_id": provider_ref,
                "paypal_request_id": key,
                "prefer": "return=representation",
                "body": CaptureRequest(amount=_money(amount, currency), final_capture=final),
            },
        )
        return GatewayResult(
            provider_ref, amount, capture.get("status", ""), operation_ref=capture.get("id", "")
        )

    def void(self, *, provider_ref, key):
        self._call(
            self.client.payments.void_payment, {"authorization_id": provider_ref, "paypal_request_id": key}
        )
        return GatewayResult(provider_ref, Decimal(0), "VOIDED")

    def refund(self, *, provider_ref, capture_ref, amount, currency, key):
        refund = self._call(
            self.client.payments.refund_captured_payment,
            {
                "capture_id": capture_ref,
                "paypal_request_id": key,
                "prefer": "return=representation",
                "body": RefundRequest(amount=_money(amount, currency)),
            },
        )
        return GatewayResult(
            provider_ref, amount, refund.get("status", ""), operation_ref=refund.get("id", "")
        )

    def _allowed_cert_url(self, url: str) -> bool:
        host = urlparse(url).hostname or ""
        own = urlparse(self.api_base).hostname if self.api_base else None
        return host == own or host.endswith(".paypal.com")

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> WebhookMessage:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        h = {k.lower(): v for k, v in headers.items()}
        transmission_id = h.get("paypal-transmission-id", "")
        transmission_time = h.get("paypal-transmission-time", "")
        cert_url = h.get("paypal-cert-url", "")
        signature = h.get("paypal-transmission-sig", "")
        if not (transmission_id and transmission_time and cert_url and signature):
            raise WebhookSignatureInvalid("missing PayPal transmission headers")
        if h.get("paypal-auth-algo", "SHA256withRSA") != "SHA256withRSA" or not self._allowed_cert_url(
            cert_url
        ):
            raise WebhookSignatureInvalid("untrusted certificate or algorithm")
        message = f"{transmission_id}|{transmission_time}|{self.webhook_id}|{zlib.crc32(body)}".encode()
        try:
            _certificate(cert_url).public_key().verify(
                base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError, OSError) as exc:
            raise WebhookSignatureInvalid(str(exc)) from exc
        payload = json.loads(body)
        resource = payload.get("resource", {})
        kind = EVENT_TYPES.get(payload.get("event_type", ""), "other")
        if kind in ("captured", "refunded", "failed"):
            ref = resource.get("supplementary_data", {}).get("related_ids", {}).get("authorization_id", "")
        else:
            ref = resource.get("id", "")
        amount = resource.get("amount", {}).get("value")
        return WebhookMessage(
            event_id=payload.get("id", ""),
            event_type=kind,
            provider_ref=ref,
            amount=Decimal(amount) if amount is not None else None,
            created=int(payload.get("create_time_epoch", 0)),
            raw=payload,
        )
