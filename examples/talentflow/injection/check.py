"""Check the TalentFlow bug injections against the correct project.

    /opt/debugenv/venv/bin/python injection/check.py [IDS...] [--no-sufficiency] [--no-all] [--seed N]

For every bug id given (default: all of bugs.toml):

* alone: a copy of project/ with only <ID>.patch applied; the bug's marked
  tests (``-m bug_<id>``) must ALL fail (a marked test that passes with its
  bug present would be free credit);
* sufficiency (unless --no-sufficiency): a copy with every patch applied
  except those of the bug and its prerequisites (depends_on, transitively);
  the bug's marked tests must ALL pass, as verify's sufficiency check demands;

and once (unless --no-all): every patch applied, in a random order, then the
whole suite; prints the pass rate (expected close to 0%).

pytest runs as the harness runs it (``-c pytest.ini --rootdir=. -o addopts=
-p no:cacheprovider --continue-on-collection-errors``, plugin autoload off,
``-p pytest_django.plugin``); outcomes come from its JUnit report, and the
expected tests from tests.json (a marked test missing from a run counts as
not passed). PostgreSQL and Redis are started with scripts/services.sh in a
temporary state dir and stopped by pid at the end, whatever happens.

Environment: TALENTFLOW_WHEELHOUSE (default /opt/debugenv/wheelhouse) is the
offline wheelhouse of the requirements tests. TALENTFLOW_WHEELHOUSE_EXTRA, if
set, is a directory of extra wheels (wheelhouse-extra.txt: python-dateutil
2.8.2, psycopg2, psycopg2-binary; see NOTES.md, S9 and D2); they are added to
a merged wheelhouse, and the psycopg2 ones installed into an overlay
directory on PYTHONPATH, so S9 is a genuine resolver conflict and the D2
state resolves (its conflict is then the one the tests see).

Exit status 0 when every check holds.
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
PKG = HERE.parent
PROJECT = PKG / "project"
SERVICES = PKG / "scripts" / "services.sh"
PY = os.environ.get("DEBUGENV_PYTHON", sys.executable)


def load_bugs():
    with open(HERE / "bugs.toml", "rb") as f:
        bugs = tomllib.load(f)["bug"]
    return {b["id"]: b for b in bugs}


def load_universe():
    tests = json.loads((PKG / "tests.json").read_text())["tests"]
    marked = {}
    for t in tests:
        for b in t["bugs"]:
            marked.setdefault(b, []).append(t["id"])
    return [t["id"] for t in tests], marked


def closure(bugs, bug):
    out, stack = set(), [bug]
    while stack:
        b = stack.pop()
        if b not in out:
            out.add(b)
            stack.extend(bugs[b].get("depends_on", []))
    return out


def apply_patches(workdir, ids):
    for bug in ids:
        patch = HERE / f"{bug}.patch"
        done = subprocess.run(
            ["git", "apply", "--whitespace=nowarn", str(patch)], cwd=workdir, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"{patch.name} does not apply after {ids[: ids.index(bug)]}: {done.stderr.strip()}")


def copy_project(tmp, name):
    dest = Path(tmp) / name
    shutil.copytree(PROJECT, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache"))
    return dest


def node_id(case):
    classname = case.get("classname", "")
    name = case.get("name", "")
    parts = classname.split(".")
    return "/".join(parts) + ".py::" + name


def run_pytest(workdir, env, marker=None, timeout=900):
    """Runs the suite (or one marker's tests); returns {node id: passed}."""
    junit = Path(workdir).parent / f"junit-{Path(workdir).name}.xml"
    cmd = [
        PY, "-s", "-m", "pytest", "-c", "pytest.ini", "--rootdir=.", "-o", "addopts=", "-p", "no:cacheprovider",
        "--continue-on-collection-errors", "-q", "--no-header", "-rN", "--tb=line",
        "-o", "junit_family=xunit1", f"--junitxml={junit}", "-p", "pytest_django.plugin",
    ]
    if marker:
        cmd += ["-m", marker]
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    outcomes = {}
    if junit.exists():
        try:
            root = ET.parse(junit).getroot()
        except ET.ParseError:
            root = None
        if root is not None:
            for case in root.iter("testcase"):
                bad = any(child.tag in ("failure", "error", "skipped") for child in case)
                nid = node_id(case)
                outcomes[nid] = outcomes.get(nid, True) and not bad
    tail = (done.stdout.strip().splitlines() or [""])[-1]
    return outcomes, done.returncode, tail, time.monotonic() - started


def start_services(state):
    subprocess.run(["bash", str(SERVICES), "start", str(state)], check=True, capture_output=True, text=True)
    env = {}
    for line in (Path(state) / "services.env").read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value
    return env


def stop_services(state):
    subprocess.run(["bash", str(SERVICES), "stop", str(state)], capture_output=True, text=True)


def prepare_wheels(tmp, env):
    base = os.environ.get("TALENTFLOW_WHEELHOUSE", "/opt/debugenv/wheelhouse")
    extra = os.environ.get("TALENTFLOW_WHEELHOUSE_EXTRA")
    env["TALENTFLOW_WHEELHOUSE"] = base
    if not extra:
        return
    merged = Path(tmp) / "wheelhouse"
    merged.mkdir()
    for directory in (base, extra):
        for wheel in Path(directory).glob("*.whl"):
            target = merged / wheel.name
            if not target.exists():
                target.symlink_to(wheel)
    overlay = Path(tmp) / "overlay"
    # Only the distributions the injected requirements add beside the fixed
    # ones are installed (python-dateutil 2.8.2 is there for the resolver only).
    wheels = [str(w) for w in Path(extra).glob("psycopg2*.whl")]
    subprocess.run(
        [PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index", "--no-deps",
         "--target", str(overlay), *wheels],
        check=True, capture_output=True, text=True,
    )
    env["TALENTFLOW_WHEELHOUSE"] = str(merged)
    env["PYTHONPATH"] = str(overlay)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*")
    parser.add_argument("--no-sufficiency", action="store_true")
    parser.add_argument("--no-alone", action="store_true")
    parser.add_argument("--no-all", action="store_true")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--collateral", action="store_true",
                        help="alone: run the whole suite and also list the other tests the bug breaks")
    args = parser.parse_args()

    bugs = load_bugs()
    universe, marked = load_universe()
    marks = {t: [b for b, ts in marked.items() if t in ts] for t in universe}
    ids = [i.upper() for i in args.ids] or list(bugs)
    unknown = [i for i in ids if i not in bugs]
    if unknown:
        parser.error(f"unknown bug ids: {', '.join(unknown)}")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    ok = True

    with tempfile.TemporaryDirectory(prefix="tf-inject-") as tmp:
        state = Path(tmp) / "services"
        env = dict(os.environ)
        env.update({"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTEST_ADDOPTS": ""})
        env.pop("DJANGO_SETTINGS_MODULE", None)
        try:
            env.update(start_services(state))
            prepare_wheels(tmp, env)

            if not args.no_alone:
                print("== alone: only the bug's patch applied; every marked test must fail")
                for bug in ids:
                    work = copy_project(tmp, f"alone-{bug}")
                    apply_patches(work, [bug])
                    marker = None if args.collateral else bugs[bug]["marker"]
                    outcomes, rc, tail, secs = run_pytest(work, env, marker=marker)
                    mine = marked.get(bug, [])
                    passing = [t for t in mine if outcomes.get(t, False)]
                    good = bool(mine) and not passing
                    ok &= good
                    print(f"{bug:4} {'OK  ' if good else 'FAIL'} {len(mine) - len(passing)}/{len(mine)} marked tests fail"
                          f"  ({secs:.0f}s; {tail})")
                    for t in passing:
                        print(f"       passes with the bug present: {t}")
                    if args.collateral:
                        others = [t for t in universe if t not in mine and not outcomes.get(t, False)]
                        print(f"       also breaks {len(others)} other tests")
                        for t in others:
                            print(f"         {t}  (marked {','.join(marks[t]) or 'no bug'})")
                    shutil.rmtree(work)

            if not args.no_sufficiency:
                print("== sufficiency: every patch but the bug's and its prerequisites'; every marked test must pass")
                for bug in ids:
                    fixed = closure(bugs, bug)
                    rest = [b for b in bugs if b not in fixed]
                    random.Random(seed).shuffle(rest)
                    work = copy_project(tmp, f"suff-{bug}")
                    apply_patches(work, rest)
                    outcomes, rc, tail, secs = run_pytest(work, env, marker=bugs[bug]["marker"])
                    mine = marked.get(bug, [])
                    failing = [t for t in mine if not outcomes.get(t, False)]
                    good = bool(mine) and not failing
                    ok &= good
                    print(f"{bug:4} {'OK  ' if good else 'FAIL'} {len(mine) - len(failing)}/{len(mine)} marked tests pass"
                          f" with {{{', '.join(sorted(fixed))}}} fixed  ({secs:.0f}s; {tail})")
                    for t in failing:
                        print(f"       still fails: {t}")
                    shutil.rmtree(work)

            if not args.no_all:
                order = list(bugs)
                random.Random(seed).shuffle(order)
                print(f"== all {len(order)} patches applied (seed {seed}, order {' '.join(order)}); whole suite")
                work = copy_project(tmp, "all")
                apply_patches(work, order)
                outcomes, rc, tail, secs = run_pytest(work, env)
                passed = sum(1 for t in universe if outcomes.get(t, False))
                pct = 100.0 * passed / len(universe)
                print(f"all  {passed}/{len(universe)} universe tests pass ({pct:.1f}%)  ({secs:.0f}s; pytest exit {rc}; {tail})")
                ok &= pct <= 5.0
        finally:
            stop_services(state)
    print("check.py:", "every check holds" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
