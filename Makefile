# pgchaos — build, test, lint, bench. `make test` and `make run` do all set-up
# on a fresh machine: PostgreSQL, pgbench and Chromium from Debian's packages
# (ci/install-deps.sh), Docker and its runtime shim (ci/host-prep.sh), the
# offline kind node image and CloudNativePG's images (built and cached under
# /var/cache/pgchaos).
GO          ?= go
BIN         := bin
STATICCHECK := $(BIN)/staticcheck
# staticcheck 2026.2.2; the proxy no longer serves the tag form (2025.1.1: 403).
STATICCHECK_VERSION := v0.8.2
ACTIONLINT  := $(BIN)/actionlint
# actionlint checks the GitHub Actions workflow users copy (.github/workflows).
ACTIONLINT_VERSION := v1.7.12
TEST_TIMEOUT ?= 25m
# Where the Go tests leave what a person looks at (the browser test's
# report.png and compare.png, the HTML they show): CI keeps it as artifacts.
ARTIFACTS   ?= results/ci-artifacts

.PHONY: all build deps test test-local test-kind test-chaosmesh test-e2e unit lint bench run selftest clean e2e smoke storage compare

all: build

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/pgchaos ./cmd/pgchaos

# Installs what the tests need (idempotent; quick when everything is there).
deps:
	bash ci/install-deps.sh

# Every test: the Go tests (unit, real PostgreSQL servers, the self-test
# scenarios, the report in Chromium), then the kind cluster verification,
# then Chaos Mesh's objects against a real API server, then the
# end-to-end smoke of every operator.
test: test-local test-kind test-chaosmesh test-e2e

# The Go tests only (no Docker, no Kubernetes): a couple of minutes.
test-local: deps
	mkdir -p $(ARTIFACTS)
	PGCHAOS_ARTIFACTS=$(abspath $(ARTIFACTS)) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...; \
	status=$$?; echo "test artifacts (browser screenshots report.png, compare.png): $(abspath $(ARTIFACTS))"; exit $$status

# A 4-node kind cluster from offline images: nodes Ready, DNS, cross-node pod
# traffic, a PVC, a privileged pod, a clean delete.
test-kind:
	bash ci/kind-smoke.sh

# Every Chaos Mesh object the backend builds, created on a real kube-apiserver
# and etcd (the node image's, built if absent) with Chaos Mesh's CRDs generated
# by faults/chaosmesh/scripts/crds.sh. In test-local the same test runs only
# when those binaries are already cached.
test-chaosmesh:
	PGCHAOS_CHAOSMESH_BUILD=1 $(GO) test -count=1 -timeout 30m -run TestAPIServer -v ./faults/chaosmesh/

# Every operator of the registry, 3 instances, synchronous, primary pod
# deleted under load; pgchaos's own cleanup; slow and full storage.
test-e2e: smoke

# Unit tests only (no servers).
unit:
	$(GO) test -count=1 -short ./...

$(STATICCHECK):
	GOBIN=$(CURDIR)/$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(ACTIONLINT):
	GOBIN=$(CURDIR)/$(BIN) $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

lint: $(STATICCHECK) $(ACTIONLINT)
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(ACTIONLINT) -shellcheck= -pyflakes= .github/workflows/*.yml

# Benchmarks with side-by-side baselines (pgbench; checker throughput).
bench: deps build
	bash scripts/bench.sh

# The main job: on the local kind cluster (created if absent, images built
# offline), CloudNativePG asynchronous then synchronous, every fault, judged,
# with results.json, junit.xml, report.html and compare.html (async vs sync)
# in results/run.
run: deps build
	bash ci/host-prep.sh
	$(BIN)/pgchaos run --operator $(or $(OPERATOR),cnpg) --out $(or $(OUT),results/run)

# Operators compared: the default scenarios, asynchronous and synchronous, on
# every adapter of the registry in turn (one at a time on the local kind
# cluster), then results/compare/compare.html side by side.
compare: deps build
	bash ci/host-prep.sh
	bash scripts/compare.sh $(or $(OUT),results/compare)

# The harness proving its detectors on real PostgreSQL servers on loopback.
selftest: deps build
	$(BIN)/pgchaos selftest --out $(or $(OUT),results/selftest)

# The end-to-end suite on the local kind cluster (PGCHAOS_KIND_NAME, default
# pgchaos; create it with bin/pgchaos cluster create). See suites/env.go.
# OPERATOR=zalando selects one operator's specs; LABELS='...' any Ginkgo
# label filter (operator:cnpg && replication:sync && fault:pod-kill).
# Findings about the operator fail specs here (PGCHAOS_GATE_FINDINGS=0 to
# only record them, as make test does).
e2e: build
	PGCHAOS_E2E=1 PGCHAOS_GATE_FINDINGS=$${PGCHAOS_GATE_FINDINGS:-1} $(GO) test -count=1 -timeout 240m ./suites/e2e/ \
		-args -ginkgo.v "-ginkgo.label-filter=$(or $(LABELS),$(if $(OPERATOR),operator:$(OPERATOR),))"

# Slow and full storage against an operator (PGCHAOS_OPERATOR, default cnpg)
# on its own kind cluster (issue 5).
storage:
	bash ci/storage.sh

# The CI smoke: each operator's synchronous primary-pod-kill spec, the
# leftovers specs and the storage proof on a kind cluster.
smoke:
	bash ci/e2e-smoke.sh

clean:
	rm -rf $(BIN) results
