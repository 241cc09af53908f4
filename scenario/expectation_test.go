package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
)

// overriding is an adapter with overrides; the rest of Adapter is never
// called by ExpectationFor.
type overriding struct {
	operators.Adapter
	ovs []operators.ExpectOverride
}

func (o overriding) ExpectOverrides() []operators.ExpectOverride { return o.ovs }

func TestExpectationForAppliesOnlyMatchingOverrides(t *testing.T) {
	strict := func(x history.Expect) history.Expect { x.NoFailover = true; return x }
	tight := func(x history.Expect) history.Expect { x.MaxWindow = time.Second; return x }
	a := overriding{ovs: []operators.ExpectOverride{
		{Fault: faults.PrimaryNodeDrain.Name(), Mode: faults.Sync, Adjust: strict, Reason: "moves its primary before the drain"},
		{Fault: faults.PrimaryNodeDrain.Name(), Adjust: tight, Reason: "switchover in under a second"},
		{Fault: faults.PrimaryPodDelete.Name(), Adjust: strict, Reason: "not this fault"},
	}}
	sync := ExpectationFor(a, faults.PrimaryNodeDrain, faults.Sync)
	if want := (history.Expect{Heal: true, NoFailover: true, MaxWindow: time.Second}); sync.Expect != want {
		t.Fatalf("sync drain: %+v, want %+v", sync.Expect, want)
	}
	if !strings.Contains(sync.Override, "moves its primary") || !strings.Contains(sync.Override, "under a second") {
		t.Fatalf("sync drain: both reasons must be recorded, got %q", sync.Override)
	}
	async := ExpectationFor(a, faults.PrimaryNodeDrain, faults.Async)
	if want := (history.Expect{Heal: true, MaxWindow: time.Second}); async.Expect != want || strings.Contains(async.Override, "moves") {
		t.Fatalf("async drain: %+v %q, want %+v and the both-modes reason only", async.Expect, async.Override, want)
	}
	plain := ExpectationFor(a, faults.ReplicaPodDelete, faults.Async)
	if plain.Override != "" || plain.Expect != faults.ExpectOf(faults.ReplicaPodDelete, false) {
		t.Fatalf("a fault without override: %+v", plain)
	}
	if txt := sync.Text(); !strings.Contains(txt, "no failover") || !strings.Contains(txt, "operator override") {
		t.Fatalf("Text() = %q", txt)
	}
	// An adapter with no overrides, and none at all: the table alone.
	if e := ExpectationFor(nil, faults.ReplicaPodDelete, faults.Sync); e.Expect != faults.ExpectOf(faults.ReplicaPodDelete, true) || e.Override != "" {
		t.Fatalf("nil adapter: %+v", e)
	}
}
