package reports

import (
	"bytes"
	"encoding/json"
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
