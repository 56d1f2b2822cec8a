#!/usr/bin/env bash
# The fully fixed TalentFlow project: a copy of the shipped project/ with every
# reference fix (solutions/<ID>.patch) applied.
#
#   scripts/fixed_copy.sh DEST
#
# DEST must not exist. The fixes touch disjoint hunks, so their order does not
# matter. CI, the provisioning script, tests.json's generator and the images
# use this copy: the shipped project cannot start (that is the point).
set -Eeuo pipefail
PKG=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST=${1:?usage: fixed_copy.sh DEST}
[ ! -e "$DEST" ] || { echo "fixed_copy: $DEST exists" >&2; exit 1; }
mkdir -p "$(dirname "$DEST")"
cp -r "$PKG/project" "$DEST"
find "$DEST" -name __pycache__ -prune -exec rm -rf {} +
DEST=$(cd "$DEST" && pwd)
cd "$DEST"
# Keep git from taking an enclosing repository's root as the patches' base.
export GIT_CEILING_DIRECTORIES=$(dirname "$DEST")
n=0
for p in "$PKG"/solutions/*.patch; do
    git apply "$p" || { echo "fixed_copy: $(basename "$p") does not apply to $DEST" >&2; exit 1; }
    n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "fixed_copy: no solutions in $PKG/solutions" >&2; exit 1; }
echo "fixed_copy: $DEST ($n fixes applied)"
