"""pip-audit over the locked dependency set: the exact versions `make install` put in .venv
(`pip freeze`, this project itself left out), checked against PyPI's vulnerability data.

Outcomes (docs/security.md):
- it ran and found nothing: prints the count checked, exit 0;
- it ran and found a known vulnerability: prints each (package, version, id, fixed in), exit 1;
- the vulnerability service could not be reached (no network, PyPI down): prints
  "pip-audit: vulnerability service unreachable, NOT CHECKED" and exits 0, so CI without that
  service still runs the rest; the line is there in the log and nothing claims it was checked.
  OMS_AUDIT_REQUIRED=1 turns that into a failure (exit 2) where the service must be reached.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
AUDIT_TIMEOUT_SECONDS = 300
UNREACHABLE = (
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "Max retries exceeded",
    "Name or service not known",
    "Temporary failure in name resolution",
    "ProxyError",
    "Connection refused",
    "Network is unreachable",
)


def locked_set() -> list[str]:
    frozen = subprocess.run(
        [str(VENV_BIN / "pip"), "freeze", "--exclude-editable"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    # "name==version" pins only: the project itself (editable or a local path) is not on PyPI.
    return sorted(line for line in frozen if "==" in line and " @ " not in line)


def main(argv: list[str]) -> int:
    # An explicit pinned requirements file may be given instead (e.g. to check a lock before use).
    if argv:
        lines = Path(argv[0]).read_text().splitlines()
        pins = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    else:
        pins = locked_set()
    with tempfile.TemporaryDirectory() as tmp:
        lock = Path(tmp) / "requirements.lock"
        lock.write_text("\n".join(pins) + "\n")
        report = Path(tmp) / "audit.json"
        try:
            run = subprocess.run(
                [
                    str(VENV_BIN / "pip-audit"),
                    "--requirement",
                    str(lock),
                    "--no-deps",  # every line is pinned: nothing to resolve
                    "--disable-pip",
                    "--progress-spinner",
                    "off",
                    "--timeout",
                    "20",
                    "--format",
                    "json",
                    "--output",
                    str(report),
                ],
                capture_output=True,
                text=True,
                timeout=AUDIT_TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired:
            print("!" * 78)
            print("pip-audit: vulnerability service unreachable, NOT CHECKED")
            print(f"  (no answer within {AUDIT_TIMEOUT_SECONDS} s)")
            print("!" * 78)
            return 2 if os.environ.get("OMS_AUDIT_REQUIRED") == "1" else 0
        data = json.loads(report.read_text()) if report.exists() and report.stat().st_size else None
    if data is None:
        # Only a finding fails the step; an audit that could not be done is announced, not passed.
        errors = (run.stderr or run.stdout).strip()
        unreachable = any(marker in errors for marker in UNREACHABLE)
        print("!" * 78)
        if unreachable:
            print("pip-audit: vulnerability service unreachable, NOT CHECKED")
        else:
            print("pip-audit: could not run, NOT CHECKED")
        print(f"  ({len(pins)} pinned packages were not audited; last error below)")
        print("!" * 78)
        print(errors.splitlines()[-1] if errors else "(no message)")
        return 2 if os.environ.get("OMS_AUDIT_REQUIRED") == "1" else 0
    code, lines = verdict(data)
    print("\n".join(lines))
    return code


def verdict(data: dict) -> tuple[int, list[str]]:
    """pip-audit's JSON report -> (exit code, lines to print)."""
    out: list[str] = []
    deps = data.get("dependencies", [])
    skipped = [dep for dep in deps if dep.get("skip_reason")]
    found = [
        (dep["name"], dep["version"], vuln["id"], ", ".join(vuln.get("fix_versions") or []) or "no fix yet")
        for dep in deps
        for vuln in dep.get("vulns", [])
    ]
    if found:
        out.append(f"pip-audit: {len(found)} known vulnerability(ies) in the locked dependency set:")
        for name, version, vuln_id, fixed in found:
            out.append(f"  {name} {version}: {vuln_id} (fixed in {fixed})")
        return 1, out
    if skipped and len(skipped) == len(deps):
        # A registry mirror without PyPI's per-release JSON answers 404 for every package, and
        # pip-audit calls that "not found" and passes: that is not a check.
        out.append("!" * 78)
        out.append("pip-audit: vulnerability service unreachable, NOT CHECKED")
        out.append(
            f"  (none of the {len(deps)} pinned packages could be looked up: {skipped[0]['skip_reason']})"
        )
        out.append("!" * 78)
        return (2 if os.environ.get("OMS_AUDIT_REQUIRED") == "1" else 0), out
    if skipped:
        out.append(f"pip-audit: {len(skipped)} of {len(deps)} packages NOT CHECKED:")
        for dep in skipped:
            out.append(f"  {dep['skip_reason']}")
    out.append(f"pip-audit: {len(deps) - len(skipped)} pinned packages checked, no known vulnerabilities")
    return 0, out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
