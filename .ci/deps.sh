#!/usr/bin/env bash
# Debian packages every CI part needs. Idempotent; fails loudly.
set -Eeuo pipefail
pkgs=(
    build-essential pkg-config git ca-certificates
)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "deps: all of ${#pkgs[@]} packages present"
