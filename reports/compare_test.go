package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// runDir writes r as DIR/results.json of a new directory named name.
func runDir(t *testing.T, name string, r *Results) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(filepath.Join(dir, ResultsFile), r); err != nil {
		t.Fatal(err)
	}
	return dir
}

func compareOf(t *testing.T, opts CompareOptions, dirs ...string) (*Comparison, error) {
	t.Helper()
	runs, err := LoadRunResults(dirs)
	if err != nil {
		t.Fatal(err)
	}
	return Compare(runs, opts)
}

func renderBoth(t *testing.T, c *Comparison) (string, string) {
	t.Helper()
	var h, m bytes.Buffer
	if err := c.HTML(&h); err != nil {
		t.Fatal(err)
	}
	if err := c.Markdown(&m); err != nil {
		t.Fatal(err)
	}
	// Text is compared as a reader sees it (html/template writes "+" as
	// "&#43;").
	return html.UnescapeString(h.String()), m.String()
}

// TestCompareOneRunAsyncVsSync: the real run, one directory with both
// modes, versions 1 and 2: two configurations, scenarios lined up, and the
// 614 lost writes of async against none of sync marked.
func TestCompareOneRunAsyncVsSync(t *testing.T) {
	for _, dir := range []string{cnpgV1, cnpgV2} {
		c, err := compareOf(t, CompareOptions{}, dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(c.Configs) != 2 || c.Configs[0].Label() != filepath.Base(dir)+" · cnpg · async" || c.Configs[1].Replication != "sync" {
			t.Fatalf("%s: configurations %+v", dir, c.Configs)
		}
		if len(c.Scenarios) != 5 || len(c.Mismatches) != 0 {
			t.Fatalf("%s: scenarios %q, mismatches %q", dir, c.Scenarios, c.Mismatches)
		}
		if l := c.Configs[0].Lost("lagging-primary-pod-delete"); l.Max != 614 {
			t.Errorf("%s: async lost %+v", dir, l)
		}
		page, md := renderBoth(t, c)
		for _, want := range []string{
			`<table class="scorecard compare">`, `<table class="scorecard compare key">`,
			"lagging-primary-pod-delete, lost acknowledged writes: " + filepath.Base(dir) + " · cnpg · async 614 lost (max); " + filepath.Base(dir) + " · cnpg · sync 0 lost (max)",
			`<td class="fail worse"`, "▲ +614 lost vs best", "✗ DID NOT HOLD", "✓ HELD EVERY EXPECTATION",
			`<span style="width: 100.0%">`, `<span style="width: 0.0%">`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: HTML lacks %q", dir, want)
			}
		}
		assertSelfContained(t, page)
		for _, want := range []string{
			"| lagging-primary-pod-delete | lost-acked-writes | ✗ **FAIL** 614 lost **▲ +614 lost vs best** | ✓ **PASS** 0 lost |",
			"✓ **HELD EVERY EXPECTATION** all 30 verdicts passed",
		} {
			if !strings.Contains(md, want) {
				t.Errorf("%s: Markdown lacks %q:\n%s", dir, want, md)
			}
		}
	}
	// Version 2 shows what version 1 did not record.
	c, _ := compareOf(t, CompareOptions{}, cnpgV2)
	page, _ := renderBoth(t, c)
	for _, want := range []string{"v1.33.1", "15.14 (Debian 15.14-0+deb12u1)", "quorum ANY 1", "200/s"} {
		if !strings.Contains(page, want) {
			t.Errorf("v2: HTML lacks %q", want)
		}
	}
}

// repeated builds a version 2 run of one replication mode with repeated
// trials of primary-pod-delete: lost and longest window per trial.
func repeated(repl string, budgets Budgets, lost []int, unav []float64) *Results {
	r := NewResults(t0(), nil, nil)
	r.Budgets = &budgets
	r.Software = &Software{PGChaos: "0.2.0", Operator: "cnpg", OperatorVersion: "1.27.1"}
	for i := range lost {
		st := history.Pass
		if lost[i] > 0 {
			st = history.Failed
		}
		r.Add(trial("primary-pod-delete", repl, unav[i], lost[i], st))
	}
	return r
}

func TestCompareRepeatedTrialsAcrossRuns(t *testing.T) {
	b := Budgets{RTO: 30 * time.Second, Replication: time.Minute, WarmUp: 10 * time.Second, Hold: 5 * time.Second, CoolDown: 15 * time.Second, Clients: 4, Rate: 200}
	async := runDir(t, "async", repeated("async", b, []int{0, 3, 0, 40, 7}, []float64{2, 3, 9, 4, 5}))
	sync := runDir(t, "sync", repeated("sync", b, []int{0, 0, 0, 0, 0}, []float64{6, 8, 7, 12, 10}))
	c, err := compareOf(t, CompareOptions{}, async, sync)
	if err != nil {
		t.Fatal(err)
	}
	// Nearest rank over 5 trials: p50 is the 3rd, p95 and max the 5th.
	if m := c.Configs[0].Lost("primary-pod-delete"); m.P50 != 3 || m.P95 != 40 || m.Max != 40 || len(m.Values) != 5 {
		t.Errorf("async lost %+v", m)
	}
	if m := c.Configs[1].Unavailable("primary-pod-delete"); m.P50 != 8 || m.P95 != 12 || m.Max != 12 {
		t.Errorf("sync unavailable %+v", m)
	}
	page, md := renderBoth(t, c)
	for _, want := range []string{
		"p50 3 · p95 40 · max 40 lost (5 trials)", "FAIL 3 of 5", "p50 8.00 s · p95 12 s · max 12 s unavailable (5 trials)",
		"▲ +40 lost vs best", "▲ +4.00 s vs best", "async · cnpg · async", "sync · cnpg · sync",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
}

func TestCompareRefusesMismatch(t *testing.T) {
	b := Budgets{RTO: 30 * time.Second, Replication: time.Minute, WarmUp: 10 * time.Second, Hold: 5 * time.Second, CoolDown: 15 * time.Second, Clients: 4, Rate: 200}
	other := b
	other.RTO, other.Hold = 45*time.Second, 20*time.Second
	a := runDir(t, "a", repeated("async", b, []int{0}, []float64{3}))
	slow := runDir(t, "slow", repeated("sync", other, []int{0}, []float64{3}))
	more := repeated("sync", b, []int{0}, []float64{3})
	more.Add(trial("planned-switchover", "sync", 4, 0, history.Pass))
	wider := runDir(t, "wider", more)

	for _, tc := range []struct {
		dirs []string
		want []string
	}{
		{[]string{a, slow}, []string{"RTO budget differs: a 30s, slow 45s", "hold differs: a 5s, slow 20s"}},
		{[]string{a, wider}, []string{"scenarios differ: a · cnpg · async lacks planned-switchover"}},
		// A run of version 1 against one of version 2: the scenarios
		// differ, and the schedule cannot be checked.
		{[]string{cnpgV1, a}, []string{"scenarios differ: a · cnpg · async lacks replica-pod-delete"}},
	} {
		_, err := compareOf(t, CompareOptions{}, tc.dirs...)
		if !errors.Is(err, ErrMismatch) {
			t.Fatalf("%q: %v, want ErrMismatch", tc.dirs, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tc.dirs, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
		c, err := compareOf(t, CompareOptions{AllowMismatch: true}, tc.dirs...)
		if err != nil {
			t.Fatalf("%q allowed: %v", tc.dirs, err)
		}
		page, md := renderBoth(t, c)
		if strings.Contains(tc.dirs[1], "wider") && !strings.Contains(md, "? **NOT PROVEN** 1 scenario not run |") {
			t.Errorf("a configuration lacking a scenario is not said to be unproven:\n%s", md)
		}
		if !strings.Contains(page, `<section id="mismatch" class="mismatch">`) || !strings.Contains(md, "**Warning: these runs are not comparable") {
			t.Errorf("%q: no warning", tc.dirs)
		}
		for _, w := range tc.want {
			if !strings.Contains(page, w) || !strings.Contains(md, w) {
				t.Errorf("%q: warning lacks %q", tc.dirs, w)
			}
		}
	}
	// Version 1 against version 2 of the same run: comparable, but the
	// schedule version 1 did not record is said to be unverified.
	c, err := compareOf(t, CompareOptions{}, cnpgV1, cnpgV2)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Configs) != 4 || len(c.Unverified) != 1 || !strings.Contains(c.Unverified[0], "warm-up, hold, cool-down, clients, rate not recorded by cnpg-v1") {
		t.Errorf("v1 vs v2: %d configurations, unverified %q", len(c.Configs), c.Unverified)
	}
	page, _ := renderBoth(t, c)
	if !strings.Contains(page, "Note: warm-up, hold, cool-down, clients, rate not recorded by cnpg-v1") || strings.Contains(page, `id="mismatch"`) {
		t.Error("v1 vs v2: the unverified settings are not noted, or a mismatch is claimed")
	}
}

func TestScenarioNameAndLabels(t *testing.T) {
	for _, tc := range []struct{ scn, repl, want, wantRepl string }{
		{"primary-pod-delete", "async", "primary-pod-delete", "async"},
		{"async-primary-pod-delete", "async", "primary-pod-delete", "async"},
		{"sync-primary-pod-delete", "", "primary-pod-delete", "sync"},
		{"primary-pod-delete", "", "primary-pod-delete", ""},
	} {
		s, r := ScenarioName(Result{Scenario: tc.scn, Replication: tc.repl})
		if s != tc.want || r != tc.wantRepl {
			t.Errorf("%s/%s: %s/%s", tc.scn, tc.repl, s, r)
		}
	}
	runs := []RunResults{{Dir: "x/run"}, {Dir: "y/run"}, {Dir: "z/other"}, {Dir: "z/other"}}
	labelRuns(runs)
	got := []string{runs[0].Label, runs[1].Label, runs[2].Label, runs[3].Label}
	want := []string{"x/run", "y/run", "z/other", "z/other (2)"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("labels %q, want %q", got, want)
	}
	// A future results.json with an unknown field still compares.
	b, _ := json.Marshal(map[string]any{"format": ResultsFormat, "version": 9, "new": true,
		"trials": []Result{trial("primary-pod-delete", "async", 1, 0, history.Pass)}})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ResultsFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := compareOf(t, CompareOptions{}, dir)
	if err != nil || len(c.Notes) != 1 || !strings.Contains(c.Notes[0], "version 9, newer") {
		t.Fatalf("future: %v %q", err, c.Notes)
	}
	page, _ := renderBoth(t, c)
	if !strings.Contains(page, "version 9, newer") {
		t.Error("future: the note is not shown")
	}
}
