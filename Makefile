# pgchaos — build, test, lint, bench. `make test` and `make run` do all set-up
# on a fresh machine (they install PostgreSQL from Debian's packages if absent).

GO          ?= go
BIN         := bin
STATICCHECK := $(BIN)/staticcheck
STATICCHECK_VERSION := 2025.1.1
TEST_TIMEOUT ?= 25m

.PHONY: all build deps test unit lint bench run selftest clean

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

clean:
	rm -rf $(BIN) results
