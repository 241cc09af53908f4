#!/usr/bin/env bash
# cnpg-incluster.sh: runs `pgchaos run --in-cluster` from a pod of a kind
# cluster (the path a real cluster needs: no NodePort, no host routes), then
# copies the trial out. Needs the kind cluster and CloudNativePG's images
# (bin/pgchaos images cnpg --load NAME); the pgchaos image is a static
# pgchaos binary on top of the node image builder's busybox image. The operator
# must be installed already (any run from the host installs it): reading the
# release manifest needs the Go toolchain, which the pod does not have.
# Usage: scripts/cnpg-incluster.sh KIND_NAME OUT_DIR [extra run flags...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
name="$1" out="$2"
shift 2
export KUBECONFIG="$HOME/.kube/pgchaos-$name.kubeconfig"
mkdir -p bin "$out"
CGO_ENABLED=0 nice -n 10 go build -trimpath -o bin/pgchaos-static ./cmd/pgchaos
imgs="$(bin/pgchaos images cnpg --load "$name")"
opimg="$(awk '/^operator/ {print $2}' <<<"$imgs")"
pgimg="$(awk '/^postgres/ {print $2}' <<<"$imgs")"
ctx="$(mktemp -d)"
cp bin/pgchaos-static "$ctx/pgchaos"
printf 'FROM docker.io/pgchaos/local-path-helper:bookworm\nCOPY pgchaos /usr/local/bin/pgchaos\n' >"$ctx/Dockerfile"
tag="pgchaos.local/pgchaos:$(sha256sum "$ctx/pgchaos" | cut -c1-12)"
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >/dev/null
rm -rf "$ctx"
for n in $(docker ps --filter "label=io.x-k8s.kind.cluster=$name" --format '{{.Names}}'); do
	docker save "$tag" | docker exec -i "$n" ctr -n k8s.io images import --digests --snapshotter=overlayfs - >/dev/null
done
kubectl apply -f - <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: pgchaos-runner, labels: {pgchaos.io/operator: runner}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: pgchaos, namespace: pgchaos-runner}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: pgchaos-runner}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: pgchaos, namespace: pgchaos-runner}]
YAML
kubectl -n pgchaos-runner delete pod runner --ignore-not-found --wait=true >/dev/null
args="run --operator cnpg --in-cluster --skip-install --operator-image $opimg --postgres-image $pgimg --out /trial/t $*"
kubectl apply -f - <<YAML
apiVersion: v1
kind: Pod
metadata: {name: runner, namespace: pgchaos-runner}
spec:
  serviceAccountName: pgchaos
  restartPolicy: Never
  containers:
  - name: pgchaos
    image: $tag
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "pgchaos $args; echo \$? > /trial/exit; sleep 600"]
    volumeMounts: [{name: trial, mountPath: /trial}]
  volumes: [{name: trial, emptyDir: {}}]
YAML
kubectl -n pgchaos-runner wait --for=condition=Ready pod/runner --timeout=120s >/dev/null
kubectl -n pgchaos-runner logs -f runner &
logs=$!
until kubectl -n pgchaos-runner exec runner -- test -f /trial/exit 2>/dev/null; do sleep 5; done
kill "$logs" 2>/dev/null || true
kubectl -n pgchaos-runner exec runner -- busybox tar -C /trial -cf - . | tar -C "$out" -xf -
code="$(cat "$out/exit")"
kubectl -n pgchaos-runner delete pod runner --wait=false >/dev/null
echo "in-cluster run exit code $code; trial in $out/t"
exit "$code"
