#!/usr/bin/env bash
# e2e-smoke.sh: the end-to-end smoke for .ci/run, after kind-smoke.sh.
# Prepares the host, creates a kind cluster (offline node image, cached), then
# runs the suite's smoke spec of every operator of the registry (suites/e2e,
# label "smoke"; each operator's images are built offline, cached, and loaded
# by the suite): a 3-instance synchronous cluster whose primary pod is
# deleted under load.
# It asserts what the harness must get right every time (suites/env.go): the
# trial completes, the ledger is complete and checkable, every verdict is
# present, replication is watched until its budget elapsed, the lost count
# equals an independent recount (raw ledger vs SQL on the primary), no split
# brain or phantom write is reported, nothing of the run is left. The
# operator's behaviour (zero lost with synchronous replication, unavailability
# within 30 s, WAL continuity, replicas streaming again within 60 s) is a
# finding: recorded in the trial's findings.json, gated only with
# PGCHAOS_GATE_FINDINGS=1.
# Then the blast-radius specs (the kind cluster reached through --kubeconfig
# as a foreign cluster: every refusal) and the game day driven in tmux (a
# note, a key, an abort). Then the leftovers specs: `pgchaos run` is interrupted (SIGINT) and killed
# (SIGKILL) while the node agent cuts the primary off; the fault must end by
# the run itself, by the agent's deadline and by `pgchaos cleanup`. Then the
# storage proof (ci/storage.sh) and a quick certificate (ci/certify-smoke.sh)
# on the same kind cluster.
# Artifacts (the trial, verdicts, logs of a failed spec) go to $PGCHAOS_ARTIFACTS.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
name="${PGCHAOS_KIND_NAME:-pgchaos-e2e}"
export PGCHAOS_ARTIFACTS="${PGCHAOS_ARTIFACTS:-$PWD/results/e2e-smoke}"
bash ci/host-prep.sh
mkdir -p bin "$PGCHAOS_ARTIFACTS"
CGO_ENABLED=0 nice -n 10 go build -o bin/pgchaos ./cmd/pgchaos # static: the agent image is made of it
if ! ./bin/pgchaos cluster status --name "$name" >/dev/null 2>&1; then
	./bin/pgchaos cluster delete --name "$name" >/dev/null 2>&1 || true
	./bin/pgchaos cluster create --name "$name"
	trap './bin/pgchaos cluster delete --name "$name"' EXIT
fi
# -v: the specs' steps, verdicts, the independent recount and the findings are in the log even when they pass.
PGCHAOS_E2E=1 PGCHAOS_KIND_NAME="$name" nice -n 10 go test -v -count=1 -timeout 60m ./suites/e2e/ \
	-args "-ginkgo.label-filter=${PGCHAOS_LABELS:-smoke || leftovers || blast-radius || gameday}" -ginkgo.v
# Slow and full storage on the same cluster (its own Postgres cluster, on the
# pgchaos-iofs storage class): commit latency must rise by the injected 50 ms.
PGCHAOS_KIND_NAME="$name" PGCHAOS_ARTIFACTS="$PGCHAOS_ARTIFACTS/storage" bash ci/storage.sh
# A quick certificate of CloudNativePG on the same cluster, verified, then
# tampered with (verify must catch it).
PGCHAOS_KIND_NAME="$name" PGCHAOS_ARTIFACTS="$PGCHAOS_ARTIFACTS/certify" bash ci/certify-smoke.sh
