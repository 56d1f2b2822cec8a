#!/usr/bin/env bash
# The Python of TalentFlow's images, made like scripts/provision.sh makes the
# CI venv: the fixed requirement set (image/requirements.lock: the shipped
# requirements.txt does not resolve, that is bug S9), pytest-cov, D2's
# psycopg2 pair, and VENV/wheelhouse, the offline wheelhouse the requirement
# tests resolve against.
#
#   install-venv.sh VENV
#
# Runs inside an image build, from a copy of the package layout:
# <copy>/image/{install-venv.sh,requirements.lock,wheelhouse/,extra-wheels/}
# and <copy>/scripts/{wheelhouse.sh,wheelhouse-extra.txt}.
#
# Offline when image/wheelhouse/ holds wheels (the wheelhouse of
# scripts/provision.sh's venv) and image/extra-wheels/ the wheels of
# pytest-cov: nothing is fetched, and a missing wheel is an error. Without
# image/wheelhouse/ it fetches from the package index pip is configured for
# and builds psycopg2 from its sdist (installing gcc and libpq-dev with apt
# when pg_config is missing, removing them afterwards).
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKG=$(dirname "$HERE")
VENV=${1:?usage: install-venv.sh VENV}
LOCK=$HERE/requirements.lock
EXTRA=$PKG/scripts/wheelhouse-extra.txt
for f in "$LOCK" "$EXTRA" "$PKG/scripts/wheelhouse.sh"; do
    [ -f "$f" ] || { echo "install-venv: $f missing from the build context" >&2; exit 1; }
done

python3 -m venv "$VENV"
pip=("$VENV/bin/python" -m pip --disable-pip-version-check --no-cache-dir)
mapfile -t drivers < <(grep -E '^psycopg2' "$EXTRA")
[ "${#drivers[@]}" -eq 2 ] || { echo "install-venv: $EXTRA names no psycopg2 pair" >&2; exit 1; }

if compgen -G "$HERE/wheelhouse/*.whl" >/dev/null; then
    echo "install-venv: offline, from the wheelhouse in the build context"
    cp -r "$HERE/wheelhouse" "$VENV/wheelhouse"
    # Only checks that the wheelhouse is complete; PIP_NO_INDEX keeps its
    # download fallback from reaching for an index.
    PIP_NO_INDEX=1 PYTHON=$VENV/bin/python bash "$PKG/scripts/wheelhouse.sh" "$VENV/wheelhouse" "$LOCK" \
        || { echo "install-venv: the wheelhouse in the build context does not resolve $LOCK and scripts/wheelhouse-extra.txt" >&2; exit 1; }
    cov=(--no-index --find-links "$VENV/wheelhouse")
    if compgen -G "$HERE/extra-wheels/*.whl" >/dev/null; then
        cov+=(--find-links "$HERE/extra-wheels")
    fi
else
    echo "install-venv: no wheelhouse in the build context; using the package index"
    build_deps=()
    if ! command -v pg_config >/dev/null; then
        command -v apt-get >/dev/null || { echo "install-venv: psycopg2's sdist needs pg_config (libpq-dev) and gcc" >&2; exit 1; }
        build_deps=(gcc libc6-dev libpq-dev)
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${build_deps[@]}" libpq5 >/dev/null
    fi
    PYTHON=$VENV/bin/python bash "$PKG/scripts/wheelhouse.sh" "$VENV/wheelhouse" "$LOCK"
    if [ "${#build_deps[@]}" -gt 0 ]; then
        # libpq5 stays: the psycopg2 built here links against it.
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq --auto-remove "${build_deps[@]}" >/dev/null
        rm -rf /var/lib/apt/lists/*
    fi
    cov=()
fi

"${pip[@]}" install --quiet --no-index --find-links "$VENV/wheelhouse" -r "$LOCK"
"${pip[@]}" install --quiet --no-index --find-links "$VENV/wheelhouse" --no-deps "${drivers[@]}"
"${pip[@]}" install --quiet "${cov[@]}" -c "$LOCK" pytest-cov
rm -rf "$VENV/wheelhouse/.check"
chmod -R a+rX "$VENV"
"$VENV/bin/python" -c 'import django, pytest, pytest_cov, psycopg, psycopg2; print("install-venv: '"$VENV"' ready (Django", django.__version__ + ", pytest", pytest.__version__ + ")")'
