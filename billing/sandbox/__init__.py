"""The payment sandbox: a small HTTP service speaking the part of Stripe's and PayPal's REST APIs
the adapters use (docs/payments.md). Tests and the demo start it on loopback and point the
adapters' base URL at it. `python -m billing.sandbox` runs it on its own."""

from .server import DECLINED_CARDS, PaymentSandbox

__all__ = ["DECLINED_CARDS", "PaymentSandbox"]
