#!/usr/bin/env bash
# A build context for one of TalentFlow's images, ready for an offline build:
#
#   image/make-context.sh env  DEST   # image/Dockerfile: debugenv-talentflow:latest
#   image/make-context.sh test DEST   # Dockerfile: the compose test runner (with project/)
#
# then, on the local sandbox base image (it passes BASE):
#
#   cargo run -p debugenv-sandbox --bin debugenv-sandbox -- build-image DEST debugenv-talentflow:latest
#
# DEST must not exist. It gets the package layout the Dockerfiles copy from
# (Dockerfile, image/, scripts/wheelhouse.sh, scripts/wheelhouse-extra.txt,
# and project/ for `test`) with image/wheelhouse/ = the wheelhouse of
# scripts/provision.sh's venv (${DEBUGENV_VENV:-/opt/debugenv/venv}/wheelhouse;
# run provision.sh first) and image/extra-wheels/ = the wheels of the venv's
# pytest-cov and coverage (downloaded with the venv's pip unless
# TALENTFLOW_EXTRA_WHEELS names a directory that has them).
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKG=$(dirname "$HERE")
usage="usage: make-context.sh env|test DEST"
KIND=${1:?$usage}
DEST=${2:?$usage}
VENV=${DEBUGENV_VENV:-/opt/debugenv/venv}
die() { echo "make-context: $*" >&2; exit 1; }
case "$KIND" in
    env) dockerfile=$HERE/Dockerfile ;;
    test) dockerfile=$PKG/Dockerfile ;;
    *) die "$usage" ;;
esac
[ ! -e "$DEST" ] || die "$DEST exists"
compgen -G "$VENV/wheelhouse/*.whl" >/dev/null \
    || die "no wheels in $VENV/wheelhouse (run scripts/provision.sh $VENV)"

mkdir -p "$DEST/scripts"
cp "$dockerfile" "$DEST/Dockerfile"
mkdir -p "$DEST/image"
cp "$HERE/install-venv.sh" "$HERE/requirements.lock" "$HERE/Dockerfile" "$DEST/image/"
cp -r "$VENV/wheelhouse" "$DEST/image/wheelhouse"
rm -rf "$DEST/image/wheelhouse/.check"
cp "$PKG/scripts/wheelhouse.sh" "$PKG/scripts/wheelhouse-extra.txt" "$DEST/scripts/"

if [ -n "${TALENTFLOW_EXTRA_WHEELS:-}" ]; then
    cp -r "$TALENTFLOW_EXTRA_WHEELS" "$DEST/image/extra-wheels"
else
    mapfile -t cov < <("$VENV/bin/python" -m pip freeze --all 2>/dev/null | grep -iE '^(pytest-cov|coverage)==')
    [ "${#cov[@]}" -eq 2 ] || die "$VENV has no pytest-cov and coverage to pin the image's to"
    "$VENV/bin/python" -m pip download -q --disable-pip-version-check --only-binary=:all: --no-deps \
        -d "$DEST/image/extra-wheels" "${cov[@]}" || die "cannot download the wheels of ${cov[*]}"
fi

if [ "$KIND" = test ]; then
    cp -r "$PKG/project" "$DEST/project"
    find "$DEST/project" -name __pycache__ -prune -exec rm -rf {} +
fi
echo "make-context: $DEST ($KIND image, $(ls "$DEST/image/wheelhouse" | wc -l) wheels)"
