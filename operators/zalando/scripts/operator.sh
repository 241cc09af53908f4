#!/usr/bin/env bash
# Builds Zalando's postgres-operator (cmd/main.go) from a writable copy of the
# module at a pinned version, laid out as its docker/Dockerfile lays it out:
# the binary at /postgres-operator, user pgo 1000:1000. The upstream image
# adds curl and CA certificates for the teams API, which pgchaos does not use.
# In: OUT, WORK, VERSION (1.15.0). Out: $OUT/root (the image's tree).
set -euo pipefail
dir="$(go mod download -json "github.com/zalando/postgres-operator@v${VERSION}" | jq -r .Dir)"
cp -r "$dir" "$WORK/src"
chmod -R u+w "$WORK/src"
cd "$WORK/src"
root="$OUT/root"
mkdir -p "$root/etc" "$root/tmp"
chmod 1777 "$root/tmp"
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w -X=main.version=${VERSION}" -o "$root/postgres-operator" ./cmd
printf 'root:x:0:0:root:/root:/sbin/nologin\npgo:x:1000:1000:Postgres Operator:/tmp:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\npgo:x:1000:\n' >"$root/etc/group"
