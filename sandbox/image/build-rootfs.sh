#!/usr/bin/env bash
# Builds the sandbox base root filesystem as a tar archive, without any registry:
# a Debian bookworm minbase made with debootstrap, plus python3, PostgreSQL 15,
# Redis and procps, python3-venv (pip through ensurepip, so an environment
# Dockerfile can install its requirements offline from a wheelhouse with
# `pip install --no-index --find-links`), a non-root `sandbox` user (uid 1000), and a PostgreSQL
# cluster initialised at /var/lib/debugenv/pg (socket directory /run/debugenv).
#
# Usage: build-rootfs.sh OUT.tar
#
# The Debian mirror is read at run time from this machine's own apt sources
# (deb822 `*.sources` or one-line `sources.list`); no host name is written here.
# Must run as root (debootstrap, chroot). `debugenv-sandbox build-image` calls it
# and imports the result through the Docker engine API.
set -Eeuo pipefail
out=${1:?usage: build-rootfs.sh OUT.tar}
[ "$(id -u)" = 0 ] || { echo "build-rootfs: must run as root (debootstrap)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "build-rootfs: debootstrap missing (Debian package: debootstrap)" >&2; exit 2; }

# The first non-security bookworm mirror of the machine's apt configuration.
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    mirror=$(awk '
        /^URIs:/ { uri = $2 }
        /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") found = uri }
        /^$/ { uri = "" }
        END { print found }' "$f")
    [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -e /etc/apt/sources.list ]; then
    mirror=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
fi
[ -n "$mirror" ] || { echo "build-rootfs: no bookworm mirror found in /etc/apt/sources.list{,.d}" >&2; exit 2; }

work=$(mktemp -d /var/tmp/debugenv-rootfs.XXXXXX)
root=$work/root
cleanup() {
    for m in proc dev/pts dev sys; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m" || true; done
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -30 "$work/debootstrap.log" >&2; exit 1; }

# No service may start inside the chroot, and no default cluster is created.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/etc/postgresql-common"
echo "create_main_cluster = false" >"$root/etc/postgresql-common/createcluster.conf"
mount -t proc proc "$root/proc"

chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -ec '
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends \
            python3 python3-venv postgresql-15 postgresql-client-15 redis-server redis-tools procps ca-certificates >/dev/null
        apt-get clean
        rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* /usr/share/info/*
        useradd --uid 1000 --create-home --shell /bin/bash sandbox
        mkdir -p /workspace /opt/debugenv/pristine /var/lib/debugenv/pg /run/debugenv /var/lib/debugenv/redis
        chown sandbox:sandbox /workspace
        chown postgres:postgres /var/lib/debugenv/pg
        chown redis:redis /var/lib/debugenv/redis
        chmod 1777 /run/debugenv
        su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/initdb -D /var/lib/debugenv/pg -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8" >/dev/null
    '
umount "$root/proc"
rm -f "$root/usr/sbin/policy-rc.d"

tar --numeric-owner --xattrs -C "$root" -cf "$out.partial" .
mv "$out.partial" "$out"
echo "build-rootfs: wrote $out ($(du -h "$out" | cut -f1))"
