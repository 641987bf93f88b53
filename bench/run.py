"""Run every benchmark (bench/bench_*.py) and print one table plus bench/results.json.

Usage: python bench/run.py [name ...]     (names without the bench_ prefix; default: all)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    wanted = set(argv)
    scripts = sorted(
        p for p in HERE.glob("bench_*.py") if not wanted or p.stem.removeprefix("bench_") in wanted
    )
    if not scripts:
        print("no benchmarks found")
        return 1
    results, failed = [], []
    for i, script in enumerate(scripts, 1):
        print(f"[{i}/{len(scripts)}] {script.stem} ...", flush=True)
        started = time.monotonic()
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            failed.append(script.stem)
            print(proc.stdout[-2000:], proc.stderr[-4000:], sep="\n")
            continue
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["wall_seconds"] = round(time.monotonic() - started, 1)
        results.append(result)
    (HERE / "results.json").write_text(json.dumps({"cores": os.cpu_count(), "results": results}, indent=2))
    print()
    print(f"{'benchmark':<28} {'figure':<48} {'value':>14}")
    print("-" * 92)
    for r in results:
        for label, value in r.get("figures", {}).items():
            unit = r.get("unit", {}).get(label, "")
            shown = (
                f"{value:,.2f}"
                if isinstance(value, float)
                else f"{value:,}"
                if isinstance(value, int)
                else value
            )
            print(f"{r['name']:<28} {label:<48} {shown:>14} {unit}")
    print(f"\ncores: {os.cpu_count()}   results: {HERE / 'results.json'}")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
