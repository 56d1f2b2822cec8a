#!/usr/bin/env bash
# Fill a local wheelhouse with binary wheels of every pin in requirements.txt,
# so that the image build and the offline resolver tests
# (tests/integration/test_requirements.py, TALENTFLOW_WHEELHOUSE) work without
# network access.
#
#   wheelhouse.sh [DIR] [EXTRA_REQUIREMENTS_FILE...]
#
# DIR defaults to $TALENTFLOW_WHEELHOUSE, else /opt/debugenv/wheelhouse. Uses
# the pip of $PYTHON (default: the debugenv venv's python, else python3).
# Idempotent: a wheelhouse that already satisfies the pins is left as it is.
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-${TALENTFLOW_WHEELHOUSE:-/opt/debugenv/wheelhouse}}
shift || true
VENV=${DEBUGENV_VENV:-/opt/debugenv/venv}
PYTHON=${PYTHON:-$([ -x "$VENV/bin/python" ] && echo "$VENV/bin/python" || command -v python3)}
REQ=$HERE/project/requirements.txt
mkdir -p "$DIR"
args=(-r "$REQ")
for extra in "$@"; do args+=(-r "$extra"); done
# Already complete? (offline dry run against the wheelhouse alone)
if "$PYTHON" -m pip install --dry-run --no-index --find-links "$DIR" --ignore-installed \
        --quiet --disable-pip-version-check "${args[@]}" >/dev/null 2>&1; then
    echo "wheelhouse: $DIR already complete"
    exit 0
fi
"$PYTHON" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
    --dest "$DIR" "${args[@]}"
"$PYTHON" -m pip install --dry-run --no-index --find-links "$DIR" --ignore-installed \
    --quiet --disable-pip-version-check "${args[@]}" \
    || { echo "wheelhouse: $DIR does not resolve the requirements offline" >&2; exit 1; }
echo "wheelhouse: $DIR ready ($(ls "$DIR" | wc -l) files)"
