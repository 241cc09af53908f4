#!/usr/bin/env bash
# Builds a Spilo-compatible PostgreSQL image root filesystem from Debian
# packages: PostgreSQL, Debian's Patroni 3.0.2 (its Kubernetes DCS labels the
# leader spilo-role=master, as Zalando's operator expects) and an entrypoint
# of pgchaos's (spilo-entrypoint.py, passed in as ENTRYPOINT_PY) that turns
# the environment the operator gives a pod (SCOPE, PGROOT, POD_IP,
# PGUSER_/PGPASSWORD_SUPERUSER and _STANDBY, KUBERNETES_*_LABEL(S),
# SPILO_CONFIGURATION, ...) into patroni.yml and execs Patroni.
# It is NOT Spilo: no WAL-E/WAL-G, no pgbouncer, no extensions, no cron.
# postgres gets Spilo's uid/gid 101/103 (the operator's spilo_runasuser and
# spilo_fsgroup are set to them).
# In: OUT, WORK, SUITE, MIRROR, PG_MAJOR, ENTRYPOINT_PY. Out: $OUT/rootfs.tar, $OUT/version
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
# uid 101 / gid 103 free for postgres before the package creates it.
chroot "$root" sh -eu -c '
	if getent passwd 101 >/dev/null; then u=$(getent passwd 101 | cut -d: -f1); usermod -u 1101 "$u"; fi
	if getent group 103 >/dev/null; then g=$(getent group 103 | cut -d: -f1); groupmod -g 1103 "$g"; fi
	groupadd -r -g 103 postgres
	useradd -r -u 101 -g 103 -d /var/lib/postgresql -s /bin/bash postgres'
chroot "$root" apt-get update -qq >"$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log" >&2; exit 1; }
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	"postgresql-${PG_MAJOR}" patroni python3-psycopg2 python3-yaml openssl >>"$WORK/apt.log" 2>&1 ||
	{ tail -20 "$WORK/apt.log" >&2; exit 1; }
test "$(chroot "$root" id -u postgres)" = 101
test "$(chroot "$root" id -g postgres)" = 103
test -x "$root/usr/bin/patroni"
mkdir -p "$root/var/run/postgresql" "$root/home/postgres/pgdata" "$root/home/postgres/certs"
chroot "$root" chown -R postgres:postgres /var/run/postgresql /var/lib/postgresql /var/log/postgresql /home/postgres
chmod 2775 "$root/var/run/postgresql"
chmod 1777 "$root/tmp"
install -m 0755 "$ENTRYPOINT_PY" "$root/usr/local/bin/pgchaos-spilo"
chroot "$root" python3 -c "import ast, sys; ast.parse(open(sys.argv[1]).read())" /usr/local/bin/pgchaos-spilo
{
	chroot "$root" dpkg-query -W -f 'postgresql ${Version}\n' "postgresql-${PG_MAJOR}"
	chroot "$root" dpkg-query -W -f 'patroni ${Version}\n' patroni
} >"$OUT/version"
rm -f "$root/usr/sbin/policy-rc.d"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
tar -C "$root" --numeric-owner -cf "$OUT/rootfs.tar" .
