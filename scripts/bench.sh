#!/usr/bin/env bash
# pgchaos benchmarks, each with a side-by-side baseline or target:
#  - the ledger workload's acknowledged writes/s against pgbench (single-row
#    INSERT, same clients, same local server; also the workload's statement,
#    and a thread per client), as ratios (target >= 0.95 against the first),
#    with each client's CPU per write; and both at once against the same
#    server (against pgbench -j 2 and -j 1), a steadier ratio;
#  - the checkers on a synthetic history of 10 million operations: ops/s on
#    one core (target >= 2e6) and bytes per op (target <= 64);
#  - beside it, `pgchaos check DIR` end to end on a generated trial of 5
#    million writes (bin/pgchaos as a child process: ledger, monitor and
#    final state read, every checker, verdict.json written): writes per
#    second of wall time (target >= 1e6) and peak RSS per write (target
#    <= 100 bytes). Targets are reported, not enforced: the script fails only
#    when a benchmark cannot run.
# Usage: scripts/bench.sh [workload] [checkers] [check]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
# Ahead of other work on the machine when we may (root): the benchmarks
# compare rates, and a busy neighbour on 2 cores skews them.
NICE=()
[ "$(id -u)" = 0 ] && NICE=(nice -n -10)
SECTIONS=("$@")
run_section() { [ ${#SECTIONS[@]} -eq 0 ] || [[ " ${SECTIONS[*]} " == *" $1 "* ]]; }
mkdir -p bin
go test -c -o bin/workload.test ./workload
go test -c -o bin/assert.test ./assert
go test -c -o bin/pgchaos-cmd.test ./cmd/pgchaos
CGO_ENABLED=0 go build -o bin/pgchaos ./cmd/pgchaos
if run_section workload; then
  echo "== ledger workload vs pgbench"
  (cd workload && "${NICE[@]}" ../bin/workload.test -test.run '^$' -test.bench 'BenchmarkLedger(VsPgbench|AlongsidePgbench)' -test.benchtime 1x -test.timeout 10m) | grep -v '^goos\|^goarch\|^pkg\|^cpu'
fi
if run_section checkers; then
  echo "== checkers on 10 million operations (GOMAXPROCS=1)"
  (cd assert && GOMAXPROCS=1 "${NICE[@]}" ../bin/assert.test -test.run '^$' -test.bench 'BenchmarkCheckers10M' -test.benchtime 1x -test.benchmem -test.timeout 10m) | grep -v '^goos\|^goarch\|^pkg\|^cpu'
fi
if run_section check; then
  echo "== pgchaos check end to end, 5 million writes (bin/pgchaos check DIR; targets >= 1e6 ops/s, <= 100 rss-bytes/op)"
  (cd cmd/pgchaos && PGCHAOS_BIN="$PWD/../../bin/pgchaos" "${NICE[@]}" ../../bin/pgchaos-cmd.test -test.run '^$' -test.bench 'BenchmarkCheckEndToEnd5M' -test.benchtime 1x -test.timeout 20m) | grep -v '^goos\|^goarch\|^pkg\|^cpu'
fi
