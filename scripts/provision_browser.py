"""`make test` runs this first: find a Chromium for the browser tests, or provision one the way
the machine allows (see tests/support/browser.py). Never fails: without a browser the test run
skips the browser tests and says so (or fails, with OMS_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.browser import provision


def main() -> int:
    found = provision(python=sys.executable)
    print(f"browser: {found}" if found else "browser: none available; the browser tests will be skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
