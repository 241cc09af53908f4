package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/history"
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
