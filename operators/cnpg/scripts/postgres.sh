#!/usr/bin/env bash
# Builds a PostgreSQL image root filesystem from Debian packages that meets
# CloudNativePG's image requirements: the server binaries on PATH
# (/usr/lib/postgresql/$PG_MAJOR/bin), a UTF-8 locale, and the postgres user
# and group with UID/GID 26 (CloudNativePG's default postgresUID/GID; Debian
# gives postgres 100/102 and gid 26 to "tape", which moves to 1026).
# Backups (barman-cli-cloud) are left out: pgchaos does not take any.
# In: OUT, WORK, SUITE, MIRROR, PG_MAJOR. Out: $OUT/rootfs.tar, $OUT/version
set -euo pipefail
root="$WORK/root"
mkdir -p "$root"
debootstrap --variant=minbase --include=ca-certificates,locales,procps "$SUITE" "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
	{ tail -20 "$WORK/debootstrap.log" >&2; exit 1; }
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/etc/postgresql-common"
echo 'create_main_cluster = false' >"$root/etc/postgresql-common/createcluster.conf"
echo 'en_US.UTF-8 UTF-8' >"$root/etc/locale.gen"
chroot "$root" locale-gen >/dev/null
chroot "$root" apt-get update -qq >"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log" >&2; exit 1; }
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "postgresql-${PG_MAJOR}" >>"$WORK/apt.log" 2>&1 ||
	{ tail -20 "$WORK/apt.log" >&2; exit 1; }
# Renumber postgres to 26/26 (the package's adduser --system refuses a
# pre-created user outside the system range) and re-own its files.
chroot "$root" sh -eu -c '
	olduid=$(id -u postgres); oldgid=$(id -g postgres)
	groupmod -g 1026 tape
	groupmod -g 26 postgres
	usermod -u 26 -g 26 postgres
	find / -xdev -uid "$olduid" -exec chown -h 26 {} +
	find / -xdev -gid "$oldgid" -exec chgrp -h 26 {} +'
test "$(chroot "$root" id -u postgres)" = 26
test "$(chroot "$root" id -g postgres)" = 26
mkdir -p "$root/var/run/postgresql" "$root/var/lib/postgresql"
chroot "$root" chown -R postgres:postgres /var/run/postgresql /var/lib/postgresql /var/log/postgresql
chmod 2775 "$root/var/run/postgresql"
chmod 1777 "$root/tmp"
chroot "$root" dpkg-query -W -f '${Version}' "postgresql-${PG_MAJOR}" >"$OUT/version"
rm -f "$root/usr/sbin/policy-rc.d"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" --numeric-owner -cf "$OUT/rootfs.tar" .
