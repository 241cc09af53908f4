package history

import (
	"fmt"
	"slices"
	"time"
)

// LatencyStats summarise commit latencies (Return - Invoke of acknowledged writes).
type LatencyStats struct {
	N      int           `json:"n"`
	Median time.Duration `json:"median_ns"`
	P95    time.Duration `json:"p95_ns"`
}

// String renders the stats: "median 1.2ms, p95 3ms (n=812)".
func (s LatencyStats) String() string {
	if s.N == 0 {
		return "no acknowledged write"
	}
	return fmt.Sprintf("median %s, p95 %s (n=%d)", s.Median.Round(10*time.Microsecond), s.P95.Round(10*time.Microsecond), s.N)
}

// FaultLatency is the commit latency around one fault window.
type FaultLatency struct {
	Fault                 FaultWindow
	Before, During, After LatencyStats
}

// Rise is how much the median rose during the window.
func (f FaultLatency) Rise() time.Duration { return f.During.Median - f.Before.Median }

// CommitLatency measures the commit latency of acknowledged writes before
// each fault window (from the trial's start), during it and after it (to
// the end of the ledger). Writes invoked within settle after a change may
// straddle it and are left out. A window never recovered has no "after".
func CommitLatency(t *Trial, settle time.Duration) []FaultLatency {
	var out []FaultLatency
	for _, w := range t.Faults {
		end := t.End
		rec := w.Recovered
		if rec == 0 {
			rec = end
		}
		f := FaultLatency{Fault: w,
			Before: latencyIn(t, 0, w.Injected),
			During: latencyIn(t, w.Injected+settle, rec)}
		if w.Recovered != 0 {
			f.After = latencyIn(t, w.Recovered+settle, end)
		}
		out = append(out, f)
	}
	return out
}

// latencyIn summarises the acknowledged writes invoked in [from, to).
func latencyIn(t *Trial, from, to time.Duration) LatencyStats {
	var l []time.Duration
	for _, op := range t.Ops {
		if op.Outcome == OK && op.Invoke >= from && op.Invoke < to {
			l = append(l, op.Return-op.Invoke)
		}
	}
	if len(l) == 0 {
		return LatencyStats{}
	}
	slices.Sort(l)
	return LatencyStats{N: len(l), Median: l[len(l)/2], P95: l[(len(l)*95)/100]}
}
