"""The collection refuses a test without a kind marker, naming it and the markers accepted."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests import conftest

pytestmark = pytest.mark.unit


def _item(nodeid: str, *markers: str) -> SimpleNamespace:
    return SimpleNamespace(
        nodeid=nodeid,
        keywords=set(markers),
        get_closest_marker=lambda name: pytest.mark.__getattr__(name) if name in markers else None,
        add_marker=lambda marker: None,
    )


def test_a_test_without_a_kind_marker_fails_the_collection_with_its_name_and_the_kinds():
    items = [_item("tests/x.py::test_marked", "unit"), _item("tests/x.py::test_bare", "postgres")]
    with pytest.raises(pytest.UsageError) as refused:
        conftest.pytest_collection_modifyitems(None, items)
    message = str(refused.value)
    assert "tests/x.py::test_bare" in message and "test_marked" not in message
    assert "unit, integration, concurrency, worker, browser, fuzz" in message


@pytest.mark.parametrize("kind", conftest.KIND_MARKERS)
def test_each_kind_marker_is_enough(kind):
    conftest.pytest_collection_modifyitems(None, [_item(f"tests/x.py::test_{kind}", kind)])


def test_every_collected_test_of_this_run_has_a_kind(request):
    assert conftest._without_kind(request.session.items) == []
