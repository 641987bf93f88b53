"""Dependencies point one way, for imports and for foreign keys alike.

demo > reporting > rebates > fulfillment > billing > orders > pricing | inventory > catalog |
customers > partners | documents > kernel: an app may refer to the apps to its right, never to
its left, and siblings (`|`) not to each other. The order is read from the import-linter
contract in pyproject.toml, so imports and models are held to one list.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

ROOT = Path(__file__).resolve().parents[1]
EXEMPT_APPS = {"tests.testapp"}  # test fixtures may point anywhere

Layers = Sequence[frozenset[str]]
Edge = tuple[str, str, str]  # (source app module, target app module, "app.Model.field")


def layer_order(pyproject: Path = ROOT / "pyproject.toml") -> list[frozenset[str]]:
    """The layers, leftmost (highest) first, as app module names, from the import-linter contract."""
    config = tomllib.loads(pyproject.read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return parse_layers(contract["layers"])


def parse_layers(specs: Iterable[str]) -> list[frozenset[str]]:
    return [frozenset(part.strip() for part in spec.split("|")) for spec in specs]


def points_leftwards(source: str, target: str, layers: Layers) -> bool:
    """True when `source` may not refer to `target`: target is to its left, or a sibling.

    Apps outside the layers (Django's contrib apps, third-party apps) are allowed targets, and the
    exempt test app may point anywhere.
    """
    if source == target or source in EXEMPT_APPS:
        return False
    rank = {app: i for i, layer in enumerate(layers) for app in layer}
    if source not in rank or target not in rank:
        return False
    return rank[target] <= rank[source]


def leftward_edges(edges: Iterable[Edge], layers: Layers) -> list[str]:
    return sorted(
        f"{where} -> {target} (an app of {source!r} may not point there)"
        for source, target, where in edges
        if points_leftwards(source, target, layers)
    )


def forward_relations(model: type[models.Model]) -> list[Edge]:
    """ForeignKey, OneToOneField (multi-table parent links too) and ManyToManyField of `model`."""
    edges = []
    for field in model._meta.get_fields(include_parents=False):
        if isinstance(field, (models.ForeignKey, models.ManyToManyField)) and field.related_model:
            target = field.related_model._meta.app_config.name
            edges.append((model._meta.app_config.name, target, f"{model._meta.label}.{field.name}"))
    return edges


def model_edges() -> list[Edge]:
    return [edge for model in apps.get_models() for edge in forward_relations(model)]


# --- the rule, applied to the real models -----------------------------------------------------


@pytest.mark.unit
def test_no_model_points_to_an_app_on_its_left():
    assert leftward_edges(model_edges(), layer_order()) == []


@pytest.mark.unit
def test_every_project_app_has_a_layer():
    layered = set().union(*layer_order())
    project_apps = {
        cfg.name
        for cfg in apps.get_app_configs()
        if Path(cfg.path).is_relative_to(ROOT)
        and "site-packages" not in Path(cfg.path).parts  # a virtualenv inside the checkout
        and cfg.name not in EXEMPT_APPS
    }
    assert {"oms.kernel", "partners", "catalog"} <= project_apps
    assert project_apps - layered == set(), "add the new app to [tool.importlinter] layers"


@pytest.mark.unit
def test_the_walk_sees_foreign_keys_and_many_to_many_fields():
    edges = model_edges()
    assert ("partners", "partners", "partners.ChannelApiKey.channel") in edges
    assert ("django.contrib.auth", "django.contrib.auth", "auth.User.groups") in edges  # M2M
    assert not any(where.startswith("auth.Group.user") for *_, where in edges)  # reverse: not ours


# --- the checker catches what it should --------------------------------------------------------


@pytest.mark.unit
def test_the_layer_order_is_the_documented_one():
    assert layer_order() == [
        frozenset({"demo"}),
        frozenset({"reporting"}),
        frozenset({"rebates"}),
        frozenset({"fulfillment"}),
        frozenset({"billing"}),
        frozenset({"orders"}),
        frozenset({"pricing", "inventory"}),
        frozenset({"catalog", "customers"}),
        frozenset({"partners", "documents"}),
        frozenset({"oms.kernel"}),
    ]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("source", "target", "refused"),
    [
        ("inventory", "orders", True),  # a reservation naming an order line by FK: leftwards
        ("partners", "catalog", True),
        ("oms.kernel", "partners", True),
        ("pricing", "inventory", True),  # siblings do not point at each other
        ("catalog", "customers", True),
        ("orders", "inventory", False),
        ("reporting", "oms.kernel", False),
        ("billing", "billing", False),
        ("customers", "django.contrib.auth", False),  # contrib apps are allowed targets
        ("tests.testapp", "reporting", False),  # the test app is exempt
    ],
)
def test_points_leftwards(source, target, refused):
    assert points_leftwards(source, target, layer_order()) is refused


@pytest.mark.unit
def test_a_synthetic_leftward_foreign_key_is_reported():
    edges = [
        ("orders", "catalog", "orders.OrderLine.product"),
        ("inventory", "orders", "inventory.Reservation.order_line"),
    ]
    assert leftward_edges(edges, layer_order()) == [
        "inventory.Reservation.order_line -> orders (an app of 'inventory' may not point there)"
    ]


# --- imports -------------------------------------------------------------------------------------


def _lint_imports(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "lint-imports"
    return subprocess.run(
        [str(exe), "--no-cache", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


@pytest.mark.unit
def test_import_linter_contracts_are_kept():
    result = _lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
