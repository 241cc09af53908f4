#!/usr/bin/env bash
# certify-smoke.sh: a quick certificate of an operator ($PGCHAOS_OPERATOR,
# default cnpg) on kind, verified, then tampered with.
# Runs `pgchaos certify` with profiles/quick-v1.yaml on the kind cluster
# $PGCHAOS_KIND_NAME (created if absent), then asserts what the harness must
# get right every time: certificate.json and certificate.html exist, every
# requirement of the profile has a status (PASS, FAIL or UNDECIDED — the
# operator's behaviour is a finding, printed, gated only with
# PGCHAOS_GATE_FINDINGS=1), `pgchaos certify verify` exits 0 on the
# certificate as issued, and exits 1 naming the file once a trial's ledger
# is altered (on a copy). Results go to $PGCHAOS_ARTIFACTS (default
# results/certify).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
name="${PGCHAOS_KIND_NAME:-pgchaos-e2e}"
operator="${PGCHAOS_OPERATOR:-cnpg}"
out="${PGCHAOS_ARTIFACTS:-$PWD/results/certify}"
bash ci/host-prep.sh
mkdir -p bin "$(dirname "$out")"
rm -rf "$out" "$out-tampered"
pgchaos="${PGCHAOS_BIN:-}" # a prebuilt static binary, else bin/pgchaos built here
if [ -z "$pgchaos" ]; then
	CGO_ENABLED=0 nice -n 10 go build -o bin/pgchaos ./cmd/pgchaos
	pgchaos=./bin/pgchaos
fi
$pgchaos profile validate profiles/quick-v1.yaml
status=0
$pgchaos certify --operator "$operator" --profile profiles/quick-v1.yaml \
	--kind-name "$name" --namespace pgchaos-certify --out "$out" || status=$?
if [ "$status" -gt 1 ]; then
	echo "certify-smoke: pgchaos certify failed to run (exit $status)" >&2
	exit 1
fi
for f in certificate.json certificate.html results.json; do
	[ -s "$out/$f" ] || { echo "certify-smoke: $out/$f is missing" >&2; exit 1; }
done
python3 - "$out/certificate.json" "$status" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
want = {"sync-zero-loss", "no-split-brain", "wal-continuity", "no-phantom-writes", "unavailability-p95",
        "unavailability-max", "replicas-stream-again", "fault-expectations"}
got = {r["id"]: r["status"] for r in c["requirements"]}
assert set(got) == want, f"requirements {sorted(got)} != {sorted(want)}"
assert all(s in ("PASS", "FAIL", "UNDECIDED") for s in got.values()), got
assert c["status"] in ("PASS", "FAIL", "UNDECIDED"), c["status"]
assert (c["status"] == "PASS") == (sys.argv[2] == "0"), f"status {c['status']} but exit {sys.argv[2]}"
assert len(c["trials"]) + len(c.get("missing", [])) >= 4, "fewer than the profile's 4 trials"
for t in c["trials"]:
    assert "ledger.jsonl" in t["files"] and len(t["files"]["ledger.jsonl"]) == 64, t["dir"]
if c["status"] != "PASS" and c["status"] != "FAIL" and not c.get("reason"):
    raise SystemExit("an UNDECIDED certificate without its reason")
print(f"certificate {c['status']}: " + ", ".join(f"{k} {v}" for k, v in sorted(got.items())))
if c.get("reason"):
    print("  " + c["reason"])
PY
$pgchaos certify verify "$out"
cp -a "$out" "$out-tampered"
ledger="$(ls -d "$out-tampered"/*/ledger.jsonl | head -1)"
sed -i '0,/"ok"/{/"ok"/d}' "$ledger"
vstatus=0
$pgchaos certify verify "$out-tampered" > "$out-tampered.log" 2>&1 || vstatus=$?
cat "$out-tampered.log"
if [ "$vstatus" -ne 1 ] || ! grep -q "ledger.jsonl was altered" "$out-tampered.log"; then
	echo "certify-smoke: verify did not catch the altered ledger (exit $vstatus)" >&2
	exit 1
fi
rm -rf "$out-tampered"
if [ "${PGCHAOS_GATE_FINDINGS:-0}" = 1 ] && [ "$status" -ne 0 ]; then
	echo "certify-smoke: the certificate is not PASS (PGCHAOS_GATE_FINDINGS=1)" >&2
	exit 1
fi
echo "certify-smoke: ok"
