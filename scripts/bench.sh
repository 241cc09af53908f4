#!/usr/bin/env bash
# pgchaos benchmarks, each with a side-by-side baseline or target:
#  - the ledger workload's acknowledged writes/s against pgbench (single-row
#    INSERT, same clients, same local server), as a ratio (target >= 0.95);
#  - the checkers on a synthetic history of 10 million operations: ops/s on
#    one core (target >= 2e6) and bytes per op (target <= 64).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== ledger workload vs pgbench"
go test -run '^$' -bench 'BenchmarkLedgerVsPgbench' -benchtime 1x -timeout 10m ./workload/ | grep -v '^goos\|^goarch\|^pkg\|^cpu'
echo "== checkers on 10 million operations (GOMAXPROCS=1)"
GOMAXPROCS=1 go test -run '^$' -bench 'BenchmarkCheckers10M' -benchtime 1x -benchmem -timeout 10m ./assert/ | grep -v '^goos\|^goarch\|^pkg\|^cpu'
