#!/usr/bin/env bash
# Provision the Python that runs TalentFlow's tests:
#
#   scripts/provision.sh VENV
#
# VENV becomes a venv of Debian's /usr/bin/python3 (readable by every user, so
# the sandboxes' private users can run it) with the fixed project's
# requirements, pytest and pytest-cov, D2's psycopg2 pair (both own psycopg2/;
# harmless beside psycopg 3, and what the shipped pins ask the running
# environment for), and VENV/wheelhouse, the offline wheelhouse the
# requirement tests resolve against. Idempotent: VENV/.talentflow-provisioned
# holds a hash of the inputs; nothing is done while it matches.
# Needs (Debian): python3 python3-venv python3-dev build-essential libpq-dev git.
set -Eeuo pipefail
PKG=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${1:?usage: provision.sh VENV}
STAMP=$VENV/.talentflow-provisioned
inputs=$(cat "$PKG/project/requirements.txt" "$PKG"/solutions/S9.patch "$PKG"/solutions/D2.patch \
    "$PKG/scripts/wheelhouse-extra.txt" "$PKG/scripts/provision.sh" "$PKG/scripts/wheelhouse.sh" | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$inputs" ]; then
    echo "provision: $VENV is up to date"
    exit 0
fi
if [ -e "$VENV/pyvenv.cfg" ] && ! grep -qx 'home = /usr/bin' "$VENV/pyvenv.cfg"; then
    echo "provision: $VENV was not made from /usr/bin/python3; recreating it"
    rm -rf "$VENV"
fi
[ -x "$VENV/bin/python" ] || /usr/bin/python3 -m venv "$VENV"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
bash "$PKG/scripts/fixed_copy.sh" "$TMP/fixed" >/dev/null
REQ=$TMP/fixed/requirements.txt
pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${pip[@]}" install --quiet -r "$REQ" pytest pytest-cov
PYTHON=$VENV/bin/python bash "$PKG/scripts/wheelhouse.sh" "$VENV/wheelhouse" "$REQ"
mapfile -t drivers < <(grep -E '^psycopg2' "$PKG/scripts/wheelhouse-extra.txt")
"${pip[@]}" install --quiet --no-index --find-links "$VENV/wheelhouse" --no-deps "${drivers[@]}"
chmod -R a+rX "$VENV"
echo "$inputs" >"$STAMP"
"$VENV/bin/python" -c 'import pytest, pytest_cov, django; print("provision: '"$VENV"' ready (pytest", pytest.__version__ + ", Django", django.__version__ + ")")'
