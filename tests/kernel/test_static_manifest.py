"""Production static files: every shipped asset passes the manifest storage that DEBUG=0 uses.

A vendored file whose `sourceMappingURL` names a map that is not shipped makes `collectstatic` fail
under `CompressedManifestStaticFilesStorage`; no manifest is written, and every page that links a
static file then answers 500. CI also runs the whole production path (.ci/smoke_production.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

pytestmark = pytest.mark.unit

STATIC = Path(settings.BASE_DIR) / "static"
MAP_REFERENCE = re.compile(rb"[#@]\s*sourceMappingURL=(\S+?)\s*(?:\*/)?\s*$", re.MULTILINE)


def test_every_source_map_a_shipped_file_names_is_shipped_beside_it():
    missing = [
        f"{path.relative_to(STATIC)} -> {reference.decode()}"
        for path in STATIC.rglob("*")
        if path.suffix in {".js", ".css"}
        for reference in MAP_REFERENCE.findall(path.read_bytes())
        if not reference.startswith(b"data:") and not (path.parent / reference.decode()).exists()
    ]
    assert missing == []


def test_collectstatic_with_the_production_storage_writes_a_manifest_for_every_asset(tmp_path):
    production = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    with override_settings(STORAGES=production, STATIC_ROOT=str(tmp_path)):
        call_command("collectstatic", interactive=False, verbosity=0)
    manifest = (tmp_path / "staticfiles.json").read_text()
    for name in ("admin/css/base.css", "vendor/chart.umd.min.js", "vendor/htmx.min.js", "css/app.css"):
        assert f'"{name}"' in manifest
