"""OpenAPI descriptions the generator cannot infer: how the API's callers authenticate.

Project wiring (imported by oms.urls), so the kernel stays unaware of the apps above it.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ChannelApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "partners.authentication.ChannelApiKeyAuthentication"
    name = "ChannelApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A channel's key: `Authorization: Api-Key ck_...` (or `X-Api-Key: ck_...`).",
        }


class PartnerCredentialScheme(OpenApiAuthenticationExtension):
    target_class = "partners.authentication.PartnerCredentialAuthentication"
    name = "PartnerCredential"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A warehouse, 3PL or supplier credential: `Authorization: Api-Key pk_...`.",
        }


# OpenAPI links: what a create answers names what later operations act on, so clients (and the
# stateful fuzzing of tests/fuzz) can follow an order from capture to its holds and fulfillment.
# (source operationId, status) -> {link name: (target operationId, {parameter: expression})}
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str]]]] = {
    ("orders_create", "201"): {
        "GetOrder": ("orders_retrieve", {"number": "$response.body#/number"}),
        "GetOrderBySource": ("orders_by_source", {"source_order_id": "$response.body#/source_order_id"}),
        "GetOrderFulfillment": ("orders_fulfillment_retrieve", {"number": "$response.body#/number"}),
        "CancelOrder": ("orders_cancel", {"number": "$response.body#/number"}),
        "ApplyHold": ("orders_hold_apply", {"number": "$response.body#/number"}),
    },
    ("orders_hold_apply", "201"): {
        "ReleaseHold": (
            "orders_hold_release",
            {"number": "$request.path.number", "hold_id": "$response.body#/id"},
        ),
        "GetHeldOrder": ("orders_retrieve", {"number": "$request.path.number"}),
    },
    ("purchase_orders_create", "201"): {
        "ApprovePurchaseOrder": ("purchase_orders_action", {"id": "$response.body#/id", "action": "approve"}),
        "ReceivePurchaseOrder": ("purchase_orders_receive_create", {"id": "$response.body#/id"}),
    },
    ("transfers_create", "201"): {
        "ShipTransfer": ("transfers_action", {"id": "$response.body#/id", "action": "ship"}),
    },
}


def add_links(result, generator, request, public):
    """drf-spectacular postprocessing hook: the LINKS above, on the responses they start from."""
    operations = {
        operation["operationId"]: operation
        for item in result.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for (source, status), links in LINKS.items():
        response = operations.get(source, {}).get("responses", {}).get(status)
        if response is None:
            continue
        response["links"] = {
            name: {"operationId": target, "parameters": dict(parameters)}
            for name, (target, parameters) in links.items()
            if target in operations
        }
    return result
