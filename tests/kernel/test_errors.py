"""One error envelope for the whole API: {"code", "message", "fields"}, with the right status."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import path
from rest_framework import exceptions as drf
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from oms.kernel.exceptions import IdempotencyKeyReused, IllegalTransition, InFlight, ValidationFailed
from partners.models import Channel
from partners.services import channel_key_issue
from tests.urls import urlpatterns as _project_urlpatterns

pytestmark = pytest.mark.integration

factory = APIRequestFactory()


class _LineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    qty = serializers.IntegerField(min_value=1)


class _CaptureSerializer(serializers.Serializer):
    currency = serializers.CharField(max_length=3)
    lines = _LineSerializer(many=True)


class CaptureApi(APIView):
    """A tiny write endpoint: parses JSON, validates, echoes."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request):
        data = _CaptureSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(data.validated_data, status=201)


class RaisingApi(APIView):
    """Raises whatever domain error the test hands it: views never build error bodies."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    error: Exception = RuntimeError("set me")

    def post(self, request):
        raise self.error


urlpatterns = [*_project_urlpatterns, path("kernel-test/capture", CaptureApi.as_view())]


def envelope_of(response) -> dict:
    if hasattr(response, "render") and not response.is_rendered:
        response.render()
    body = json.loads(response.content)
    assert set(body) == {"code", "message", "fields"}, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    return body


def post_capture(body, **kwargs):
    return CaptureApi.as_view()(factory.post("/capture", body, **kwargs))


GOOD = {"currency": "USD", "lines": [{"sku": "A-1", "qty": 2}]}


def test_a_valid_body_passes():
    response = post_capture(GOOD, format="json")
    assert response.status_code == 201


def test_validation_errors_name_each_field_including_nested_lines():
    response = post_capture(
        {"currency": "DOLLARS", "lines": [{"sku": "A-1", "qty": 0}, {"qty": 1}]}, format="json"
    )
    assert response.status_code == 400
    body = envelope_of(response)
    assert body["code"] == "validation_failed"
    assert set(body["fields"]) == {"currency", "lines[0].qty", "lines[1].sku"}
    assert all(isinstance(m, str) for msgs in body["fields"].values() for m in msgs)


@pytest.mark.parametrize(
    ("detail", "fields"),
    [
        ({"lines": {1: {"qty": ["Too small."]}}}, {"lines[1].qty": ["Too small."]}),  # DRF >= 3.17
        ({"lines": [{}, {"qty": ["Too small."]}]}, {"lines[1].qty": ["Too small."]}),  # older DRF
        ({"tags": {0: ["Not a string."]}}, {"tags[0]": ["Not a string."]}),
        ({"ship_to": {"country": ["Required."]}}, {"ship_to.country": ["Required."]}),
        (["Lines must not repeat a SKU."], {"non_field_errors": ["Lines must not repeat a SKU."]}),
    ],
)
def test_field_paths_are_the_same_whatever_drfs_list_error_format(detail, fields):
    response = RaisingApi.as_view(error=drf.ValidationError(detail))(factory.post("/raise"))
    assert response.status_code == 400
    assert envelope_of(response)["fields"] == fields


def test_a_body_that_is_not_an_object_is_a_validation_error_not_a_500():
    response = post_capture([1, 2, 3], format="json")
    assert response.status_code == 400
    body = envelope_of(response)
    assert body["code"] == "validation_failed"
    assert "non_field_errors" in body["fields"]


def test_malformed_json_is_a_400_parse_error_envelope():
    response = post_capture('{"currency": "USD", "lines": [', content_type="application/json")
    assert response.status_code == 400
    body = envelope_of(response)
    assert body["code"] == "parse_error"
    assert body["fields"] == {}


def test_an_unsupported_media_type_is_a_415_envelope():
    response = post_capture("currency=USD", content_type="text/plain")
    assert response.status_code == 415
    body = envelope_of(response)
    assert body["code"] == "unsupported_media_type"
    assert "text/plain" in body["message"]


def test_a_body_over_the_upload_limit_is_a_413_envelope(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
    big = {"currency": "USD", "lines": [{"sku": f"SKU-{i:04}", "qty": 1} for i in range(50)]}
    response = post_capture(big, format="json")
    assert response.status_code == 413
    assert envelope_of(response)["code"] == "request_too_large"
    # The same body fits under the default limit.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
    assert post_capture(big, format="json").status_code == 201


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_body_over_the_upload_limit_is_a_413_envelope_through_the_whole_stack(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 200
    client = Client(raise_request_exception=False)
    body = json.dumps({"currency": "USD", "lines": [{"sku": "X" * 500, "qty": 1}]})
    response = client.post("/kernel-test/capture", body, content_type="application/json")
    assert response.status_code == 413
    assert envelope_of(response)["code"] == "request_too_large"
    assert response["X-Request-ID"]  # the middleware stack ran


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (IllegalTransition("shipped", "draft"), 409, "illegal_transition"),
        (InFlight(), 409, "in_flight"),
        (IdempotencyKeyReused(), 422, "idempotency_key_reused"),
        (ValidationFailed("Bad currency.", fields={"currency": "Unknown."}), 400, "validation_failed"),
    ],
)
def test_domain_errors_map_to_their_status_and_code(error, status, code):
    response = RaisingApi.as_view(error=error)(factory.post("/raise", {}, format="json"))
    assert response.status_code == status
    body = envelope_of(response)
    assert body["code"] == code
    assert body["message"] == error.message


def test_illegal_transition_names_both_states_and_field_errors_are_lists():
    response = RaisingApi.as_view(error=IllegalTransition("shipped", "draft"))(factory.post("/raise"))
    assert envelope_of(response)["message"] == "Cannot go from 'shipped' to 'draft'."
    response = RaisingApi.as_view(error=ValidationFailed(fields={"currency": "Unknown."}))(
        factory.post("/raise")
    )
    assert envelope_of(response)["fields"] == {"currency": ["Unknown."]}


def test_throttling_is_a_429_envelope_with_retry_after():
    response = RaisingApi.as_view(error=drf.Throttled(wait=7))(factory.post("/raise"))
    assert response.status_code == 429
    assert response["Retry-After"] == "7"
    assert envelope_of(response)["code"] == "throttled"


def test_an_unexpected_error_is_not_swallowed_into_an_envelope():
    # Bugs stay bugs (a 500 with a traceback in the log), not a misleading 4xx.
    with pytest.raises(RuntimeError):
        RaisingApi.as_view(error=RuntimeError("bug"))(factory.post("/raise"))


# --- through the real API ---------------------------------------------------------------------


@pytest.mark.django_db
def test_unauthenticated_is_a_401_envelope_with_www_authenticate(client):
    response = client.get("/api/v1/channels/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert envelope_of(response)["code"] == "not_authenticated"


@pytest.mark.django_db
def test_a_wrong_api_key_is_a_401_envelope(client):
    channel = Channel.objects.create(code="web", name="Web", type="web")
    issued = channel_key_issue(channel=channel)
    forged = issued.raw_key[:-4] + "AAAA"
    response = client.get("/api/v1/channels/", HTTP_AUTHORIZATION=f"Api-Key {forged}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert envelope_of(response)["code"] == "authentication_failed"
    ok = client.get("/api/v1/channels/", HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    assert ok.status_code == 200


@pytest.mark.django_db
def test_an_unknown_channel_code_is_a_404_envelope(client, django_user_model):
    Channel.objects.create(code="web", name="Web", type="web")
    client.force_login(django_user_model.objects.create_user(username="desk", is_staff=True))
    assert client.get("/api/v1/channels/web/").status_code == 200
    response = client.get("/api/v1/channels/no-such-channel/")
    assert response.status_code == 404
    body = envelope_of(response)
    assert body == {"code": "not_found", "message": "Not found.", "fields": {}}
