from __future__ import annotations

import pytest

from tests.ui.conftest import login  # noqa: F401  (signs staff in with a verified second factor)

from .workbench_world import build_workbench_world


@pytest.fixture
def wb(db):
    return build_workbench_world()
