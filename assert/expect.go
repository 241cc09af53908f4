package assert

import (
	"fmt"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// Expectations checks the fault's own expectations (Config.Expect):
//   - no failover: no "new-primary-elected" event after the first fault was
//     injected, and no acknowledgement on a timeline newer than the first
//     acknowledged one (either is evidence of a promotion);
//   - max window: every unavailability window that starts while a fault is
//     applied (between its injection and its recovery) lasts at most MaxWindow;
//   - heal: the cluster was ready again after the fault was recovered (a
//     "cluster-not-ready" event fails).
//
// With nothing expected the verdict passes with figure "expected" = 0.
// Figures: "expected" (how many expectations), "failed" (how many failed),
// "promotions", "max_window_s" (the bound, when set), "longest_in_fault_s".
type Expectations struct{}

// Name returns "expectations".
func (Expectations) Name() string { return history.CheckExpectations }

// Check checks cfg.Expect against the trial.
func (Expectations) Check(t *history.Trial, cfg Config) history.Verdict {
	cfg = cfg.withDefaults()
	v := newVerdict(history.CheckExpectations)
	x := cfg.Expect
	n := 0
	for _, on := range []bool{x.NoFailover, x.MaxWindow > 0, x.Heal} {
		if on {
			n++
		}
	}
	v.Figures["expected"] = n
	v.Figures["failed"] = 0
	if n == 0 {
		v.Summary = "the fault states no expectation of its own"
		return v
	}
	if t == nil {
		return undecided(v, "no trial")
	}
	if len(t.Faults) == 0 {
		return undecided(v, "the trial records no fault window")
	}
	ev := newEvidence(cfg.MaxEvidence)
	var failed []string
	injected := t.Faults[0].Injected

	if x.NoFailover {
		promotions := 0
		for _, e := range t.Events {
			if e.Kind == history.EventPromoted && e.At >= injected {
				promotions++
				ev.add(history.Evidence{What: fmt.Sprintf("the operator elected a new primary %s at %s", e.Detail, fmtS(e.At)), InvokeS: seconds(e.At)})
			}
		}
		var first uint32
		var newer *history.Op
		for i := range t.Ops {
			op := &t.Ops[i]
			if op.Outcome != history.OK || op.Timeline == 0 {
				continue
			}
			if first == 0 {
				first = op.Timeline
			}
			if op.Timeline > first && (newer == nil || op.Return < newer.Return) {
				newer = op
			}
		}
		if newer != nil {
			promotions++
			ev.add(opEvidence(t, newer, fmt.Sprintf("first write acknowledged on timeline %d (writes began on %d): a promotion", newer.Timeline, first)))
		}
		v.Figures["promotions"] = promotions
		if promotions > 0 {
			failed = append(failed, "a failover happened although the primary was spared")
		}
	}

	if x.MaxWindow > 0 {
		v.Figures["max_window_s"] = seconds(x.MaxWindow)
		u := Unavailability{}.Check(t, cfg)
		ws, _ := u.Figures["windows"].([]history.Window)
		var longest float64
		for _, w := range ws {
			if !duringFault(t, w.StartS) {
				continue
			}
			longest = max(longest, w.Seconds)
			if w.Seconds > x.MaxWindow.Seconds() {
				ev.add(history.Evidence{What: fmt.Sprintf("writes unavailable for %.3fs from %.3fs, during the fault (at most %s expected)", w.Seconds, w.StartS, x.MaxWindow), InvokeS: w.StartS})
			}
		}
		v.Figures["longest_in_fault_s"] = longest
		if longest > x.MaxWindow.Seconds() {
			failed = append(failed, fmt.Sprintf("writes stopped for %.3fs during the fault (at most %s expected)", longest, x.MaxWindow))
		}
	}

	if x.Heal {
		ready := false
		for _, e := range t.Events {
			switch e.Kind {
			case history.EventClusterNotReady:
				failed = append(failed, "the cluster was not ready again after the fault")
				ev.add(history.Evidence{What: "cluster not ready after recovery: " + e.Detail, InvokeS: seconds(e.At)})
			case history.EventClusterReady:
				ready = true
			}
		}
		if !ready && len(failed) == 0 && !t.Truncated {
			// Trials recorded before the events existed: cannot tell.
			v.Figures["failed"] = 0
			v.Evidence = ev.list
			return undecided(v, "the trial does not record whether the cluster was ready again")
		}
	}

	v.Figures["failed"] = len(failed)
	v.Evidence = ev.list
	if len(failed) > 0 {
		v.Status = history.Failed
		v.Summary = strings.Join(failed, "; ")
		return v
	}
	v.Summary = fmt.Sprintf("all %d expectations of the fault held", n)
	return v
}

// duringFault: the offset (seconds) falls between a fault's injection and
// its recovery (the end of the trial when it was never recovered).
func duringFault(t *history.Trial, s float64) bool {
	at := time.Duration(s * float64(time.Second))
	for _, f := range t.Faults {
		end := f.Recovered
		if end == 0 {
			end = t.End
		}
		if at >= f.Injected && at <= end {
			return true
		}
	}
	return false
}
