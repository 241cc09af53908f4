package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/reports"
)

// copyTrial copies a saved trial of the reports package into dir.
func copyTrial(t *testing.T, name, dir string) {
	t.Helper()
	from := filepath.Join("..", "..", "reports", "testdata", "run", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReportRenderAndSummary(t *testing.T) {
	run := t.TempDir()
	copyTrial(t, "async-failover", filepath.Join(run, "async-failover"))
	copyTrial(t, "known-outage", filepath.Join(run, "known-outage"))

	// Default output: DIR/report.html.
	code, stdout, stderr := runCLI(t, "report", "render", run)
	if code != exitOK {
		t.Fatalf("report render: exit %d, stderr %q", code, stderr)
	}
	want := filepath.Join(run, "report.html")
	if !strings.Contains(stdout, want) || !strings.Contains(stdout, "2 trials") {
		t.Errorf("report render printed %q", stdout)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `<table class="scorecard">`) || strings.Count(string(b), `<svg class="timeline"`) != 2 {
		t.Error("report.html lacks the scorecard or a chart")
	}
	// -o, and a single trial directory.
	other := filepath.Join(t.TempDir(), "one.html")
	if code, _, stderr := runCLI(t, "report", "render", filepath.Join(run, "async-failover"), "-o", other); code != exitOK {
		t.Fatalf("report render -o: exit %d, stderr %q", code, stderr)
	}
	if b, err := os.ReadFile(other); err != nil || !strings.Contains(string(b), ">async-failover</a>") {
		t.Errorf("-o file: %v", err)
	}

	code, stdout, stderr = runCLI(t, "report", "summary", run)
	if code != exitOK {
		t.Fatalf("report summary: exit %d, stderr %q", code, stderr)
	}
	for _, w := range []string{"## pgchaos: ✗ FAIL", "| async-failover | ✗ **FAIL** | ✗ **FAIL** 73 lost", "| known-outage | ? **NOT CHECKED** |"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("summary lacks %q:\n%s", w, stdout)
		}
	}
}

func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	wantBadInput(t, "give a subcommand", "report")
	wantBadInput(t, "unknown", "report", "frobnicate")
	wantBadInput(t, "exactly one directory", "report", "render")
	wantBadInput(t, "exactly one directory", "report", "summary", "a", "b")
	wantBadInput(t, "no such file", "report", "render", filepath.Join(dir, "absent"))
	wantBadInput(t, "holds no trial", "report", "render", dir)
	wantBadInput(t, "holds no trial", "report", "summary", dir)
	wantBadInput(t, "unknown flag", "report", "render", dir, "--bogus")

	bad := filepath.Join(dir, "bad")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, history.LedgerFile), []byte("not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantBadInput(t, "not a ledger record", "report", "render", bad)

	good := filepath.Join(dir, "good")
	copyTrial(t, "async-failover", good)
	if err := os.WriteFile(filepath.Join(good, history.VerdictFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantBadInput(t, "not a verdict file", "report", "summary", good)
	fine := filepath.Join(dir, "fine")
	copyTrial(t, "async-failover", fine)
	wantBadInput(t, "writing", "report", "render", fine, "-o", filepath.Join(dir, "no", "such", "dir", "r.html"))
}

// TestReportCompare: the saved CloudNativePG run (async and sync in one
// directory), as HTML and as Markdown plus HTML; two runs with different
// budgets are refused (exit 2, one line) unless --allow-mismatch.
func TestReportCompare(t *testing.T) {
	saved := filepath.Join("..", "..", "reports", "testdata")
	v1, v2 := filepath.Join(saved, "cnpg-v1"), filepath.Join(saved, "cnpg-v2")
	out := filepath.Join(t.TempDir(), "cmp.html")
	code, stdout, stderr := runCLI(t, "report", "compare", v1, "-o", out)
	if code != exitOK {
		t.Fatalf("compare: exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "2 configurations: cnpg-v1 · cnpg · async, cnpg-v1 · cnpg · sync") {
		t.Errorf("compare printed %q", stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), `<table class="scorecard compare">`) {
		t.Fatalf("compare wrote no comparison: %v", err)
	}
	md := filepath.Join(t.TempDir(), "cmp.md")
	if code, stdout, stderr := runCLI(t, "report", "compare", v2, "-o", md); code != exitOK || !strings.Contains(stdout, "cmp.html") {
		t.Fatalf("compare -o .md: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if b, err := os.ReadFile(md); err != nil || !strings.Contains(string(b), "✗ **FAIL** 614 lost **▲ +614 lost vs best**") {
		t.Errorf("Markdown: %v\n%s", err, b)
	}
	if _, err := os.Stat(strings.TrimSuffix(md, ".md") + ".html"); err != nil {
		t.Errorf("no HTML next to the Markdown: %v", err)
	}

	// A run whose RTO budget differs.
	other := filepath.Join(t.TempDir(), "slow")
	if err := os.MkdirAll(other, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(filepath.Join(v2, "results.json"))
	slow := strings.Replace(string(b), `"rto_budget_ns": 30000000000`, `"rto_budget_ns": 45000000000`, 1)
	if err := os.WriteFile(filepath.Join(other, "results.json"), []byte(slow), 0o644); err != nil {
		t.Fatal(err)
	}
	wantBadInput(t, "RTO budget differs: cnpg-v2 30s, slow 45s", "report", "compare", v2, other, "-o", out)
	wantBadInput(t, "--allow-mismatch", "report", "compare", v2, other, "-o", out)
	code, _, stderr = runCLI(t, "report", "compare", v2, other, "-o", out, "--allow-mismatch")
	if code != exitOK || !strings.Contains(stderr, "warning: RTO budget differs") {
		t.Fatalf("--allow-mismatch: exit %d, stderr %q", code, stderr)
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "not comparable as they stand") {
		t.Error("--allow-mismatch: no warning in the comparison")
	}
}

func TestReportCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "cmp.html")
	v1 := filepath.Join("..", "..", "reports", "testdata", "cnpg-v1")
	wantBadInput(t, "give one or more run directories", "report", "compare", "-o", out)
	wantBadInput(t, "-o FILE is required", "report", "compare", v1)
	wantBadInput(t, "no such file", "report", "compare", filepath.Join(dir, "absent"), "-o", out)
	wantBadInput(t, "no results.json", "report", "compare", dir, "-o", out)
	wantBadInput(t, "is not a directory", "report", "compare", filepath.Join(v1, "results.json"), "-o", out)
	bad := filepath.Join(dir, "bad")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "results.json"), []byte(`{"format":"pgchaos-ledger"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	wantBadInput(t, "not a results file", "report", "compare", bad, "-o", out)
	// Scenario sets differ: a run of one scenario against five.
	one := filepath.Join(dir, "one")
	if err := os.MkdirAll(one, 0o755); err != nil {
		t.Fatal(err)
	}
	r, _, err := reports.LoadResults(v1)
	if err != nil {
		t.Fatal(err)
	}
	r.Trials = r.Trials[:1]
	if err := reports.WriteJSON(filepath.Join(one, "results.json"), r); err != nil {
		t.Fatal(err)
	}
	wantBadInput(t, "scenarios differ: one · cnpg · async lacks replica-pod-delete", "report", "compare", one, v1, "-o", out)
	wantBadInput(t, "writing", "report", "compare", v1, "-o", filepath.Join(dir, "no", "such", "dir", "c.html"))
}

func TestImageTagVersion(t *testing.T) {
	for image, want := range map[string]string{
		"pgchaos.local/postgresql:15-0c5e5e3cc505": "15",
		"ghcr.io/cloudnative-pg/postgresql:16.4":   "16.4",
		"localhost:5000/postgresql":                "",
		"postgres:latest":                          "",
		"":                                         "",
	} {
		if got := imageTagVersion(image); got != want {
			t.Errorf("%q: %q, want %q", image, got, want)
		}
	}
}

// report trend over three nights made from a real run's results.json: the
// third night's primary-pod-delete (async and sync) is planted slower by 20 s; exit 1 and
// the regressions named first. Over the first two nights: exit 0.
func TestReportTrend(t *testing.T) {
	v1 := filepath.Join("..", "..", "reports", "testdata", "cnpg-v1")
	dir := t.TempDir()
	var nights []string
	for i := 0; i < 3; i++ {
		r, _, err := reports.LoadResults(v1)
		if err != nil {
			t.Fatal(err)
		}
		r.Started = r.Started.Add(time.Duration(i) * 24 * time.Hour)
		if i == 2 {
			for ti := range r.Trials {
				if r.Trials[ti].Scenario != "primary-pod-delete" {
					continue
				}
				for ci := range r.Trials[ti].Checks {
					c := &r.Trials[ti].Checks[ci]
					if c.Name == history.CheckUnavailability {
						c.Figures["max_s"] = c.Figures["max_s"].(float64) + 20
					}
				}
			}
		}
		d := filepath.Join(dir, fmt.Sprintf("night-%d", i+1))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := reports.WriteJSON(filepath.Join(d, "results.json"), r); err != nil {
			t.Fatal(err)
		}
		nights = append(nights, d)
	}
	html := filepath.Join(dir, "trend.html")
	code, stdout, stderr := runCLI(t, "report", "trend", nights[2], nights[0], nights[1], "-o", html)
	if code != exitFailed {
		t.Fatalf("exit %d, want 1 (a regression); stderr %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "2 regression(s) on the newest night (night-3)") || !strings.Contains(stdout, "primary-pod-delete: unavailability p50") {
		t.Fatalf("stdout:\n%s", stdout)
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), "<svg") {
		t.Fatalf("trend.html: %v", err)
	}
	code, stdout, _ = runCLI(t, "report", "trend", nights[0], nights[1])
	if code != 0 || !strings.HasPrefix(stdout, "no regression") {
		t.Fatalf("two equal nights: exit %d\n%s", code, stdout)
	}
	wantBadInput(t, "give the run directories", "report", "trend")
	wantBadInput(t, "no results.json", "report", "trend", dir)
}
