#!/usr/bin/env bash
# Builds the Kubernetes binaries from the k8s.io/kubernetes module through a throwaway
# module that replaces every staging module with its matching release.
# In: OUT (output dir), WORK (scratch dir), K8S_VERSION (v1.33.13).
set -euo pipefail
staging="v0${K8S_VERSION#v1}"
mkdir -p "$WORK/mod" "$OUT/bin"
cd "$WORK/mod"
cat >go.mod <<MOD
module pgchaos.local/k8sbuild

go 1.24
MOD
go mod edit -require="k8s.io/kubernetes@${K8S_VERSION}"
kdir="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | jq -r .Dir)"
grep -E '^\s*k8s.io/[a-z0-9-]+ => ./staging/' "$kdir/go.mod" | awk '{print $1}' | while read -r m; do
	go mod edit -replace="$m=$m@$staging"
done
cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
GOFLAGS=-mod=mod go get "k8s.io/kubernetes@${K8S_VERSION}" >/dev/null
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
v=k8s.io/component-base/version
ld="-s -w -X $v.gitVersion=${K8S_VERSION} -X $v.gitMajor=1 -X $v.gitMinor=${minor} -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=${K8S_VERSION}"
# One go build for all seven commands: shared packages compile once and the links run
# in parallel (seven sequential builds linked one at a time).
pkgs=()
for c in kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
	pkgs+=("k8s.io/kubernetes/cmd/$c")
done
echo "building ${#pkgs[@]} commands"
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$ld" -o "$OUT/bin/" "${pkgs[@]}"
ls "$OUT/bin"
