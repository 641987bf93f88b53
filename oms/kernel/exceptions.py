"""Domain errors. Each maps to one HTTP status and one stable error code in the API envelope."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status_code = 400
    code = "invalid"
    default_message = "The request is not valid."

    def __init__(self, message: str | None = None, *, fields: dict[str, Any] | None = None, **context: Any):
        self.message = message or self.default_message
        self.fields = fields or {}
        self.context = context
        super().__init__(self.message)


class ValidationFailed(DomainError):
    status_code = 400
    code = "validation_failed"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    default_message = "Not found."


class IllegalTransition(DomainError):
    status_code = 409
    code = "illegal_transition"

    def __init__(self, current: str, target: str, *, message: str | None = None):
        super().__init__(
            message or f"Cannot go from '{current}' to '{target}'.", current=current, target=target
        )


class StaleRevision(DomainError):
    status_code = 409
    code = "stale_revision"
    default_message = "Somebody else changed this record; reload and try again."


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InFlight(DomainError):
    status_code = 409
    code = "in_flight"
    default_message = "An identical request is still being processed."


class IdempotencyKeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"
    default_message = "This Idempotency-Key was used with a different request body."


class InsufficientStock(DomainError):
    status_code = 409
    code = "insufficient_stock"
    default_message = "Not enough stock available."


class PermissionDenied(DomainError):
    status_code = 403
    code = "permission_denied"
    default_message = "You may not do this."


class TransientError(Exception):
    """A failure worth retrying (a lock timeout, a partner that is briefly down)."""
