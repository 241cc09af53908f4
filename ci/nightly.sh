#!/usr/bin/env bash
# nightly.sh: the nightly job for any shell CI (GitLab CI, Jenkins, Buildkite,
# cron): what .github/workflows/nightly.yml does, in one script.
#
#   bash ci/nightly.sh [OPERATOR[@VERSION]...]
#
# For each operator (default: every adapter of `pgchaos operators` at its
# default version) it runs a certificate with $PROFILE (default
# profiles/quick-v1.yaml) on the local kind cluster $PGCHAOS_KIND_NAME
# (created if absent; images built offline and cached), verifies it, writes
# the Markdown summary, and keeps everything under $NIGHTLY_DIR/<date>/
# (default results/nightly). Then `pgchaos report trend` over every night
# kept there, per operator. Exit 0 when every certificate is PASS and no
# night regressed, 1 otherwise; the CI system keeps $NIGHTLY_DIR.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="/usr/local/go/bin:$PATH"
profile="${PROFILE:-profiles/quick-v1.yaml}"
root="${NIGHTLY_DIR:-$PWD/results/nightly}"
kind="${PGCHAOS_KIND_NAME:-pgchaos}"
night="$(date -u +%Y-%m-%dT%H%M)"
set -e
bash ci/install-deps.sh
bash ci/host-prep.sh
make build
./bin/pgchaos profile validate "$profile"
set +e
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	mapfile -t targets < <(./bin/pgchaos operators --json | python3 -c 'import json,sys; [print(a["name"]) for a in json.load(sys.stdin)]')
fi
status=0
for t in "${targets[@]}"; do
	op="${t%@*}"
	ver=""
	[ "$t" != "$op" ] && ver="${t#*@}"
	out="$root/$op${ver:+-$ver}/$night"
	mkdir -p "$(dirname "$out")"
	echo "== $op ${ver:-(default version)}: $out"
	./bin/pgchaos certify --operator "$op" ${ver:+--operator-version "$ver"} --profile "$profile" \
		--kind-name "$kind" --namespace "pgchaos-nightly-$op" --out "$out"
	rc=$?
	[ $rc -ne 0 ] && status=1
	if [ -f "$out/results.json" ]; then
		./bin/pgchaos report summary "$out" > "$out/summary.md" || status=1
		./bin/pgchaos certify verify "$out" || status=1
	fi
	# Every night kept for this operator, oldest to newest (trend orders by start).
	mapfile -t nights < <(ls -d "$root/$op${ver:+-$ver}"/*/ 2>/dev/null)
	if [ ${#nights[@]} -ge 2 ]; then
		./bin/pgchaos report trend "${nights[@]}" -o "$root/$op${ver:+-$ver}/trend.html" || status=1
	fi
done
echo "nightly: results in $root (exit $status)"
exit $status
