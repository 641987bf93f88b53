from __future__ import annotations

import pytest
from django.test import RequestFactory

from tests.support.otp import verify_session

from .world import PASSWORD, build_ui_world


@pytest.fixture
def ui(db):
    return build_ui_world()


@pytest.fixture
def login(client):
    """Sign in with the password (axes sees the request) and a verified second factor, as staff
    in the admin, finance and approver roles must (OMS_2FA_REQUIRED_ROLES)."""

    def _login(user):
        assert client.login(
            request=RequestFactory().post("/accounts/login/"), username=user.get_username(), password=PASSWORD
        )
        verify_session(client, user)
        return client

    return _login
