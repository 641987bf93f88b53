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
