"""The OpenAPI generator, told about the errors every operation can answer with.

Authentication, permissions, the error envelope, pagination, throttling and the database guard
apply to every view, so any operation may answer 400/401/403/404/429/503 (and, with a body,
413/415) in the one envelope. Views document their own specific errors; this fills in the rest
so that the schema matches what clients really receive.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from .errors import ErrorSerializer

STANDARD_ERRORS = {
    "400": "Bad input (field-level messages in `fields`).",
    "401": "No credentials, or bad ones.",
    "403": "This caller may not do this.",
    "404": "Absent, not yours, or past the last page.",
    "429": "Throttled; see Retry-After.",
    "503": "The database is unavailable; see Retry-After.",
}
# A write may also lose a conflict with a concurrent transaction (a deadlock or serialization
# failure) after the server's own bounded retries (oms.kernel.dbretry): nothing was saved.
WRITE_UNAVAILABLE = (
    "`service_unavailable`: the database is unavailable; or `retry`: a concurrent change conflicted "
    "with this request and the server's own retries did not get through. Nothing was saved: send "
    "the same request again (with the same `Idempotency-Key`) after Retry-After seconds."
)
BODY_ERRORS = {
    "413": "Body over the size limit.",
    "415": "Send `Content-Type: application/json`.",
}


class OmsAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = dict(STANDARD_ERRORS)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.update(BODY_ERRORS)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            errors["503"] = WRITE_UNAVAILABLE
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code, direction=direction
                )
        return responses
