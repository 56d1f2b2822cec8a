#!/usr/bin/env python3
"""Run the whole TalentFlow suite N times in a row and check that every run
gives every test the same outcome.

    determinism.py [-n 20] [--project DIR] [-- extra pytest arguments]

DIR defaults to the shipped ``project/``; pass a fixed copy
(``scripts/fixed_copy.sh DIR``) to check the fixed state. Run with the project's Python, with the services' env loaded (``source
STATE/services.env``). Prints one line per run (pytest's counts and wall
time) and exits 1 if any test's outcome differs from the first run's.
"""
import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent.parent / "project"


def outcomes(junit):
    result = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        node = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        if "error" in kinds:
            outcome = "error"
        elif "failure" in kinds:
            outcome = "failed"
        elif "skipped" in kinds:
            outcome = "skipped"
        else:
            outcome = "passed"
        # a test with a failing call and an erroring teardown appears twice
        result[node] = outcome if node not in result else max(result[node], outcome)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=20)
    parser.add_argument("--project", type=Path, default=SHIPPED, help="project directory (default: the shipped one)")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    first = None
    differing = set()
    walls = []
    with tempfile.TemporaryDirectory(prefix="talentflow-determinism-") as tmp:
        for i in range(1, args.runs + 1):
            junit = Path(tmp) / f"run-{i}.xml"
            start = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *args.pytest_args],
                cwd=args.project, capture_output=True, text=True,
            )
            wall = time.monotonic() - start
            walls.append(wall)
            if not junit.exists():
                print(f"run {i}: pytest exited {done.returncode} without a report\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
                return 1
            got = outcomes(junit)
            counts = Counter(got.values())
            summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            if first is None:
                first = got
            else:
                diff = {n for n in first.keys() | got.keys() if first.get(n) != got.get(n)}
                differing |= diff
            print(f"run {i:2d}: {summary}; wall {wall:.1f} s" + (f"; {len(diff)} differ from run 1" if i > 1 and diff else ""),
                  flush=True)
    print(f"{args.runs} runs, {len(first)} tests, wall min {min(walls):.1f} s / max {max(walls):.1f} s: "
          + ("identical outcomes" if not differing else f"{len(differing)} tests differ: {sorted(differing)}"))
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
