package assert

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

func windowsOf(t *testing.T, v history.Verdict) []history.Window {
	t.Helper()
	w, ok := fig(t, v, "windows").([]history.Window)
	if !ok || w == nil {
		t.Fatalf("windows figure %T %v", v.Figures["windows"], v.Figures["windows"])
	}
	return w
}

func TestUnavailability(t *testing.T) {
	c := Unavailability{}
	t.Run("unknown: no writes", func(t *testing.T) {
		v := run(t, c, newTrial().end(10).t, history.Undecided)
		if len(windowsOf(t, v)) != 0 {
			t.Errorf("windows on unknown")
		}
	})
	t.Run("unknown: nil trial", func(t *testing.T) {
		run(t, c, nil, history.Undecided)
	})
	t.Run("pass: acknowledged throughout", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 60, 0.1, "pg0", 1)
		b.end(60)
		v := run(t, c, b.t, history.Pass)
		if w := windowsOf(t, v); len(w) != 0 || fig(t, v, "count") != 0 {
			t.Errorf("windows %v", w)
		}
		if fig(t, v, "median_gap_s") != 0.1 || fig(t, v, "threshold_s") != 1.0 {
			t.Errorf("figures %v", v.Figures)
		}
	})
	t.Run("pass: window from the last ack before to the first ack after", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 0.5, "pg0", 1) // last ack returns at 9.55
		b.fails(9.6, 14, 0.2)
		b.unk(9.7, 14.5)
		b.acks(15, 30, 0.5, "pg1", 2) // first ack after returns at 15.05
		b.end(30)
		v := run(t, c, b.t, history.Pass)
		w := windowsOf(t, v)
		if len(w) != 1 {
			t.Fatalf("windows %+v", w)
		}
		if w[0].StartS != 9.55 || w[0].EndS != 15.05 || w[0].Seconds != 5.5 || w[0].Open {
			t.Errorf("window %+v", w[0])
		}
		if w[0].Failed != 22 || w[0].Unknown != 1 {
			t.Errorf("failed %d unknown %d", w[0].Failed, w[0].Unknown)
		}
		if fig(t, v, "max_s") != 5.5 || fig(t, v, "total_s") != 5.5 || fig(t, v, "count") != 1 || fig(t, v, "budget_s") != 30.0 {
			t.Errorf("figures %v", v.Figures)
		}
	})
	t.Run("fail: window over the budget", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 0.5, "pg0", 1)
		b.fails(10, 50, 0.5)
		b.acks(50, 60, 0.5, "pg1", 2)
		v := run(t, c, b.t, history.Failed)
		w := windowsOf(t, v)
		if len(w) != 1 || w[0].StartS != 9.55 || w[0].EndS != 50.05 {
			t.Fatalf("windows %+v", w)
		}
		// Evidence: the last ack before, the first failure, the first ack after.
		if len(v.Evidence) != 3 || v.Evidence[0].Outcome != "ok" || v.Evidence[1].Outcome != "fail" || v.Evidence[2].Outcome != "ok" {
			t.Errorf("evidence %+v", v.Evidence)
		}
		if got := c.Check(b.t, Config{RTOBudget: time.Minute}); got.Status != history.Pass {
			t.Errorf("with a 1 minute budget: %s", got.Status)
		}
	})
	t.Run("fail: open window when writes never come back", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 0.5, "pg0", 1)
		b.fails(10, 20, 0.5)
		b.pending(20.2)
		b.end(25)
		v := run(t, c, b.t, history.Failed)
		w := windowsOf(t, v)
		if len(w) != 1 || !w[0].Open || w[0].StartS != 9.55 || w[0].EndS != 25 || w[0].Failed != 20 || w[0].Unknown != 1 {
			t.Fatalf("windows %+v", w)
		}
	})
	t.Run("pass: writes cut off by the end are no window", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 0.5, "pg0", 1)
		b.unk(9.9, 10.0) // cancelled by the workload's stop
		b.end(10.0)
		v := run(t, c, b.t, history.Pass)
		if w := windowsOf(t, v); len(w) != 0 {
			t.Errorf("windows %+v", w)
		}
	})
	t.Run("pass: pending writes are treated as unknown", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 5, 0.1, "pg0", 1)
		b.pending(5.0) // the only failure: never returned
		b.acks(5.2, 10, 0.1, "pg0", 1)
		b.acks(20, 21, 0.1, "pg0", 1)
		b.pending(21)
		b.acks(21.2, 25, 0.1, "pg0", 1)
		b.end(25)
		v := run(t, c, b.t, history.Pass)
		// Acknowledgements came after both: no evidence of their own; the
		// silence from 9.91 to 20.01 is a window, and counts no failure.
		w := windowsOf(t, v)
		if len(w) != 1 || w[0].StartS != 9.91 || w[0].EndS != 20.01 || w[0].Unknown != 0 {
			t.Fatalf("windows %+v", w)
		}
		b = newTrial()
		b.acks(0, 5, 0.1, "pg0", 1)
		b.pending(5.0)
		b.fails(5.05, 5.5, 0.1)
		b.acks(5.6, 10, 0.1, "pg0", 1)
		v = run(t, c, b.t, history.Pass)
		w = windowsOf(t, v)
		if len(w) != 1 || w[0].StartS != 4.91 || w[0].EndS != 5.61 || w[0].Unknown != 1 || w[0].Failed != 5 {
			t.Fatalf("windows %+v", w)
		}
	})
	t.Run("pass: a write in flight while others are acknowledged is no window", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 0.1, "pg0", 1)
		b.unk(9.95, 10.5) // the primary is killed with this commit in flight
		b.acks(10, 10.2, 0.05, "pg0", 1)
		b.fails(10.21, 14, 0.1)
		b.acks(14, 20, 0.1, "pg0", 1)
		v := run(t, c, b.t, history.Pass)
		w := windowsOf(t, v)
		if len(w) != 1 || w[0].StartS != 10.155 || w[0].EndS != 14.01 || w[0].Unknown != 0 {
			t.Fatalf("windows %+v", w)
		}
	})
	t.Run("pass: a silent gap over the threshold is a window", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 5, 0.1, "pg0", 1)
		b.acks(7, 10, 0.1, "pg0", 1) // 2.1s without acknowledgement, nothing failed
		v := run(t, c, b.t, history.Pass)
		w := windowsOf(t, v)
		if len(w) != 1 || w[0].StartS != 4.91 || w[0].EndS != 7.01 || w[0].Failed+w[0].Unknown != 0 {
			t.Fatalf("windows %+v", w)
		}
		if v := c.Check(b.t, Config{GapThreshold: 3 * time.Second}); len(windowsOf(t, v)) != 0 {
			t.Errorf("threshold 3s: windows %+v", v.Figures["windows"])
		}
	})
	t.Run("pass: a silent gap under the threshold is none", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 5, 0.1, "pg0", 1)
		b.acks(5.8, 10, 0.1, "pg0", 1)
		v := run(t, c, b.t, history.Pass)
		if w := windowsOf(t, v); len(w) != 0 {
			t.Errorf("windows %+v", w)
		}
	})
	t.Run("pass: the threshold follows a slow workload's median gap", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 20, 0.5, "pg0", 1)
		b.acks(24, 40, 0.5, "pg0", 1) // 4.5s: under 10 x 0.5s
		v := run(t, c, b.t, history.Pass)
		if w := windowsOf(t, v); len(w) != 0 || fig(t, v, "threshold_s") != 5.0 {
			t.Errorf("windows %+v threshold %v", w, v.Figures["threshold_s"])
		}
	})
	t.Run("pass: failures before the first ack", func(t *testing.T) {
		b := newTrial()
		b.fails(1, 3, 0.5)
		b.acks(3, 10, 0.5, "pg0", 1)
		v := run(t, c, b.t, history.Pass)
		w := windowsOf(t, v)
		if len(w) != 1 || w[0].StartS != 1 || w[0].EndS != 3.05 || w[0].Open {
			t.Fatalf("windows %+v", w)
		}
		if v.Evidence == nil || len(v.Evidence) != 0 {
			t.Errorf("evidence %v", v.Evidence)
		}
	})
	t.Run("fail: nothing ever acknowledged", func(t *testing.T) {
		b := newTrial()
		b.fails(1, 2, 0.5)
		v := run(t, c, b.t, history.Failed)
		if w := windowsOf(t, v); len(w) != 1 || !w[0].Open || w[0].StartS != 1 {
			t.Fatalf("windows %+v", w)
		}
	})
	t.Run("pass: windows that touch stay apart: the acknowledgement between them is availability", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 5, 0.1, "pg0", 1)
		b.fail(5, 5.1)
		b.ok(5.2, 5.3, "pg0", 1)
		b.fail(5.35, 5.4)
		b.acks(5.5, 10, 0.1, "pg0", 1)
		v := run(t, c, b.t, history.Pass)
		w := windowsOf(t, v)
		if len(w) != 2 || w[0].StartS != 4.91 || w[0].EndS != 5.3 || w[1].StartS != 5.3 || w[1].EndS != 5.51 || w[0].Failed != 1 || w[1].Failed != 1 {
			t.Fatalf("windows %+v", w)
		}
	})
	t.Run("pass: stages and fault attribution", func(t *testing.T) {
		b := newTrial()
		b.rounds(0, 10, 1, 1, "pg0", "pg1")
		b.acks(0, 10, 0.5, "pg0", 1)
		b.fault("network-noise", 1, 2) // over before the window
		b.fault("kill-primary", 9.8, 30)
		b.down(10, "pg0")
		b.replica(10, "pg1", 1, false)
		b.fails(10, 14, 0.5)
		b.event(12, history.EventPromoted)
		b.event(12.5, "something-else")
		b.primary(13, "pg1", 2)
		b.event(13.5, history.EventEndpointSwitch)
		b.acks(14, 20, 0.5, "pg1", 2)
		v := run(t, c, b.t, history.Pass)
		w := windowsOf(t, v)
		if len(w) != 1 || w[0].Fault != "kill-primary" {
			t.Fatalf("windows %+v", w)
		}
		want := []history.Stage{
			{Name: StageFaultInjected, AtS: 9.8},
			{Name: StageFailureNoticed, AtS: 10.05},
			{Name: history.EventPromoted, AtS: 12},
			{Name: StageNewPrimaryObserved, AtS: 13},
			{Name: history.EventEndpointSwitch, AtS: 13.5},
			{Name: StageFirstWriteOK, AtS: 14.05},
		}
		if !slices.Equal(w[0].Stages, want) {
			t.Errorf("stages %+v\nwant %+v", w[0].Stages, want)
		}
	})
	t.Run("pass: a fault never recovered still attributes", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 0.5, "pg0", 1)
		b.fault("partition", 9, 0)
		b.unk(10, 15)
		b.fails(10.2, 12, 0.5)
		b.acks(12, 20, 0.5, "pg0", 1)
		v := run(t, c, b.t, history.Pass)
		w := windowsOf(t, v)
		if len(w) != 1 || w[0].Fault != "partition" || w[0].Stages[1] != (history.Stage{Name: StageFailureNoticed, AtS: 10}) {
			t.Fatalf("windows %+v", w)
		}
	})
}

// TestUnavailabilityMatchesReference compares the checker with a plain
// implementation of the same rules on random concurrent ledgers.
func TestUnavailabilityMatchesReference(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		b := newTrial()
		clients := 1 + r.IntN(8)
		next := make([]float64, clients)
		outage0 := r.Float64() * 50
		outage1 := outage0 + r.Float64()*20
		for range 50 + r.IntN(400) {
			cl := r.IntN(clients)
			inv := next[cl] + r.Float64()*0.3
			lat := r.Float64() * 0.2
			if r.IntN(50) == 0 {
				lat = r.Float64() * 5
			}
			ret := inv + lat
			next[cl] = ret
			switch {
			case inv >= outage0 && inv < outage1 && r.IntN(4) > 0:
				b.fail(inv, ret)
			case r.IntN(40) == 0:
				b.unk(inv, ret)
			case r.IntN(200) == 0:
				b.pending(inv)
			default:
				b.ok(inv, ret, "pg0", 1)
			}
		}
		// The ledger is in invocation order.
		slices.SortStableFunc(b.t.Ops, func(x, y history.Op) int { return int(x.Invoke - y.Invoke) })
		for i := range b.t.Ops {
			b.t.Ops[i].ID = int64(i) + 1
		}
		b.t.End = 0
		for _, op := range b.t.Ops {
			b.t.End = max(b.t.End, op.Return, op.Invoke)
		}
		b.t.End += sec(r.Float64() * 3)
		cfg := Config{GapThreshold: sec(0.3 + r.Float64())}
		got := windowsOf(t, Unavailability{}.Check(b.t, cfg))
		want := referenceWindows(b.t, cfg.withDefaults())
		if len(got) != len(want) {
			t.Fatalf("seed %d: %d windows, want %d:\n%+v\n%+v", seed, len(got), len(want), got, want)
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.StartS != w.StartS || g.EndS != w.EndS || g.Open != w.Open || g.Failed != w.Failed || g.Unknown != w.Unknown {
				t.Fatalf("seed %d: window %d = %+v, want %+v", seed, i, g, w)
			}
		}
	}
}

// referenceWindows is the unavailability rule written as plainly as
// possible: quadratic, sorting everything.
func referenceWindows(t *history.Trial, cfg Config) []history.Window {
	var acks []time.Duration
	start, end := time.Duration(1<<62), t.End
	for _, op := range t.Ops {
		start = min(start, op.Invoke)
		end = max(end, op.Invoke)
		if op.Outcome != history.Pending {
			end = max(end, op.Return)
		}
		if op.Outcome == history.OK {
			acks = append(acks, op.Return)
		}
	}
	sort.Slice(acks, func(i, j int) bool { return acks[i] < acks[j] })
	var gaps []time.Duration
	for i := 1; i < len(acks); i++ {
		gaps = append(gaps, acks[i]-acks[i-1])
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	var median time.Duration
	if len(gaps) > 0 {
		median = gaps[(len(gaps)-1)/2]
	}
	thr := max(cfg.GapThreshold, 10*median)
	bounds := append(append([]time.Duration{start}, acks...), end)
	type w struct {
		s, e time.Duration
		open bool
	}
	var ws []w
	m := len(acks)
	for k := 0; k <= m; k++ {
		a, z := bounds[k], bounds[k+1]
		marked := false
		for _, op := range t.Ops {
			if op.Outcome == history.OK || op.Invoke < a || (op.Invoke >= z && k != m) {
				continue
			}
			straddles := false
			for _, ack := range acks {
				if ack > op.Invoke && (op.Outcome == history.Pending || ack < op.Return) {
					straddles = true
				}
			}
			if !straddles {
				marked = true
			}
		}
		var is bool
		switch {
		case m == 0:
			is = marked
		case k == m:
			is = marked && z-a > thr
		default:
			is = marked || z-a > thr
		}
		if !is {
			continue
		}
		ws = append(ws, w{a, z, k == m}) // never merged

	}
	var out []history.Window
	for _, x := range ws {
		hw := history.Window{StartS: seconds(x.s), EndS: seconds(x.e), Open: x.open}
		for _, op := range t.Ops {
			if op.Outcome == history.OK || op.Invoke < x.s || (op.Invoke >= x.e && !x.open) {
				continue
			}
			if op.Outcome == history.Fail {
				hw.Failed++
			} else {
				hw.Unknown++
			}
		}
		out = append(out, hw)
	}
	return out
}

func TestMedianGap(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		b := newTrial()
		x := 0.0
		n := 2 + r.IntN(3000)
		for range n {
			x += r.ExpFloat64() * float64(1+r.IntN(3)) * 1e-3 * float64(r.IntN(1000))
			b.ok(x, x, "pg0", 1)
		}
		a := newAckTimeline(b.t.Ops, 0)
		var gaps []time.Duration
		for i := 1; i < n; i++ {
			gaps = append(gaps, b.t.Ops[i].Return-b.t.Ops[i-1].Return)
		}
		slices.Sort(gaps)
		if got, want := a.medianGap(), gaps[(len(gaps)-1)/2]; got != want {
			t.Fatalf("seed %d: median %v, want %v", seed, got, want)
		}
	}
}

func TestAckOrderSorts(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	b := newTrial()
	for range 20000 {
		inv := r.Float64() * 100
		b.ok(inv, inv+r.ExpFloat64()*0.01, "pg0", 1)
		if r.IntN(10) == 0 {
			b.fail(inv, inv)
		}
	}
	b.ok(50, 50, "pg0", 1) // a burst of equal times
	b.ok(50, 50, "pg0", 1)
	a := newAckTimeline(b.t.Ops, 0)
	ok := 0
	for _, op := range b.t.Ops {
		if op.Outcome == history.OK {
			ok++
		}
	}
	if a.m() != ok {
		t.Fatalf("%d acks, want %d", a.m(), ok)
	}
	for k := 1; k < a.m(); k++ {
		x, y := a.acks[k-1], a.acks[k]
		if rx, ry := b.t.Ops[x].Return, b.t.Ops[y].Return; rx > ry || (rx == ry && x > y) {
			t.Fatalf("acks %d and %d out of order", k-1, k)
		}
	}
}

func TestGapCursor(t *testing.T) {
	b := newTrial()
	for i := range 100 {
		b.ok(float64(i), float64(i)+0.5, "pg0", 1)
	}
	a := newAckTimeline(b.t.Ops, sec(200))
	c := gapCursor{a: a}
	r := rand.New(rand.NewPCG(9, 9))
	for range 2000 {
		x := sec(r.Float64() * 110)
		want := 0
		for k := 1; k <= a.m(); k++ {
			if a.at(k) <= x {
				want = k
			}
		}
		if got := c.locate(x); got != want {
			t.Fatalf("locate(%v) = %d, want %d", x, got, want)
		}
	}
}

func TestAckOrderOneCrowdedBucket(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	b := newTrial()
	for range 1000 {
		inv := r.Float64()
		b.ok(inv, inv+r.Float64()*1e-3, "pg0", 1)
	}
	b.ok(0, 1e6, "pg0", 1) // one acknowledgement far away: every other in one bucket
	a := newAckTimeline(b.t.Ops, 0)
	for k := 1; k < a.m(); k++ {
		if b.t.Ops[a.acks[k-1]].Return > b.t.Ops[a.acks[k]].Return {
			t.Fatalf("acks %d and %d out of order", k-1, k)
		}
	}
}
