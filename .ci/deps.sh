#!/usr/bin/env bash
# Debian packages every CI part needs. Idempotent; fails loudly.
set -Eeuo pipefail
pkgs=(
    build-essential pkg-config git ca-certificates curl
    # TalentFlow and the local sandbox: private PostgreSQL and Redis instances,
    # the project's Python venv (Debian's python3, readable by any user).
    postgresql-15 postgresql-client-15 redis-server redis-tools
    python3 python3-venv python3-dev libpq-dev
    # Network namespaces and privilege dropping for the local sandbox.
    iproute2 util-linux
    # The Docker sandbox image is built from a debootstrap root filesystem.
    debootstrap docker-compose
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
