package history

import (
	"testing"
	"time"
)

func TestCommitLatency(t *testing.T) {
	ms := time.Millisecond
	tr := &Trial{End: 30 * time.Second, Faults: []FaultWindow{{Name: "slow", Injected: 10 * time.Second, Recovered: 20 * time.Second}}}
	add := func(at, lat time.Duration, o Outcome) {
		tr.Ops = append(tr.Ops, Op{ID: int64(len(tr.Ops) + 1), Invoke: at, Return: at + lat, Outcome: o})
	}
	for at := time.Duration(0); at < 30*time.Second; at += 100 * ms {
		lat := 2 * ms
		if at >= 10*time.Second && at < 20*time.Second {
			lat = 102 * ms
		}
		add(at, lat, OK)
	}
	add(15*time.Second, 5*time.Second, Unknown) // not acknowledged: not counted
	add(10*time.Second+10*ms, time.Second, OK)  // straddles the change: left out
	got := CommitLatency(tr, 50*ms)
	if len(got) != 1 {
		t.Fatalf("%d windows", len(got))
	}
	f := got[0]
	if f.Before.N != 100 || f.Before.Median != 2*ms || f.During.Median != 102*ms || f.After.Median != 2*ms {
		t.Errorf("before %v, during %v, after %v", f.Before, f.During, f.After)
	}
	if f.During.N != 99 || f.After.N != 99 {
		t.Errorf("counts: during %d, after %d (settle left out)", f.During.N, f.After.N)
	}
	if f.Rise() != 100*ms {
		t.Errorf("rise %s", f.Rise())
	}
	tr.Faults[0].Recovered = 0
	if f := CommitLatency(tr, 0)[0]; f.After.N != 0 {
		t.Errorf("a window never recovered has an after: %v", f.After)
	}
}
