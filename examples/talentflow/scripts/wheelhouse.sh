#!/usr/bin/env bash
# Fill the offline wheelhouse of TalentFlow's requirement tests
# (tests/integration/test_requirements.py) and of the image builds.
#
#   scripts/wheelhouse.sh DIR REQUIREMENTS
#
# REQUIREMENTS is the FIXED project's requirements.txt (scripts/fixed_copy.sh):
# the shipped one does not resolve. Besides its pins the wheelhouse gets the
# wheels of scripts/wheelhouse-extra.txt, which the shipped pins name (S9's
# python-dateutil 2.8.2 makes a genuine resolver conflict offline; D2's
# psycopg2 pair resolves). psycopg2 has no Linux wheel on the index: it is
# built from its sdist (needs gcc, pg_config and the libpq and Python headers:
# build-essential, libpq-dev, python3-dev). Uses $PYTHON's pip (default: the
# python3 on PATH). Idempotent: a complete wheelhouse is left as it is.
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIR=${1:?usage: wheelhouse.sh DIR REQUIREMENTS}
REQ=${2:?usage: wheelhouse.sh DIR REQUIREMENTS}
PYTHON=${PYTHON:-python3}
EXTRA=$HERE/wheelhouse-extra.txt
pip=("$PYTHON" -m pip --disable-pip-version-check)
# The extra pins, comments and blanks left out.
mapfile -t extras < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$EXTRA")
mkdir -p "$DIR"
complete() {
    "${pip[@]}" install --dry-run --no-index --find-links "$DIR" --ignore-installed --quiet -r "$REQ" \
        >/dev/null 2>&1 || return 1
    local spec
    for spec in "${extras[@]}"; do
        "${pip[@]}" download --no-index --find-links "$DIR" --no-deps --quiet -d "$DIR/.check" "$spec" \
            >/dev/null 2>&1 || return 1
    done
}
if complete; then
    rm -rf "$DIR/.check"
    echo "wheelhouse: $DIR already complete"
    exit 0
fi
"${pip[@]}" download --quiet --only-binary=:all: --dest "$DIR" -r "$REQ"
for spec in "${extras[@]}"; do
    if ! "${pip[@]}" download --quiet --only-binary=:all: --no-deps --dest "$DIR" "$spec" 2>/dev/null; then
        echo "wheelhouse: building $spec from its sdist"
        "${pip[@]}" wheel --quiet --use-pep517 --no-deps --wheel-dir "$DIR" "$spec"
    fi
done
complete || { echo "wheelhouse: $DIR does not resolve $REQ and the extras offline" >&2; exit 1; }
rm -rf "$DIR/.check"
echo "wheelhouse: $DIR ready ($(ls "$DIR" | wc -l) files)"
