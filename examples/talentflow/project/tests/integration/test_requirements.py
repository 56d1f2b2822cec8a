"""requirements.txt resolved offline against the local wheelhouse, as the image build does.

The wheelhouse directory is ``TALENTFLOW_WHEELHOUSE``, else ``wheelhouse/``
inside the running venv (``sys.prefix``), where the package's provisioning
script puts it.
"""
import hashlib
import base64
import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support import PROJECT

pytestmark = pytest.mark.integration

REQUIREMENTS = PROJECT / "requirements.txt"


def _requirement_lines():
    out = []
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(Requirement(line))
    return out


@pytest.fixture(scope="module")
def resolution(tmp_path_factory):
    # The venv's own wheelhouse unless TALENTFLOW_WHEELHOUSE names another.
    wheelhouse = os.environ.get("TALENTFLOW_WHEELHOUSE") or str(Path(sys.prefix) / "wheelhouse")
    assert Path(wheelhouse).is_dir(), f"no wheelhouse directory at {wheelhouse} (TALENTFLOW_WHEELHOUSE)"
    report = tmp_path_factory.mktemp("pip") / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--find-links", wheelhouse,
         "--ignore-installed", "--quiet", "--disable-pip-version-check", "--report", str(report), "-r", str(REQUIREMENTS)],
        capture_output=True, text=True, timeout=120,
    )
    installs = json.loads(report.read_text())["install"] if done.returncode == 0 and report.exists() else []
    return {"returncode": done.returncode, "stderr": done.stderr, "install": installs}


def _wheel_files(item):
    url = item["download_info"]["url"]
    assert url.startswith("file://") and url.endswith(".whl"), f"{url} is not a local wheel"
    return Path(url[len("file://"):])


def _record(wheel):
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
        return [row[0] for row in csv.reader(io.StringIO(zf.read(name).decode("utf-8"))) if row]


def _top_levels(paths):
    tops = set()
    for path in paths:
        first = path.split("/", 1)[0]
        if first.endswith((".dist-info", ".data")) or first == "__pycache__":
            continue
        tops.add(first[:-3] if first.endswith(".py") else first)
    return tops


# ------------------------------------------------------------------- S9


@pytest.mark.bug_s9
def test_requirements_resolve_offline(resolution):
    assert resolution["returncode"] == 0, resolution["stderr"]
    assert resolution["install"]


@pytest.mark.bug_s9
def test_every_pin_is_what_gets_installed(resolution):
    resolved = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in resolution["install"]}
    assert resolved, resolution["stderr"]
    for req in _requirement_lines():
        assert canonicalize_name(req.name) in resolved, f"{req.name} missing from the resolution"
        assert req.specifier.contains(resolved[canonicalize_name(req.name)], prereleases=True), req


@pytest.mark.bug_s9
def test_resolved_set_satisfies_its_own_dependencies(resolution):
    resolved = {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in resolution["install"]}
    assert resolved, resolution["stderr"]
    for item in resolution["install"]:
        for raw in item["metadata"].get("requires_dist", []):
            req = Requirement(raw)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            name = canonicalize_name(req.name)
            assert name in resolved, f"{item['metadata']['name']} needs {raw}"
            assert req.specifier.contains(resolved[name], prereleases=True), f"{item['metadata']['name']} needs {raw}, got {resolved[name]}"


@pytest.mark.bug_s9
def test_running_environment_matches_the_pins():
    for req in _requirement_lines():
        installed = metadata.version(req.name)
        assert req.specifier.contains(installed, prereleases=True), f"{req.name}: installed {installed}, pinned {req.specifier}"


def test_requirements_are_pinned_exactly():
    for req in _requirement_lines():
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{req} is not pinned with =="


def test_requirement_names_are_unique():
    names = [canonicalize_name(r.name) for r in _requirement_lines()]
    assert len(names) == len(set(names))


# ------------------------------------------------------------------- D2


@pytest.mark.bug_d2
def test_no_two_distributions_install_the_same_file(resolution):
    assert resolution["install"], resolution["stderr"]
    owner = {}
    for item in resolution["install"]:
        for path in _record(_wheel_files(item)):
            if ".dist-info/" in path:
                continue
            assert path not in owner, f"{path} is installed by both {owner[path]} and {item['metadata']['name']}"
            owner[path] = item["metadata"]["name"]


@pytest.mark.bug_d2
def test_each_import_package_comes_from_one_distribution(resolution):
    assert resolution["install"], resolution["stderr"]
    provider = {}
    for item in resolution["install"]:
        for top in _top_levels(_record(_wheel_files(item))):
            assert top not in provider, f"import package {top!r} comes from {provider[top]} and {item['metadata']['name']}"
            provider[top] = item["metadata"]["name"]


@pytest.mark.bug_d2
def test_one_postgresql_driver_for_django(resolution):
    assert resolution["install"], resolution["stderr"]
    drivers = {}
    for item in resolution["install"]:
        tops = _top_levels(_record(_wheel_files(item)))
        for module in ("psycopg", "psycopg2"):
            if module in tops:
                drivers.setdefault(module, []).append(item["metadata"]["name"])
    assert drivers == {"psycopg": ["psycopg"]}, drivers


@pytest.mark.bug_d2
def test_installing_the_database_drivers_leaves_every_file_intact(resolution, tmp_path):
    """Unpack the PostgreSQL driver wheels in resolution order, as pip would, and
    check every file still has the content its own distribution recorded."""
    assert resolution["install"], resolution["stderr"]
    wheels = [_wheel_files(item) for item in resolution["install"] if "psycopg" in item["metadata"]["name"].lower()]
    assert wheels
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(tmp_path)
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            name = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
            for row in csv.reader(io.StringIO(zf.read(name).decode("utf-8"))):
                if not row or not row[1]:
                    continue
                algo, _, expected = row[1].partition("=")
                digest = hashlib.new(algo, (tmp_path / row[0]).read_bytes()).digest()
                assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == expected, f"{row[0]} from {wheel.name} was overwritten"
