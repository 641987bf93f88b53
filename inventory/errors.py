"""Inventory's domain errors: each has its own stable code in the API envelope."""

from __future__ import annotations

from oms.kernel.exceptions import Conflict, ValidationFailed


class WarehouseInactive(ValidationFailed):
    code = "warehouse_inactive"
    default_message = "The warehouse is not active."


class UnknownSku(ValidationFailed):
    code = "unknown_sku"
    default_message = "Unknown SKU."


class OverReceipt(ValidationFailed):
    code = "over_receipt"
    default_message = "Receiving more than was ordered (beyond the allowed tolerance)."


class NegativeOnHand(Conflict):
    code = "negative_on_hand"
    default_message = "The adjustment would leave less on hand than is reserved, or below zero."
