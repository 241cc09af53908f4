#!/usr/bin/env bash
# Builds CloudNativePG's manager (cmd/manager) from a writable copy of the
# module at a pinned version and lays out the operator image's root
# filesystem the way the upstream image is laid out: pkg/utils/discovery.go
# looks for operator/manager_<arch> relative to WORKDIR /, and pods'
# bootstrap init containers run `/manager bootstrap /controller/manager`.
# In: OUT, WORK, VERSION (1.27.1), GOARCH. Out: $OUT/root (the image's tree).
set -euo pipefail
dir="$(go mod download -json "github.com/cloudnative-pg/cloudnative-pg@v${VERSION}" | jq -r .Dir)"
cp -r "$dir" "$WORK/src"
chmod -R u+w "$WORK/src"
cd "$WORK/src"
root="$OUT/root"
mkdir -p "$root/operator" "$root/controller" "$root/run/secrets/cnpg.io/webhook" "$root/etc" "$root/tmp"
chmod 1777 "$root/tmp"
ld="-s -w -X github.com/cloudnative-pg/cloudnative-pg/pkg/versions.buildVersion=${VERSION} -X github.com/cloudnative-pg/cloudnative-pg/pkg/versions.buildCommit=pgchaos-offline"
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ld" -o "$root/operator/manager_${GOARCH}" ./cmd/manager
ln -s "operator/manager_${GOARCH}" "$root/manager"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
