package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"html"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

func trial(scn, repl string, maxS float64, lost int, st history.Status) Result {
	return Result{Scenario: scn, Operator: "cnpg", Replication: repl, Seed: 1, Checks: []history.Verdict{
		{Name: history.CheckLostAckedWrites, Status: st, Summary: "s", Figures: map[string]any{"lost": lost}},
		{Name: history.CheckUnavailability, Status: history.Pass, Figures: map[string]any{"max_s": maxS}},
	}}
}

func TestQuantile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for p, want := range map[float64]float64{50: 3, 95: 5, 100: 5, 1: 1} {
		if got := Quantile(xs, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if Quantile(nil, 50) != 0 {
		t.Error("empty: want 0")
	}
}

func TestSummariesJSONAndJUnit(t *testing.T) {
	r := NewResults(t0(), map[string]string{"go": "x"}, map[string]string{"cnpg": "1.27.1"})
	r.Add(trial("primary-pod-delete", "async", 7, 3, history.Failed))
	r.Add(trial("primary-pod-delete", "async", 9, 0, history.Pass))
	r.Add(trial("primary-pod-delete", "sync", 10, 0, history.Pass))
	if len(r.Summaries) != 2 {
		t.Fatalf("summaries %+v", r.Summaries)
	}
	s := r.Summaries[0]
	if s.Trials != 2 || s.Failed != 1 || s.LostTotal != 3 || s.UnavailP50 != 7 || s.UnavailMax != 9 {
		t.Fatalf("async summary %+v", s)
	}
	// Figures decoded from JSON are float64: the same summary must come out.
	data, _ := json.Marshal(r)
	var back Results
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if got := Summarize(back.Trials); got[0] != s {
		t.Fatalf("after JSON %+v, want %+v", got[0], s)
	}
	var junit bytes.Buffer
	if err := WriteJUnit(&junit, r); err != nil {
		t.Fatal(err)
	}
	x := junit.String()
	if !strings.Contains(x, `<testsuite name="cnpg/async/primary-pod-delete" tests="4" failures="1"`) || !strings.Contains(x, "<failure") {
		t.Fatalf("junit:\n%s", x)
	}
	var tab bytes.Buffer
	if err := WriteTable(&tab, r); err != nil || !strings.Contains(tab.String(), "primary-pod-delete") {
		t.Fatalf("table %q %v", tab.String(), err)
	}
}

func t0() time.Time { return time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC) }

// Saved results.json of a real CloudNativePG run (5 scenarios, async and
// sync, one trial each; the async lagging-primary-pod-delete lost 614
// writes): version 1 as pgchaos wrote it, and the same run as version 2.
const (
	cnpgV1 = "testdata/cnpg-v1"
	cnpgV2 = "testdata/cnpg-v2"
)

func TestReadResultsVersions(t *testing.T) {
	v1, notes, err := LoadResults(cnpgV1)
	if err != nil || len(notes) != 0 {
		t.Fatalf("v1: %v %q", err, notes)
	}
	if v1.Version != 1 || len(v1.Trials) != 10 || v1.Budgets != nil {
		t.Fatalf("v1: version %d, %d trials, budgets %+v", v1.Version, len(v1.Trials), v1.Budgets)
	}
	// Version 1: software from the flat versions map, the budgets its
	// checks recorded, the schedule unknown.
	if s := v1.Software; s == nil || s.Operator != "cnpg" || s.OperatorVersion != "1.27.1" || s.PGChaos != "0.1.0-dev" {
		t.Fatalf("v1 software %+v", v1.Software)
	}
	want1 := map[string]string{"RTO budget": "30s", "replication budget": "60s", "warm-up": "", "rate": ""}
	for _, s := range v1.Settings() {
		if w, ok := want1[s.Name]; ok && s.Value != w {
			t.Errorf("v1 %s = %q, want %q", s.Name, s.Value, w)
		}
	}

	v2, notes, err := LoadResults(cnpgV2)
	if err != nil || len(notes) != 0 {
		t.Fatalf("v2: %v %q", err, notes)
	}
	want2 := map[string]string{"RTO budget": "30s", "replication budget": "60s", "warm-up": "10s", "hold": "5s",
		"cool-down": "15s", "clients": "4", "rate": "200/s"}
	for _, s := range v2.Settings() {
		if s.Value != want2[s.Name] {
			t.Errorf("v2 %s = %q, want %q", s.Name, s.Value, want2[s.Name])
		}
	}
	if c, ok := v2.Cluster("sync"); !ok || c.Instances != 3 || !strings.Contains(c.Summary(), "synchronous quorum ANY 1") ||
		!strings.Contains(c.Summary(), "PostgreSQL 15.14") {
		t.Errorf("v2 sync cluster %+v", c)
	}

	// A future version: read with a note; an odd field type loses only
	// that field.
	b, _ := os.ReadFile(filepath.Join(cnpgV2, ResultsFile))
	future := strings.Replace(string(b), `"version": 2`, `"version": 7`, 1)
	future = strings.Replace(future, `"clients": 4`, `"clients": "four"`, 1)
	r, notes, err := ReadResults([]byte(future))
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], "version 7, newer") || len(r.Trials) != 10 || r.Software.Kubernetes != "v1.33.1" {
		t.Fatalf("future: %v %q", err, notes)
	}
	for _, bad := range []string{"[]", `{"format":"other"}`, "{"} {
		if _, _, err := ReadResults([]byte(bad)); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
	if _, _, err := LoadResults(t.TempDir()); !errors.Is(err, ErrNoResults) {
		t.Errorf("empty dir: %v, want ErrNoResults", err)
	}
}

// TestResultsV2RoundTrip: what run writes is what compare reads.
func TestResultsV2RoundTrip(t *testing.T) {
	r := NewResults(t0(), map[string]string{"go": "x"}, nil)
	r.Budgets = &Budgets{RTO: 30 * time.Second, Replication: time.Minute, WarmUp: 10 * time.Second, Hold: 5 * time.Second,
		CoolDown: 15 * time.Second, Clients: 4, Rate: 0}
	r.Software = &Software{PGChaos: "0.2.0", Kubernetes: "v1.33.1", Operator: "cnpg", OperatorVersion: "1.27.1", OperatorSettings: map[string]string{"failoverDelay": "0s"}}
	r.SetCluster(ClusterInfo{Replication: "sync", Name: "pg-sync", Instances: 3, PostgreSQL: "15.1"})
	r.SetCluster(ClusterInfo{Replication: "sync", Name: "pg-sync", Instances: 3, PostgreSQL: "15.14"})
	r.Add(trial("primary-pod-delete", "sync", 5, 0, history.Pass))
	dir := t.TempDir()
	if err := WriteJSON(filepath.Join(dir, ResultsFile), r); err != nil {
		t.Fatal(err)
	}
	back, notes, err := LoadResults(dir)
	if err != nil || len(notes) != 0 {
		t.Fatal(err, notes)
	}
	if back.Version != ResultsVersion || *back.Budgets != *r.Budgets || !reflect.DeepEqual(back.Software, r.Software) ||
		len(back.Clusters) != 1 || back.Clusters[0].PostgreSQL != "15.14" {
		t.Fatalf("round trip: %+v", back)
	}
	if s := back.Settings(); s[6].Value != "unlimited" {
		t.Errorf("rate 0: %q", s[6].Value)
	}
}

// TestRenderShowsResults: render reads results.json of every version next
// to the trials and shows the run's versions and budgets; a newer or
// unreadable one is a note, not a failure.
func TestRenderShowsResults(t *testing.T) {
	for _, tc := range []struct {
		name, results string
		want          []string
	}{
		{"v1", readFile(t, filepath.Join(cnpgV1, ResultsFile)), []string{"Versions and settings of the run", "From results.json version 1.",
			"cnpg 1.27.1", "not recorded (results.json version 1)"}},
		{"v2", readFile(t, filepath.Join(cnpgV2, ResultsFile)), []string{"From results.json version 2.", "v1.33.1",
			"pg-sync in pgchaos, 3 instances, synchronous quorum ANY 1, data durability required, 1Gi each, PostgreSQL 15.14", "200/s"}},
		{"future", strings.Replace(readFile(t, filepath.Join(cnpgV2, ResultsFile)), `"version": 2`, `"version": 3`, 1),
			[]string{"Note: results.json is version 3, newer than this pgchaos reads (2)", "v1.33.1"}},
		{"broken", "{", []string{"Note: results.json could not be read"}},
	} {
		dir := filepath.Join(t.TempDir(), "run")
		for _, tr := range []string{"async-failover", "split-brain"} {
			copyDir(t, filepath.Join(testRun, tr), filepath.Join(dir, tr))
		}
		writeFile(t, filepath.Join(dir, ResultsFile), tc.results)
		run, err := LoadRun(dir)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var b bytes.Buffer
		if err := Render(&b, run); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		page := html.UnescapeString(b.String())
		for _, w := range tc.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: report lacks %q", tc.name, w)
			}
		}
		if strings.Count(page, `<svg class="timeline"`) != 2 {
			t.Errorf("%s: the trials are not all drawn", tc.name)
		}
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
