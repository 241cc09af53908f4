package selftest

import (
	"context"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// TestScenarios runs every self-test scenario against real PostgreSQL
// servers: each detector must fire where the scenario says and stay silent
// elsewhere.
func TestScenarios(t *testing.T) {
	for _, sc := range All() {
		t.Run(sc.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			res, err := Run(ctx, Options{Out: t.TempDir(), Only: []string{sc.Name},
				Progress: func(_, step string) { t.Log(step) }})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 {
				t.Fatalf("%d results, want 1", len(res))
			}
			r := res[0]
			t.Logf("expected %s", r.Expected)
			t.Logf("observed %s", r.Observed)
			for _, p := range r.Problems {
				t.Error(p)
			}
			if r.OK != (len(r.Problems) == 0) {
				t.Errorf("OK = %v with %d problems", r.OK, len(r.Problems))
			}
		})
	}
}

// TestCompareFindsDisagreement shows the self-test's own judge fires: a
// report that contradicts the expectation is a problem.
func TestCompareFindsDisagreement(t *testing.T) {
	rep := history.Report{Checks: []history.Verdict{
		{Name: history.CheckLostAckedWrites, Status: history.Pass},
		{Name: history.CheckSplitBrain, Status: history.Failed},
	}}
	exp := map[string]history.Status{
		history.CheckLostAckedWrites: history.Failed,
		history.CheckSplitBrain:      history.Failed,
		history.CheckPhantomWrites:   history.Pass,
	}
	p := compare(exp, rep)
	if len(p) != 2 {
		t.Fatalf("problems %q, want 2 (lost-acked-writes differs, phantom-writes missing)", p)
	}
	e, o := describe(exp, rep)
	if e != "lost=fail split=fail" || o != "lost=pass split=fail" {
		t.Errorf("describe = %q / %q", e, o)
	}
}
