"""Where the browser tests find Chromium, and how `make test` provisions one.

Order: `OMS_CHROMIUM` when set (exactly that path: nothing else is tried, so pointing it at a
missing file simulates a machine without a browser); else a system Chromium on PATH; else the
Chromium that Playwright downloaded (`playwright install chromium`). No browser: the browser tests
are skipped and announced like a missing PostgreSQL or Redis, and OMS_REQUIRE_SERVICES=1 fails
the run instead.

This module imports nothing from Django, so `scripts/provision_browser.py` can use it before the
venv's settings are importable.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def playwright_chromium() -> str | None:
    """A Chromium that `playwright install chromium` left in its cache, if any."""
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or str(Path.home() / ".cache" / "ms-playwright")
    patterns = ("chromium-*/chrome-linux*/chrome", "chromium_headless_shell-*/chrome-linux*/headless_shell")
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(root, pattern)), reverse=True):
            if os.access(path, os.X_OK):
                return path
    return None


def find_chromium() -> str | None:
    """The Chromium executable the browser tests will drive, or None."""
    wanted = os.environ.get("OMS_CHROMIUM")
    if wanted:
        return shutil.which(wanted)
    for name in SYSTEM_NAMES:
        if found := shutil.which(name):
            return found
    return playwright_chromium()


def _run(cmd: list[str], timeout: float) -> bool:
    try:
        return subprocess.run(cmd, timeout=timeout, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def provision(*, python: str, say=print) -> str | None:
    """Find Chromium, or get one the way this machine allows: Debian's package when we are root
    with apt-get, else Playwright's own download (needs the network). Returns the path or None."""
    if os.environ.get("OMS_CHROMIUM"):
        found = find_chromium()
        say(f"browser: OMS_CHROMIUM={os.environ['OMS_CHROMIUM']} " + ("found" if found else "does not exist"))
        return found
    if found := find_chromium():
        return found
    if os.environ.get("OMS_PROVISION_BROWSER", "1") == "0":
        return None
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        say("browser: no Chromium; installing Debian's chromium package (apt-get)")
        env_prefix = ["env", "DEBIAN_FRONTEND=noninteractive"]
        if (
            _run([*env_prefix, "apt-get", "update", "-qq"], 120)
            and _run([*env_prefix, "apt-get", "install", "-y", "-qq", "chromium"], 300)
            and (found := find_chromium())
        ):
            return found
    say("browser: trying Playwright's own Chromium download (playwright install chromium)")
    if _run([python, "-m", "playwright", "install", "chromium"], 300) and (found := find_chromium()):
        return found
    return None


# One fast browser test, run in a subprocess by tests/tooling to see the skip and the failure.
SAMPLE_BROWSER_TEST = "tests/e2e/test_staff_flows.py::test_installable_web_app_manifest"
