#!/usr/bin/env bash
# host-prep.sh: make this host able to run kind clusters, idempotently.
#   - installs Docker (docker.io) from Debian's packages when dockerd is absent, and
#     the tools of the node image build (debootstrap, gcc, libc6-dev, jq);
#   - starts dockerd in the background when it is not answering (no systemd here);
#   - only when CAP_SYS_RESOURCE is missing from the capability bounding set,
#     builds and installs pgchaos-runc-shim and makes it Docker's default runtime.
# Prints one line per change it made; prints "host-prep: nothing to change" otherwise.
# Usage: ci/host-prep.sh [--verify]   (--verify also runs a privileged container)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHIM=/usr/local/bin/pgchaos-runc-shim
DAEMON_JSON=/etc/docker/daemon.json
DOCKERD_LOG=/var/log/dockerd.log
RUNTIME_NAME=pgchaos-runc
changed=0

say() { echo "host-prep: $*"; changed=1; }
die() { echo "host-prep: $*" >&2; exit 2; }

apt_install() {
	if ! apt-get install -y --no-install-recommends "$@" >/tmp/host-prep-apt.log 2>&1; then
		apt-get update >/tmp/host-prep-apt-update.log 2>&1 || die "apt-get update failed (see /tmp/host-prep-apt-update.log)"
		apt-get install -y --no-install-recommends "$@" >/tmp/host-prep-apt.log 2>&1 ||
			die "apt-get install $* failed (see /tmp/host-prep-apt.log)"
	fi
}

docker_ok() { timeout 10 docker info >/dev/null 2>&1; }

start_dockerd() {
	nohup dockerd >>"$DOCKERD_LOG" 2>&1 &
	local i
	for i in $(seq 1 60); do
		docker_ok && return 0
		sleep 1
	done
	die "dockerd did not answer within 60 s (see $DOCKERD_LOG)"
}

stop_dockerd() {
	local pid i
	pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
	[ -n "$pid" ] || die "dockerd is running but /var/run/docker.pid is missing; stop it by hand and rerun"
	kill "$pid"
	for i in $(seq 1 60); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 1
	done
	die "dockerd (pid $pid) did not stop within 60 s"
}

# 1. Docker installed.
if ! command -v dockerd >/dev/null 2>&1; then
	apt_install docker.io
	command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd not found"
	say "installed docker.io ($(dpkg-query -W -f='${Version}' docker.io))"
fi
# Tools of the offline node image build (pgchaos images build).
for tool in jq:jq debootstrap:debootstrap gcc:gcc strip:binutils; do
	if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
		apt_install "${tool#*:}"
		say "installed ${tool#*:}"
	fi
done
if [ ! -e /usr/lib/x86_64-linux-gnu/libc.a ] && [ ! -e /usr/lib/libc.a ]; then
	apt_install libc6-dev
	say "installed libc6-dev (static libc for the pause image)"
fi

# Several kind clusters on one host exhaust the default inotify limits (kube-proxy then
# exits with "too many open files"): raise them, never lower them.
for kv in fs.inotify.max_user_instances=1024 fs.inotify.max_user_watches=524288; do
	key="${kv%%=*}" want="${kv#*=}"
	cur="$(sysctl -n "$key")"
	if (( cur < want )); then
		sysctl -qw "$key=$want" || die "cannot set $key=$want"
		say "raised $key from $cur to $want"
	fi
done

# 2. Runtime shim, only when the bounding set lacks CAP_SYS_RESOURCE (bit 24).
capbnd="$(awk '/^CapBnd:/{print $2}' /proc/self/status)"
need_shim=0
if (( (16#$capbnd >> 24 & 1) == 0 )); then need_shim=1; fi
restart=0
if (( need_shim )); then
	command -v go >/dev/null 2>&1 || die "CAP_SYS_RESOURCE is missing and go is not installed to build the runtime shim"
	tmp="$(mktemp)"
	(cd "$REPO" && CGO_ENABLED=0 go build -trimpath -o "$tmp" ./cmd/pgchaos-runc-shim) || die "building pgchaos-runc-shim failed"
	if ! cmp -s "$tmp" "$SHIM"; then
		# Exec'd per container: replacing it needs no dockerd restart.
		install -m 0755 "$tmp" "$SHIM"
		say "installed $SHIM (CapBnd $capbnd lacks CAP_SYS_RESOURCE)"
	fi
	rm -f "$tmp"
	mkdir -p "$(dirname "$DAEMON_JSON")"
	cur='{}'
	[ -s "$DAEMON_JSON" ] && cur="$(cat "$DAEMON_JSON")"
	want="$(jq --arg n "$RUNTIME_NAME" --arg p "$SHIM" \
		'.runtimes[$n] = {path: $p} | .["default-runtime"] = $n' <<<"$cur")" ||
		die "$DAEMON_JSON is not valid JSON"
	if [ "$(jq -S . <<<"$cur")" != "$(jq -S . <<<"$want")" ]; then
		printf '%s\n' "$want" >"$DAEMON_JSON"
		say "set $RUNTIME_NAME as Docker's default runtime in $DAEMON_JSON"
		restart=1
	fi
fi

# 3. dockerd running with the current configuration.
if docker_ok; then
	if (( restart )); then
		stop_dockerd
		start_dockerd
		say "restarted dockerd (log: $DOCKERD_LOG)"
	fi
else
	start_dockerd
	say "started dockerd (log: $DOCKERD_LOG)"
fi
if (( need_shim )); then
	rt="$(docker info --format '{{.DefaultRuntime}}')"
	[ "$rt" = "$RUNTIME_NAME" ] || die "dockerd default runtime is $rt, want $RUNTIME_NAME (is dockerd started with other flags?)"
fi

# 4. Optional check: a privileged container from a locally imported image.
if [ "${1:-}" = "--verify" ]; then
	if ! docker image inspect pgchaos/busybox:prep >/dev/null 2>&1; then
		[ -x /bin/busybox ] || apt_install busybox-static
		d="$(mktemp -d)"
		mkdir -p "$d/bin"
		cp /bin/busybox "$d/bin/busybox"
		ln -s busybox "$d/bin/sh"
		tar -C "$d" -c . | docker import - pgchaos/busybox:prep >/dev/null
		rm -rf "$d"
	fi
	out="$(docker run --rm --privileged pgchaos/busybox:prep /bin/busybox grep CapEff /proc/self/status)" ||
		die "docker run --privileged failed"
	echo "host-prep: verify ok: privileged container runs ($out)"
fi

(( changed )) || echo "host-prep: nothing to change"
