# pgchaos — build, test, lint, bench. `make test` and `make run` do all set-up
# on a fresh machine (they install PostgreSQL from Debian's packages if absent).

GO          ?= go
BIN         := bin
STATICCHECK := $(BIN)/staticcheck
STATICCHECK_VERSION := 2025.1.1
TEST_TIMEOUT ?= 25m

.PHONY: all build deps test unit lint bench run selftest clean e2e-cnpg smoke-cnpg

all: build

build:
	$(GO) build -o $(BIN)/pgchaos ./cmd/pgchaos

# Installs what the tests need (idempotent; quick when everything is there).
deps:
	bash ci/install-deps.sh

# Every test, including the self-test scenarios against real PostgreSQL servers.
test: deps
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) ./...

# Unit tests only (no servers).
unit:
	$(GO) test -count=1 -short ./...

$(STATICCHECK):
	GOBIN=$(CURDIR)/$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: $(STATICCHECK)
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Benchmarks with side-by-side baselines (pgbench; checker throughput).
bench: deps build
	bash scripts/bench.sh

# The main job. Until the kind cluster lands, the default target is the local
# self-test: real PostgreSQL servers on loopback, faults injected by hand.
run: deps build
	$(BIN)/pgchaos selftest --out $(or $(OUT),results/selftest)

selftest: run

# The CloudNativePG suite on the local kind cluster (PGCHAOS_KIND_NAME, default
# pgchaos; create it with bin/pgchaos cluster create). See suites/env.go.
e2e-cnpg: build
	PGCHAOS_E2E=1 $(GO) test -count=1 -timeout 120m ./suites/cnpg/ -args -ginkgo.v

# The CI smoke: one synchronous primary-pod-kill spec on a kind cluster.
smoke-cnpg:
	bash ci/cnpg-smoke.sh

clean:
	rm -rf $(BIN) results
