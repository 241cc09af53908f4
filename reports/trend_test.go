package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// night is a run of three scenarios, with the unavailability and lost
// figures given per scenario (lost > 0 fails lost-acked-writes).
func night(label string, day int, unav map[string]float64, lost map[string]int) RunResults {
	r := &Results{Started: time.Date(2026, 12, day, 2, 17, 0, 0, time.UTC), Software: &Software{Operator: "cnpg", OperatorVersion: "1.27.1"}}
	for _, sc := range []string{"primary-pod-delete", "replica-pod-delete", "planned-switchover"} {
		lostSt := history.Pass
		if lost[sc] > 0 {
			lostSt = history.Failed
		}
		r.Trials = append(r.Trials, Result{Scenario: sc, Operator: "cnpg", Replication: "sync", Checks: []history.Verdict{
			{Name: history.CheckLostAckedWrites, Status: lostSt, Figures: map[string]any{"lost": float64(lost[sc])}},
			{Name: history.CheckUnavailability, Status: history.Pass, Figures: map[string]any{"max_s": unav[sc]}},
		}})
	}
	return RunResults{Label: label, Dir: "/runs/" + label, Results: r}
}

func TestTrendFlagsPlantedRegressions(t *testing.T) {
	base := map[string]float64{"primary-pod-delete": 3, "replica-pod-delete": 0.2, "planned-switchover": 4}
	n1 := night("n1", 1, base, nil)
	n2 := night("n2", 2, map[string]float64{"primary-pod-delete": 3.5, "replica-pod-delete": 0.5, "planned-switchover": 4.2}, nil)
	// Night 3: the switchover's p50 doubles (planted), replica-pod-delete
	// is 2.5x slower but only by 0.7 s (noise, not flagged), and
	// primary-pod-delete starts losing writes (planted).
	n3 := night("n3", 3, map[string]float64{"primary-pod-delete": 3.4, "replica-pod-delete": 1.2, "planned-switchover": 9}, map[string]int{"primary-pod-delete": 3})
	for _, order := range [][]RunResults{{n1, n2, n3}, {n3, n1, n2}} {
		tr := BuildTrend(order, TrendOptions{})
		if len(tr.Nights) != 3 || tr.Nights[2].Label != "n3" {
			t.Fatalf("nights not ordered by start: %+v", tr.Nights)
		}
		got := map[string]string{}
		for _, r := range tr.Regressions {
			got[r.Row] += r.What
		}
		if len(tr.Regressions) != 2 {
			t.Fatalf("want 2 regressions, got %+v", tr.Regressions)
		}
		if w := got["cnpg 1.27.1 · sync · planned-switchover"]; !strings.Contains(w, "p50 4.2s on n2, 9.0s now") {
			t.Errorf("switchover regression: %q", w)
		}
		if w := got["cnpg 1.27.1 · sync · primary-pod-delete"]; !strings.Contains(w, "passed on n2, fails now") {
			t.Errorf("loss regression: %q", w)
		}
		// The regressed rows come first.
		for i, r := range tr.Rows[:2] {
			if got[r.Key()] == "" {
				t.Errorf("row %d (%s) is not a regression but listed first", i, r.Key())
			}
		}
		var txt, html bytes.Buffer
		if err := tr.Text(&txt); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(txt.String(), "2 regression(s) on the newest night (n3)") || !strings.Contains(txt.String(), "fail/3.4s/3lost") {
			t.Errorf("text:\n%s", txt.String())
		}
		if err := tr.HTML(&html); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(html.String(), "<svg") || !strings.Contains(html.String(), "2 regression(s)") {
			t.Errorf("HTML lacks the chart or the regressions")
		}
	}
	// Slower but within the margin, or new rows only: no regression.
	if tr := BuildTrend([]RunResults{n1, n2}, TrendOptions{}); len(tr.Regressions) != 0 {
		t.Errorf("n1 -> n2 is noise: %+v", tr.Regressions)
	}
	if tr := BuildTrend([]RunResults{n1}, TrendOptions{}); len(tr.Regressions) != 0 {
		t.Errorf("one night cannot regress: %+v", tr.Regressions)
	}
}
