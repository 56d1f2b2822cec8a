#!/usr/bin/env python3
"""Write ``examples/talentflow/tests.json`` from pytest's own collection.

    gen_tests_json.py            rewrite tests.json
    gen_tests_json.py --check    exit 1 (with a diff summary) when tests.json is stale
    gen_tests_json.py --summary  print counts per category and per bug

Run it with the project's Python (the debugenv venv). It collects the fully
fixed project (``--project DIR``, default: a fresh ``scripts/fixed_copy.sh``
copy in a temporary directory): the shipped project cannot start. Collection
does not touch the database or Redis. Every node id gets its category (the directory under
``tests/``) and the bug ids of its ``bug_<id>`` markers, upper-cased.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
OUTPUT = PACKAGE / "tests.json"
CATEGORIES = ("unit", "integration", "system", "security")


class _Collector:
    def __init__(self):
        self.items = []

    def pytest_collection_finish(self, session):
        self.items = list(session.items)


def collect(project):
    import pytest

    os.chdir(project)
    sys.path.insert(0, str(project))
    collector = _Collector()
    code = pytest.main(["--collect-only", "-p", "no:terminal", "-p", "no:randomly"], plugins=[collector])
    if code != 0:
        sys.exit(f"gen_tests_json: pytest collection failed (exit {int(code)})")
    tests = []
    for item in collector.items:
        parts = item.nodeid.split("/")
        category = parts[1] if len(parts) > 2 and parts[0] == "tests" else None
        if category not in CATEGORIES:
            sys.exit(f"gen_tests_json: {item.nodeid} is not under tests/<category>/")
        bugs = sorted(
            {m.name[len("bug_"):].upper() for m in item.iter_markers() if m.name.startswith("bug_")},
            key=lambda b: (b[0], int(b[1:])),
        )
        tests.append({"id": item.nodeid, "category": category, "bugs": bugs})
    tests.sort(key=lambda t: t["id"])
    ids = [t["id"] for t in tests]
    if len(ids) != len(set(ids)):
        sys.exit("gen_tests_json: duplicate node ids in the collection")
    return {"version": 1, "tests": tests}


def render(doc):
    lines = ['{"version": 1, "tests": [']
    for i, t in enumerate(doc["tests"]):
        comma = "," if i + 1 < len(doc["tests"]) else ""
        lines.append("  " + json.dumps(t, ensure_ascii=False) + comma)
    lines.append("]}")
    return "\n".join(lines) + "\n"


def summary(doc):
    cats = Counter(t["category"] for t in doc["tests"])
    bugs = Counter(b for t in doc["tests"] for b in t["bugs"])
    print(f"{len(doc['tests'])} tests: " + ", ".join(f"{c} {cats[c]}" for c in CATEGORIES))
    print("per bug: " + " ".join(f"{b}:{n}" for b, n in sorted(bugs.items(), key=lambda kv: (kv[0][0], int(kv[0][1:])))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when tests.json is stale")
    parser.add_argument("--summary", action="store_true", help="print counts per category and bug")
    parser.add_argument("--project", type=Path, help="the fixed project (default: a fresh fixed copy)")
    args = parser.parse_args()
    if args.project is None:
        tmp = tempfile.TemporaryDirectory(prefix="talentflow-fixed-")
        args.project = Path(tmp.name) / "project"
        subprocess.run(["bash", str(PACKAGE / "scripts" / "fixed_copy.sh"), str(args.project)],
                       check=True, stdout=subprocess.DEVNULL)
    doc = collect(args.project.resolve())
    text = render(doc)
    if args.summary:
        summary(doc)
    if args.check:
        if not OUTPUT.exists():
            print(f"gen_tests_json: {OUTPUT} is missing; run {Path(__file__).name}", file=sys.stderr)
            return 1
        current = json.loads(OUTPUT.read_text(encoding="utf-8"))
        if current == doc and OUTPUT.read_text(encoding="utf-8") == text:
            print(f"gen_tests_json: {OUTPUT.name} is fresh ({len(doc['tests'])} tests)")
            return 0
        old = {t["id"]: t for t in current.get("tests", [])}
        new = {t["id"]: t for t in doc["tests"]}
        for node in sorted(new.keys() - old.keys()):
            print(f"  + {node}", file=sys.stderr)
        for node in sorted(old.keys() - new.keys()):
            print(f"  - {node}", file=sys.stderr)
        for node in sorted(old.keys() & new.keys()):
            if old[node] != new[node]:
                print(f"  ~ {node}: {old[node]} -> {new[node]}", file=sys.stderr)
        print(f"gen_tests_json: {OUTPUT} is stale; run {Path(__file__).name}", file=sys.stderr)
        return 1
    if not args.summary:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"gen_tests_json: wrote {OUTPUT} ({len(doc['tests'])} tests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
