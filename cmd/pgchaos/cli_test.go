package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/internal/pgtestbed"
	"github.com/pgchaos/pgchaos/operators/registry"
	"github.com/pgchaos/pgchaos/scenario"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// wantBadInput asserts exit code 2 and one line on stderr containing want.
func wantBadInput(t *testing.T, want string, args ...string) {
	t.Helper()
	code, _, stderr := runCLI(t, args...)
	if code != exitBadInput {
		t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, stderr)
	}
	if strings.Count(strings.TrimRight(stderr, "\n"), "\n") != 0 {
		t.Errorf("%q: stderr is not one line: %q", args, stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("%q: stderr %q does not say %q", args, stderr, want)
	}
	for _, bad := range []string{"goroutine", "panic", ".go:"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("%q: stderr looks like a stack trace: %q", args, stderr)
		}
	}
}

func TestBadInputWithoutServer(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "trial")
	wantBadInput(t, "--dsn is required", "workload", "--out", out)
	wantBadInput(t, "not a PostgreSQL connection string", "workload", "--dsn", "host=a port=notaport", "--out", out)
	wantBadInput(t, "not a PostgreSQL connection string", "workload", "--dsn", "postgres://[::1", "--out", out)
	wantBadInput(t, "cannot connect to PostgreSQL at 127.0.0.1:1", "workload", "--dsn", "host=127.0.0.1 port=1 connect_timeout=2 sslmode=disable", "--out", out, "--duration", "1s")
	wantBadInput(t, "--rate", "workload", "--dsn", "host=x", "--rate", "fast", "--out", out)
	wantBadInput(t, "--clients", "workload", "--dsn", "host=x", "--clients", "0", "--out", out)
	wantBadInput(t, "unknown flag", "workload", "--bogus")
	wantBadInput(t, "unknown command", "frobnicate")
	wantBadInput(t, "exactly one trial directory", "check")
	wantBadInput(t, "no such file", "check", filepath.Join(dir, "absent"))
	wantBadInput(t, "holds no trial", "check", dir)
	wantBadInput(t, `unknown operator "crunchy": want one of cnpg`, "run", "--operator", "crunchy", "--out", out)
	wantBadInput(t, "--operator (one of cnpg, zalando) or --target FILE is required", "run", "--out", out)
	patroni := filepath.Join("..", "..", "targets", "patroni", "target.yaml")
	wantBadInput(t, "--operator and --target exclude each other", "run", "--operator", "cnpg", "--target", patroni, "--out", out)
	wantBadInput(t, "no such file", "run", "--target", filepath.Join(dir, "absent.yaml"), "--out", out)
	wantBadInput(t, `describes version 3.0.2 only, not "4.0"`, "run", "--target", patroni, "--operator-version", "4.0", "--out", out)
	badTarget := filepath.Join(dir, "badtarget.yaml")
	tdata, err := os.ReadFile(patroni)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(badTarget, []byte(strings.Replace(string(tdata), "primary: role=master", "primary: role==master,", 1)), 0o644)
	wantBadInput(t, "spec.instances.primary", "run", "--target", badTarget, "--out", out)
	wantBadInput(t, "spec.instances.primary", "target", "validate", badTarget)
	_ = os.WriteFile(filepath.Join(dir, "patroni.yaml"), []byte("apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"), 0o644)
	named := filepath.Join(dir, "named.yaml")
	_ = os.WriteFile(named, []byte(strings.Replace(string(tdata), "name: patroni", "name: cnpg", 1)), 0o644)
	wantBadInput(t, `metadata.name "cnpg" is an operator adapter's name`, "run", "--target", named, "--out", out)
	_ = os.Remove(filepath.Join(dir, "patroni.yaml"))
	wantBadInput(t, "manifest patroni.yaml", "target", "validate", named) // copied without its manifest
	if code, stdout, stderr := runCLI(t, "target", "validate", "--static", patroni); code != 0 || !strings.Contains(stdout, "target patroni") {
		t.Errorf("target validate --static of the shipped Patroni target: exit %d, %q %q", code, stdout, stderr)
	}
	wantBadInput(t, `CloudNativePG version "v1.27.1"`, "run", "--operator", "cnpg", "--operator-version", "v1.27.1", "--out", out)
	wantBadInput(t, `unknown operator "x"`, "faults", "--operator", "x")
	wantBadInput(t, `CloudNativePG version "2.0"`, "images", "cnpg", "--version", "2.0")
	wantBadInput(t, `--namespace "db-1.25"`, "run", "--operator", "cnpg", "--namespace", "db-1.25", "--out", out)
	wantBadInput(t, "--operator-placement", "run", "--operator", "cnpg", "--operator-placement", "near", "--out", out)
	quick := filepath.Join("..", "..", "profiles", "quick-v1.yaml")
	wantBadInput(t, "--profile FILE is required", "certify", "--operator", "cnpg", "--out", out)
	wantBadInput(t, "no such file", "certify", "--operator", "cnpg", "--profile", filepath.Join(dir, "absent.yaml"), "--out", out)
	wantBadInput(t, "--out DIR is required", "certify", "--operator", "cnpg", "--profile", quick)
	wantBadInput(t, `unknown operator "crunchy"`, "certify", "--operator", "crunchy", "--profile", quick, "--out", out)
	badProfile := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(badProfile, []byte("format: pgchaos-profile\nname: b\nversion: 1\nmodes: {sync: {scenarios: [primary-pod-delete]}}\nrequirements: [{id: r, description: d, check: nope, verdict: pass}]\n"), 0o644)
	wantBadInput(t, `unknown check "nope"`, "profile", "validate", badProfile)
	wantBadInput(t, `unknown check "nope"`, "certify", "--operator", "cnpg", "--profile", badProfile, "--out", out)
	wantBadInput(t, "certificate.json", "certify", "verify", dir)
	wantBadInput(t, "--plan FILE is required", "gameday", "--operator", "cnpg", "--out", out)
	wantBadInput(t, "no such file", "gameday", "--plan", filepath.Join(dir, "absent.yaml"), "--operator", "cnpg", "--out", out)
	plan := filepath.Join(dir, "plan.yaml")
	_ = os.WriteFile(plan, []byte("format: pgchaos-gameday\nname: p\nsteps: [{at: 1s, fault: primary-pod-delete}]\n"), 0o644)
	wantBadInput(t, "--operator (one of cnpg, zalando) or --target FILE is required", "gameday", "--plan", plan, "--out", out)
	wantBadInput(t, "--replication", "gameday", "--plan", plan, "--operator", "cnpg", "--replication", "both", "--out", out)
	wantBadInput(t, "not confirmed: nothing was done", "gameday", "--plan", plan, "--operator", "cnpg", "--out", out)
	badPlan := filepath.Join(dir, "badplan.yaml")
	_ = os.WriteFile(badPlan, []byte("format: pgchaos-gameday\nname: p\nsteps: [{at: 1s, fault: nope}]\n"), 0o644)
	wantBadInput(t, `no fault named "nope"`, "gameday", "--plan", badPlan, "--operator", "cnpg", "--out", out)
	// A valid profile reaches the target: the error is about the cluster.
	code, _, stderr := runCLI(t, "certify", "--operator", "cnpg", "--profile", quick, "--out", filepath.Join(dir, "cert"),
		"--kubeconfig", filepath.Join(dir, "absent.kubeconfig"))
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != exitBadInput || !strings.Contains(lines[len(lines)-1], "absent.kubeconfig") {
		t.Errorf("certify against an absent kubeconfig: exit %d, stderr %q", code, stderr)
	}

	bad := filepath.Join(dir, "bad")
	_ = os.MkdirAll(bad, 0o755)
	hdr := `{"t":"header","format":"pgchaos-ledger","version":1,"start":"2026-11-22T00:00:00Z"}` + "\n"
	_ = os.WriteFile(filepath.Join(bad, history.LedgerFile), []byte(hdr+"{not json\n"+`{"t":"end","at":1}`+"\n"), 0o644)
	wantBadInput(t, "line 2", "check", bad)
	_ = os.WriteFile(filepath.Join(bad, history.LedgerFile), []byte(hdr[:30]), 0o644)
	wantBadInput(t, "truncated inside its header", "check", bad)
	_ = os.WriteFile(filepath.Join(bad, history.LedgerFile), []byte(hdr), 0o644)
	wantBadInput(t, "records no write", "check", bad)
}

func TestWorkloadAndCheckOnRealServers(t *testing.T) {
	ctx := context.Background()
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{
		HBA: []string{"host all alice 127.0.0.1/32 scram-sha-256"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	conn, err := tb.Connect(ctx, tb.Instances[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`CREATE ROLE alice LOGIN PASSWORD 'right'`, `CREATE ROLE bob LOGIN`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	pg0 := tb.Instances[0]
	alice := strings.Replace(tb.DSN(pg0), "user=postgres", "user=alice password=wrong", 1)
	bob := strings.Replace(tb.DSN(pg0), "user=postgres", "user=bob", 1)
	dir := t.TempDir()
	wantBadInput(t, "authentication failed", "workload", "--dsn", alice, "--out", filepath.Join(dir, "a"), "--duration", "1s")
	wantBadInput(t, "may not create table", "workload", "--dsn", bob, "--out", filepath.Join(dir, "b"), "--duration", "1s")
	replica := tb.DSN(tb.Instances[1])
	wantBadInput(t, "read-only", "workload", "--dsn", replica, "--table", "other_table", "--out", filepath.Join(dir, "c"), "--duration", "1s")

	trial := filepath.Join(dir, "trial")
	args := []string{"workload", "--dsn", tb.MultiHostDSN(), "--clients", "3", "--rate", "300/s", "--duration", "3s", "--out", trial}
	for _, in := range tb.Instances {
		args = append(args, "--monitor-dsn", tb.DSN(in))
	}
	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("workload: exit %d: %s %s", code, stdout, stderr)
	}
	wantBadInput(t, "already holds a trial", args...)

	code, stdout, stderr = runCLI(t, "check", trial)
	if code != 0 {
		t.Fatalf("check of a fault-free trial: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, name := range []string{"lost-acked-writes", "unavailability", "split-brain", "wal-continuity", "replication-recovery", "phantom-writes"} {
		if !strings.Contains(stdout, name) {
			t.Errorf("check table lacks %s:\n%s", name, stdout)
		}
	}
	rep := readVerdict(t, trial)
	lost := figure(t, rep, "lost-acked-writes", "lost")
	if lost != float64(0) {
		t.Errorf("lost = %v, want 0", lost)
	}
	if w, ok := figure(t, rep, "unavailability", "windows").([]any); !ok || len(w) != 0 {
		t.Errorf("windows = %v, want an empty list", figure(t, rep, "unavailability", "windows"))
	}

	// Destroy 5 acknowledged writes behind the harness's back: check must
	// find exactly those, and exit 1.
	tr, err := history.Load(trial)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := conn.Exec(ctx, `DELETE FROM pgchaos_writes WHERE run = $1 AND id IN (SELECT id FROM pgchaos_writes WHERE run = $1 ORDER BY id LIMIT 5)`, tr.Meta.Run)
	if err != nil || tag.RowsAffected() != 5 {
		t.Fatalf("deleting: %v (%d rows)", err, tag.RowsAffected())
	}
	if err := tb.WaitReplayed(ctx, pg0, 2, 30e9); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI(t, "check", trial, "--final-dsn", tb.DSN(pg0))
	if code != exitFailed {
		t.Fatalf("check after deleting acknowledged writes: exit %d, want 1\n%s", code, stdout)
	}
	if lost := figure(t, readVerdict(t, trial), "lost-acked-writes", "lost"); lost != float64(5) {
		t.Errorf("lost = %v, want 5", lost)
	}
	_ = conn.Close(ctx)
}

func readVerdict(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, history.VerdictFile))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func figure(t *testing.T, rep map[string]any, check, name string) any {
	t.Helper()
	checks, _ := rep["checks"].([]any)
	for _, c := range checks {
		m := c.(map[string]any)
		if m["name"] == check {
			return m["figures"].(map[string]any)[name]
		}
	}
	t.Fatalf("verdict.json has no check %s", check)
	return nil
}

// TestOperatorsListsEveryAdapter: `pgchaos operators --json` names every
// adapter of the registry with its default version first.
func TestOperatorsListsEveryAdapter(t *testing.T) {
	code, out, errb := runCLI(t, "operators", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb)
	}
	var rows []operatorRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := registry.Names()
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %v", len(rows), want)
	}
	for i, r := range rows {
		if r.Name != want[i] || len(r.Versions) == 0 || r.Versions[0] != r.DefaultVersion || r.Deployment == "" {
			t.Errorf("row %d: %+v", i, r)
		}
		if !r.CanRun && r.Why == "" {
			t.Errorf("%s cannot run here, without a reason", r.Name)
		}
	}
}

// `pgchaos faults --json` carries each fault's expectations per mode, as
// the expectations table says (no cluster needed: availability is "no").
func TestFaultsListsExpectations(t *testing.T) {
	code, stdout, stderr := runCLI(t, "faults", "--operator", "cnpg", "--kind-name", "no-such-kind-cluster", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []struct {
		Name     string            `json:"name"`
		Scope    string            `json:"scope"`
		Expected map[string]string `json:"expected"`
	}
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if len(rows) != len(faults.All()) {
		t.Fatalf("%d rows, want %d", len(rows), len(faults.All()))
	}
	for _, r := range rows {
		for _, mode := range []string{faults.Async, faults.Sync} {
			f, err := faults.ByName(r.Name)
			if err != nil {
				t.Fatal(err)
			}
			if want := scenario.ExpectationFor(nil, f, mode).Text(); r.Expected[mode] != want {
				t.Errorf("%s %s: expected %q, want %q", r.Name, mode, r.Expected[mode], want)
			}
		}
	}
	for _, r := range rows {
		f, _ := faults.ByName(r.Name)
		if r.Scope == "" || r.Scope != string(faults.InfoOf(f).Scope) {
			t.Errorf("%s: scope %q in the listing, %q declared", r.Name, r.Scope, faults.InfoOf(f).Scope)
		}
	}
	code, table, _ := runCLI(t, "faults", "--operator", "cnpg", "--kind-name", "no-such-kind-cluster")
	if code != 0 || !strings.Contains(table, "SCOPE") || !strings.Contains(table, "node") {
		t.Errorf("the table lacks the scope column:\n%s", table)
	}
	if !strings.Contains(rows[1].Expected[faults.Sync], "no failover") {
		t.Errorf("%s: %q", rows[1].Name, rows[1].Expected[faults.Sync])
	}
}
