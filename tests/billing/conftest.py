"""The payment sandbox on loopback, with the test channel's card (Stripe) and PayPal gateways
pointed at it; short client timeouts so a timeout or a lost reply costs about a second."""

from __future__ import annotations

import pytest

from billing.sandbox import PaymentSandbox

CHANNEL = "billing-test"


def gateway_settings(sandbox: PaymentSandbox) -> dict:
    return {
        CHANNEL: {
            "card": {
                "provider": "stripe",
                "api_key": "sk_test_sandbox",
                "webhook_secret": sandbox.stripe_webhook_secret,
                "api_base": sandbox.url,
                "timeout": 1,
            },
            "paypal": {
                "provider": "paypal",
                "client_id": "sandbox-client",
                "client_secret": "sandbox-secret",
                "webhook_id": sandbox.paypal_webhook_id,
                "api_base": sandbox.url,
                "timeout": 1,
            },
        }
    }


@pytest.fixture
def sandbox(settings):
    sb = PaymentSandbox().start()
    sb.timeout_seconds = 1.5  # longer than the clients' 1 s timeout
    settings.OMS_PAYMENT_GATEWAYS = gateway_settings(sb)
    yield sb
    sb.stop()
