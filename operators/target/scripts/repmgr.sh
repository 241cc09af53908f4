#!/usr/bin/env bash
# Builds the root filesystem of the repmgr + Pgpool-II image from Debian 12's
# packages: PostgreSQL, repmgr (postgresql-N-repmgr) and Pgpool-II (pgpool2).
# No entrypoint of ours is baked in: the target's manifests bring their
# start scripts in a ConfigMap. postgres gets uid/gid 101/103.
# In: OUT, WORK, SUITE, MIRROR, PG_MAJOR. Out: $OUT/rootfs.tar, $OUT/version
set -euo pipefail
root="$WORK/root"
mkdir -p "$root"
debootstrap --variant=minbase --include=ca-certificates,locales,procps,iproute2 "$SUITE" "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
	{ tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/etc/postgresql-common"
echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.conf"
echo 'en_US.UTF-8 UTF-8' >"$root/etc/locale.gen"
chroot "$root" locale-gen >/dev/null
chroot "$root" sh -eu -c '
	if getent passwd 101 >/dev/null; then u=$(getent passwd 101 | cut -d: -f1); usermod -u 1101 "$u"; fi
	if getent group 103 >/dev/null; then g=$(getent group 103 | cut -d: -f1); groupmod -g 1103 "$g"; fi
	groupadd -r -g 103 postgres
	useradd -r -u 101 -g 103 -d /var/lib/postgresql -s /bin/bash postgres'
chroot "$root" apt-get update -qq >"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log" >&2; exit 1; }
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	"postgresql-${PG_MAJOR}" "postgresql-${PG_MAJOR}-repmgr" pgpool2 postgresql-client >>"$WORK/apt.log" 2>&1 ||
	{ tail -20 "$WORK/apt.log" >&2; exit 1; }
test "$(chroot "$root" id -u postgres)" = 101
test -x "$root/usr/lib/postgresql/${PG_MAJOR}/bin/repmgr" || test -x "$root/usr/bin/repmgr"
test -x "$root/usr/sbin/pgpool"
mkdir -p "$root/run/postgresql" "$root/home/postgres/pgdata"
chroot "$root" chown -R postgres:postgres /run/postgresql /var/lib/postgresql /home/postgres /etc/pgpool2
chmod 2775 "$root/run/postgresql"
chmod 1777 "$root/tmp"
{
	chroot "$root" dpkg-query -W -f 'postgresql ${Version}\n' "postgresql-${PG_MAJOR}"
	chroot "$root" dpkg-query -W -f 'repmgr ${Version}\n' "postgresql-${PG_MAJOR}-repmgr"
	chroot "$root" dpkg-query -W -f 'pgpool2 ${Version}\n' pgpool2
} >"$OUT/version"
rm -f "$root/usr/sbin/policy-rc.d"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" --numeric-owner -cf "$OUT/rootfs.tar" .
