package faults

import (
	"testing"

	"github.com/pgchaos/pgchaos/history"
)

// Every fault has a line of the expectations table, in both modes, and
// every line names a fault: a fault added without its expectations, or a
// line left behind by a renamed fault, fails here.
func TestExpectationsTableCoversTheCatalogue(t *testing.T) {
	names := map[string]bool{}
	for _, f := range All() {
		names[f.Name()] = true
		for _, mode := range []string{Async, Sync} {
			e := ExpectationOf(f, mode)
			if e.Why == "" || e.Why == "not in the expectations table: healing only" {
				t.Errorf("fault %s (%s) has no line in the expectations table", f.Name(), mode)
			}
			if !e.Expect.Heal {
				t.Errorf("fault %s (%s): every fault expects the cluster to heal", f.Name(), mode)
			}
			if e.Mode != mode {
				t.Errorf("fault %s: asked for %s, got a line for %q", f.Name(), mode, e.Mode)
			}
		}
	}
	seen := map[[2]string]bool{}
	for _, e := range Expectations() {
		if !names[e.Fault] {
			t.Errorf("the expectations table names %q, which is not a fault", e.Fault)
		}
		k := [2]string{e.Fault, e.Mode}
		if seen[k] {
			t.Errorf("the expectations table has two lines for %s mode %q", e.Fault, e.Mode)
		}
		seen[k] = true
		if e.Mode != "" && CheckMode(e.Mode) != nil {
			t.Errorf("line for %s: %v", e.Fault, CheckMode(e.Mode))
		}
	}
}

// What the expectations say of the families: a fault that spares the
// primary bounds the stall and forbids a failover; one that keeps the
// primary reachable forbids a failover only; one that takes the primary
// allows it.
func TestExpectationsOfFamilies(t *testing.T) {
	cases := []struct {
		f    Fault
		want history.Expect
	}{
		{ReplicaPodDelete, history.Expect{Heal: true, NoFailover: true, MaxWindow: SpareStall}},
		{SyncStandbyIsolate, history.Expect{Heal: true, NoFailover: true, MaxWindow: SpareStall}},
		{OperatorOutage, history.Expect{Heal: true, NoFailover: true, MaxWindow: SpareStall}},
		{PrimaryClientsCut, history.Expect{Heal: true, NoFailover: true}},
		{PrimaryWALSlow, history.Expect{Heal: true, NoFailover: true}},
		{PrimaryPodDelete, history.Expect{Heal: true}},
		{PrimaryWALFull, history.Expect{Heal: true}},
		{PrimaryNodeKill, history.Expect{Heal: true}},
	}
	for _, c := range cases {
		for _, sync := range []bool{false, true} {
			if got := ExpectOf(c.f, sync); got != c.want {
				t.Errorf("ExpectOf(%s, sync=%v) = %+v, want %+v", c.f.Name(), sync, got, c.want)
			}
		}
	}
}

// A mode's own line wins over the line for both modes, whatever their order.
func TestExpectationModeLineWins(t *testing.T) {
	saved := expectations
	defer func() { expectations = saved }()
	strict := history.Expect{Heal: true, NoFailover: true}
	for _, order := range [][]Expectation{
		{{Fault: "primary-pod-delete", Expect: heals, Why: "both"}, {Fault: "primary-pod-delete", Mode: Sync, Expect: strict, Why: "sync"}},
		{{Fault: "primary-pod-delete", Mode: Sync, Expect: strict, Why: "sync"}, {Fault: "primary-pod-delete", Expect: heals, Why: "both"}},
	} {
		expectations = order
		if e := ExpectationOf(PrimaryPodDelete, Sync); e.Why != "sync" || e.Expect != strict {
			t.Errorf("sync: got %+v, want the sync line", e)
		}
		if e := ExpectationOf(PrimaryPodDelete, Async); e.Why != "both" || e.Expect != heals {
			t.Errorf("async: got %+v, want the line for both", e)
		}
	}
	expectations = nil
	if e := ExpectationOf(PrimaryPodDelete, Async); e.Expect != heals || e.Why == "" {
		t.Errorf("a fault missing from the table: got %+v, want healing only with a reason", e)
	}
}
