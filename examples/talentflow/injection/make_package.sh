#!/usr/bin/env bash
# Build the flipped (shipped, broken) TalentFlow package in OUT without touching
# examples/talentflow/project/:
#
#   injection/make_package.sh OUT
#
# OUT/project      = project/ with every injection/<ID>.patch applied
# OUT/solutions/   = <ID>.patch, the reverse of each injection, as a forward
#                    diff against the shipped state (new/deleted files included)
# OUT/bugs.toml, OUT/environment.toml, OUT/tests.json copied as they are.
#
# `verify OUT` (cargo run -p debugenv --example verify -- OUT) then proves it.
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKG=$(dirname "$HERE")
OUT=${1:?usage: make_package.sh OUT}
[ ! -e "$OUT" ] || { echo "make_package: $OUT exists" >&2; exit 1; }
mkdir -p "$OUT/solutions"
cp -r "$PKG/project" "$OUT/project"
find "$OUT/project" -name __pycache__ -prune -exec rm -rf {} +
cp "$HERE/bugs.toml" "$HERE/environment.toml" "$PKG/tests.json" "$OUT/"
cd "$OUT/project"
git init -q
for p in "$HERE"/*.patch; do git apply "$p"; done
git add -A
git -c user.name=make_package -c user.email=make_package@localhost commit -qm shipped
for p in "$HERE"/*.patch; do
    id=$(basename "$p" .patch)
    git apply -R "$p"
    git add -A
    git diff --cached --no-renames --no-color > "$OUT/solutions/$id.patch"
    git reset -q --hard
done
rm -rf .git
echo "make_package: $OUT ($(ls "$OUT/solutions" | wc -l) solutions)"
