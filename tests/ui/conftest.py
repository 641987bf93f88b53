from __future__ import annotations

import pytest

from .world import PASSWORD, build_ui_world


@pytest.fixture
def ui(db):
    return build_ui_world()


@pytest.fixture
def login(client):
    def _login(user):
        assert client.login(username=user.get_username(), password=PASSWORD)
        return client

    return _login
