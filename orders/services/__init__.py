"""Every write to orders, split by use case; import from here."""

from .capture import ComplianceRejected, SubmitResult, order_submit
from .holds import compliance_holds_recheck, credit_holds_recheck, hold_apply, hold_release, system_hold_code
from .idempotency import (
    Claim,
    idempotency_abandon,
    idempotency_claim,
    idempotency_complete,
    idempotency_keys_expire,
    request_fingerprint,
)
from .lifecycle import line_cancel, order_approve, order_cancel, order_reject

__all__ = [
    "Claim",
    "ComplianceRejected",
    "SubmitResult",
    "compliance_holds_recheck",
    "credit_holds_recheck",
    "hold_apply",
    "hold_release",
    "idempotency_abandon",
    "idempotency_claim",
    "idempotency_complete",
    "idempotency_keys_expire",
    "line_cancel",
    "order_approve",
    "order_cancel",
    "order_reject",
    "order_submit",
    "request_fingerprint",
    "system_hold_code",
]
