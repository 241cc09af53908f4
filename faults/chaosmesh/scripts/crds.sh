#!/usr/bin/env bash
# Generates Chaos Mesh's CustomResourceDefinitions from the typed API module
# (github.com/chaos-mesh/chaos-mesh/api, from the module proxy) with
# controller-gen, in a throwaway module in a temporary directory, and caches
# them by version outside the repository: nothing of Chaos Mesh's schema is
# committed here.
#
# In (environment, all optional):
#   API_VERSION  the api module version (default: the one this repository's go.mod pins)
#   CR_VERSION   sigs.k8s.io/controller-runtime version the api package is type-checked
#                with (default: the one go.mod pins; the api version needs < v0.20)
#   CONTROLLER_TOOLS_VERSION  default v0.18.0
#   CACHE_DIR    default /var/cache/pgchaos/chaosmesh-crds
# Out: the CRD YAML files in $CACHE_DIR/$API_VERSION (one per kind); that
# directory is printed on stdout. A finished directory has a .done file and is
# reused as is.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
api_mod=github.com/chaos-mesh/chaos-mesh/api
modver() { (cd "$repo" && go list -m -f '{{.Version}}' "$1"); }
API_VERSION="${API_VERSION:-$(modver "$api_mod")}"
CR_VERSION="${CR_VERSION:-$(modver sigs.k8s.io/controller-runtime)}"
CONTROLLER_TOOLS_VERSION="${CONTROLLER_TOOLS_VERSION:-v0.18.0}"
CACHE_DIR="${CACHE_DIR:-/var/cache/pgchaos/chaosmesh-crds}"
out="$CACHE_DIR/$API_VERSION"
stamp="api=$API_VERSION controller-runtime=$CR_VERSION controller-tools=$CONTROLLER_TOOLS_VERSION"
if [[ -f "$out/.done" && "$(cat "$out/.done")" == "$stamp" ]]; then
	echo "$out"
	exit 0
fi
mkdir -p "$CACHE_DIR"
work="$(mktemp -d "$CACHE_DIR/.work.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mod" "$work/crds"
cd "$work/mod"
printf 'module pgchaos.local/chaosmeshcrds\n\ngo 1.24\n' >go.mod
export GOFLAGS=-mod=mod
go get "$api_mod@$API_VERSION" "sigs.k8s.io/controller-runtime@$CR_VERSION" \
	"sigs.k8s.io/controller-tools@$CONTROLLER_TOOLS_VERSION" >"$work/get.log" 2>&1 || { cat "$work/get.log" >&2; exit 1; }
go build -o "$work/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen
# crdVersions=v1 and allowDangerousTypes (float fields) as Chaos Mesh's own Makefile.
"$work/controller-gen" crd:crdVersions=v1,allowDangerousTypes=true \
	paths="$api_mod/v1alpha1" output:crd:dir="$work/crds" >&2
ls "$work/crds"/*.yaml >/dev/null
printf '%s\n' "$stamp" >"$work/crds/.done"
rm -rf "$out"
mv "$work/crds" "$out"
echo "$out"
