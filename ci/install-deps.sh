#!/usr/bin/env bash
# Installs what pgchaos's tests need on a fresh Debian machine, only if missing:
# the PostgreSQL server and pgbench, Chromium for the report's browser test,
# python3 with PyYAML for the Zalando image's entrypoint test, and tmux for
# the game day's terminal test (all Debian's packages). Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash reports/testdata/install-chromium.sh

if ! python3 -c 'import yaml' 2>/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: python3-yaml missing; run as root or: sudo apt-get install -y python3 python3-yaml" >&2
    exit 2
  fi
  for attempt in 1 2 3; do
    if DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-yaml >/dev/null; then
      break
    fi
    [ "$attempt" = 3 ] && { echo "install-deps: apt-get failed 3 times; check the Debian mirror" >&2; exit 2; }
    sleep $((attempt * 5))
  done
fi

if ! command -v tmux >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: tmux missing; run as root or: sudo apt-get install -y tmux" >&2
    exit 2
  fi
  for attempt in 1 2 3; do
    if DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tmux >/dev/null; then
      break
    fi
    [ "$attempt" = 3 ] && { echo "install-deps: apt-get failed 3 times; check the Debian mirror" >&2; exit 2; }
    sleep $((attempt * 5))
  done
fi

have_server() { compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; }
have_pgbench() { command -v pgbench >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/pgbench" >/dev/null; }

if have_server && have_pgbench; then
  echo "install-deps: PostgreSQL server and pgbench present: nothing to do"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: PostgreSQL server missing; run as root or: sudo apt-get install -y postgresql postgresql-contrib" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
# Do not let the package start a server of its own (there is no systemd here
# anyway); the tests start their own servers in temporary directories.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
mkdir -p /etc/postgresql-common
grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
  echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
for attempt in 1 2 3; do
  if apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql postgresql-contrib >/dev/null; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "install-deps: apt-get failed 3 times; check the Debian mirror" >&2; exit 2; }
  sleep $((attempt * 5))
done
echo "install-deps: installed $(ls /usr/lib/postgresql/)"
