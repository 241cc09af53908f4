#!/usr/bin/env bash
# Builds CoreDNS with only the plugins a kind cluster's Corefile uses (and a
# few harmless ones for debugging): the full plugin set compiles the AWS,
# Azure and Google Cloud SDKs, which took most of this step's time.
# In: OUT, WORK, VERSION. Out: $OUT/coredns
set -euo pipefail
keep=" root metadata cancel timeouts reload bind debug ready health prometheus errors log loadbalance cache rewrite template hosts kubernetes loop forward whoami "
dir="$(go mod download -json "github.com/coredns/coredns@$VERSION" | jq -r .Dir)"
cp -r "$dir" "$WORK/src"
chmod -R u+w "$WORK/src"
cd "$WORK/src"
rm -rf vendor
# plugin.cfg keeps its order (the order of the directives); only the listed plugins stay.
awk -F: -v keep="$keep" '/^#/ || NF < 2 { print; next } index(keep, " " $1 " ") { print }' plugin.cfg >plugin.cfg.new
mv plugin.cfg.new plugin.cfg
grep -c : plugin.cfg >&2
GOFLAGS=-mod=mod go generate coredns.go
mkdir -p "$OUT"
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$OUT/coredns" .
"$OUT/coredns" -plugins | tr '\n' ' ' >&2
