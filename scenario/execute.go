package scenario

import (
	"context"
	"fmt"
	"strings"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
)

// Expectation is what one trial is held to by the expectations checker:
// the table's line for its fault and replication mode
// (faults.ExpectationOf), adjusted by the adapter's overrides.
type Expectation struct {
	Expect history.Expect
	// Why is the table's reason; Override the adapter's, when one applies.
	Why, Override string
}

// Text says what the trial was held to, for results.json and reports.
func (e Expectation) Text() string {
	x := e.Expect
	var parts []string
	if x.Heal {
		parts = append(parts, "heals")
	}
	if x.NoFailover {
		parts = append(parts, "no failover")
	}
	if x.MaxWindow > 0 {
		parts = append(parts, "writes stall at most "+x.MaxWindow.String())
	}
	s := strings.Join(parts, ", ")
	if s == "" {
		s = "nothing beyond the common checks"
	}
	s += " (" + e.Why + ")"
	if e.Override != "" {
		s += "; operator override: " + e.Override
	}
	return s
}

// ExpectationFor resolves the expectations of fault f in mode (faults.Async
// or faults.Sync) on adapter a (nil: the table alone). Overrides apply in
// the adapter's order; a mode-specific override and one for both modes
// both apply.
func ExpectationFor(a operators.Adapter, f faults.Fault, mode string) Expectation {
	line := faults.ExpectationOf(f, mode)
	e := Expectation{Expect: line.Expect, Why: line.Why}
	o, ok := a.(operators.ExpectOverrider)
	if !ok {
		return e
	}
	var reasons []string
	for _, ov := range o.ExpectOverrides() {
		if ov.Fault != f.Name() || (ov.Mode != "" && ov.Mode != mode) || ov.Adjust == nil {
			continue
		}
		e.Expect = ov.Adjust(e.Expect)
		reasons = append(reasons, ov.Reason)
	}
	e.Override = strings.Join(reasons, "; ")
	return e
}

// Judged is one trial of the scenario matrix, run and judged.
type Judged struct {
	Outcome Outcome
	Trial   *history.Trial
	Report  history.Report
	// Expectation is what the expectations checker held the trial to.
	Expectation Expectation
}

// Execute is the trial pipeline `pgchaos run` and the Ginkgo suites share:
// wait until the cluster is ready, run the faulted trial of p (RunFaulted:
// the trial directory with its ledger, monitor, faults and final.json),
// load it, run every checker with cfg and the expectation ex, write
// verdict.json. A trial that did not complete returns its error with the
// outcome so far (its directory keeps what was recorded).
func Execute(ctx context.Context, p Plan, cfg assert.Config, ex Expectation) (Judged, error) {
	j := Judged{Expectation: ex}
	if err := p.Cluster.WaitReady(ctx); err != nil {
		return j, fmt.Errorf("cluster %s not ready before the trial: %w", p.Cluster.Ref(), err)
	}
	out, err := RunFaulted(ctx, p)
	j.Outcome = out
	if err != nil {
		return j, fmt.Errorf("%w (the trial so far is in %s)", err, p.Spec.Out)
	}
	tr, err := history.Load(p.Spec.Out)
	if err != nil {
		return j, err
	}
	j.Trial = tr
	cfg.Expect = ex.Expect
	if j.Report, err = Judge(p.Spec.Out, tr, cfg); err != nil {
		return j, err
	}
	return j, nil
}
