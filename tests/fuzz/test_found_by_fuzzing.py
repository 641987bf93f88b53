"""Cases schemathesis found, pinned as plain tests so they stay fixed (each names its owner)."""

from __future__ import annotations

import secrets

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.support.otp import login_verified

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]


@pytest.fixture
def staff_client() -> Client:
    user = get_user_model().objects.create_superuser("fuzz-staff", "staff@oms.example", secrets.token_hex(8))
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    login_verified(client, user)  # a superuser holds the admin role: second factor too
    token = secrets.token_hex(16)
    client.cookies["csrftoken"] = token
    client.defaults["HTTP_X_CSRFTOKEN"] = token
    return client


def test_a_staff_multipart_order_with_an_idempotency_key_is_refused_not_a_500(staff_client):
    # orders/api/views.py: the CSRF check of a session request reads the multipart stream, then
    # request_fingerprint(body=request.body) raises RawPostDataException -> 500.
    response = staff_client.post(
        "/api/v1/orders", data={"channel": "web"}, HTTP_IDEMPOTENCY_KEY="fuzz-multipart-1"
    )
    assert response.status_code == 415, response.content[:300]
    assert response.json()["code"]


def test_cancelling_a_process_that_does_not_exist_is_a_404_not_a_500(staff_client):
    # fulfillment/services/engine.py process_cancel: ProcessInstance.objects.get() raises
    # DoesNotExist, which no handler maps -> 500.
    response = staff_client.post(
        "/api/v1/fulfillment/processes/987654321/cancel",
        data={"reason": "fuzz"},
        content_type="application/json",
    )
    assert response.status_code == 404, response.content[:300]
    assert response.json()["code"] == "not_found"
