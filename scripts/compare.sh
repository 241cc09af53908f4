#!/usr/bin/env bash
# Runs the default scenarios (asynchronous and synchronous) on every operator
# adapter in turn on the local kind cluster, then writes OUT/compare.html with
# the operators side by side. A run that fails its checks still goes into the
# comparison (that is a finding); a run that could not be done stops here.
# Usage: scripts/compare.sh OUT [ADAPTER...]   (default: every adapter)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:?usage: scripts/compare.sh OUT [ADAPTER...]}"
shift
bin=bin/pgchaos
adapters=("$@")
if [ ${#adapters[@]} -eq 0 ]; then
	mapfile -t adapters < <("$bin" operators --json | python3 -c 'import json,sys; print("\n".join(r["name"] for r in json.load(sys.stdin)))')
fi
mkdir -p "$out"
dirs=()
for a in "${adapters[@]}"; do
	echo "== $a: default scenarios, async and sync -> $out/$a"
	rm -rf "${out:?}/$a"
	set +e
	"$bin" run --operator "$a" --replication both --namespace "pgchaos-$a" --out "$out/$a"
	rc=$?
	set -e
	# 0: every check passed; 1: a check failed (a finding, compared all the same).
	if [ "$rc" -gt 1 ]; then
		echo "compare: the $a run could not be done (exit $rc)" >&2
		exit "$rc"
	fi
	dirs+=("$out/$a")
done
"$bin" report compare "${dirs[@]}" -o "$out/compare.html"
echo "compare: $out/compare.html"
