#!/usr/bin/env bash
# kind-smoke.sh: the issue-3 smoke step for .ci/run. Prepares the host, builds (or
# reuses) the offline node image, then runs the kind integration test: 4 Ready
# nodes, DNS, cross-node pod traffic, a PVC, a privileged pod, a clean delete.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash ci/host-prep.sh
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
nice -n 10 go build -o "$tmp/pgchaos" ./cmd/pgchaos
start=$(date +%s)
img="$("$tmp/pgchaos" images build)"
echo "kind-smoke: node image $img ($(( $(date +%s) - start )) s)"
PGCHAOS_KIND=1 PGCHAOS_NODE_IMAGE="$img" go test -count=1 -timeout 30m -run TestKindCluster -v ./clusters/
