package assert

import (
	"testing"

	"github.com/pgchaos/pgchaos/history"
)

func TestSplitBrain(t *testing.T) {
	c := SplitBrain{}
	t.Run("pass: a clean failover, A then B", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 0.1, "pg0", 1)
		b.fails(10, 12, 0.1)
		b.acks(12, 20, 0.1, "pg1", 2)
		v := run(t, c, b.t, history.Undecided)
		if fig(t, v, "client_side") != false || fig(t, v, "keys") != 2 || fig(t, v, "server_side_evaluated") != false || fig(t, v, "client_side_evaluated") != true {
			t.Errorf("figures %v", v.Figures)
		}
		// With the monitor's record of the same failover it passes.
		b.rounds(0, 20, 0.5, 1, "pg0", "pg1")
		for i := range b.t.Observations {
			if o := &b.t.Observations[i]; o.At > sec(10) {
				o.InRecovery = o.Instance == 0
				o.Reachable = o.Instance == 1 || o.At > sec(14)
			}
		}
		run(t, c, b.t, history.Pass)
	})
	t.Run("pass: a slow commit straddling the failover does not interleave", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 0.1, "pg0", 1)
		b.ok(9.95, 12.5, "pg0", 1) // sent before B's first write came back
		b.acks(11, 20, 0.1, "pg1", 2)
		v := run(t, c, b.t, history.Undecided)
		if fig(t, v, "client_side") != false {
			t.Errorf("figures %v", v.Figures)
		}
	})
	t.Run("fail: acknowledgements from two nodes interleave", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 0.1, "pg0", 1)
		a1 := b.ok(10, 10.05, "pg1", 2) // B's first acknowledged write
		b.acks(10.1, 12, 0.1, "pg0", 1)
		a2 := b.ok(12, 12.05, "pg0", 1) // A's last invoked, after B acknowledged
		b.acks(12.1, 15, 0.1, "pg1", 2)
		v := run(t, c, b.t, history.Failed)
		if fig(t, v, "client_side") != true || fig(t, v, "interleaving_pairs") != 1 {
			t.Errorf("figures %v", v.Figures)
		}
		if len(v.Evidence) != 4 {
			t.Fatalf("evidence %+v", v.Evidence)
		}
		// A's first returned, B's last invoked, B's first returned, A's last invoked.
		if v.Evidence[0].ID != 1 || v.Evidence[1].ID != int64(len(b.t.Ops)) || v.Evidence[2].ID != a1 || v.Evidence[3].ID != a2 {
			t.Errorf("evidence ids %d %d %d %d", v.Evidence[0].ID, v.Evidence[1].ID, v.Evidence[2].ID, v.Evidence[3].ID)
		}
	})
	t.Run("fail: two timelines of one node interleaving count too", func(t *testing.T) {
		b := newTrial()
		b.ok(0, 1, "pg0", 1)
		b.ok(1.5, 2, "pg0", 2)
		b.ok(2.5, 3, "pg0", 1)
		b.ok(3.5, 4, "pg0", 2)
		run(t, c, b.t, history.Failed)
	})
	t.Run("fail: the monitor saw two primaries at once", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 0.1, "pg0", 1)
		b.rounds(0, 10, 1, 1, "pg0", "pg1")
		b.primary(10, "pg0", 1)
		b.primary(10, "pg1", 2)
		b.primary(11, "pg0", 1)
		b.primary(11, "pg1", 2)
		b.down(12, "pg0")
		b.primary(12, "pg1", 2)
		v := run(t, c, b.t, history.Failed)
		if fig(t, v, "server_side") != true || fig(t, v, "client_side") != false || fig(t, v, "server_side_evaluated") != true {
			t.Errorf("figures %v", v.Figures)
		}
		if fig(t, v, "server_side_overlap_s") != 1.0 {
			t.Errorf("overlap %v", v.Figures["server_side_overlap_s"])
		}
	})
	t.Run("pass: sequential primaries", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 0.1, "pg0", 1)
		b.rounds(0, 10, 1, 1, "pg0", "pg1")
		b.down(10, "pg0")
		b.replica(10, "pg1", 1, false)
		b.down(11, "pg0")
		b.primary(11, "pg1", 2)
		b.replica(12, "pg0", 2, true)
		b.primary(12, "pg1", 2)
		v := run(t, c, b.t, history.Pass)
		if fig(t, v, "server_side") != false || fig(t, v, "server_side_overlap_s") != 0.0 {
			t.Errorf("figures %v", v.Figures)
		}
	})
	t.Run("pass: observations only", func(t *testing.T) {
		b := newTrial()
		b.rounds(0, 10, 1, 1, "pg0", "pg1")
		v := run(t, c, b.t, history.Pass)
		if fig(t, v, "client_side_evaluated") != false || fig(t, v, "keys") != 0 {
			t.Errorf("figures %v", v.Figures)
		}
	})
	t.Run("unknown: no acknowledged write, no observation", func(t *testing.T) {
		b := newTrial()
		b.fails(0, 5, 1)
		run(t, c, b.t, history.Undecided)
	})
	t.Run("unknown: nil trial", func(t *testing.T) {
		run(t, c, nil, history.Undecided)
	})
}

func TestSplitBrainUnorderedObservations(t *testing.T) {
	b := newTrial()
	b.rounds(0, 10, 1, 1, "pg0", "pg1")
	b.primary(10, "pg1", 2)
	b.primary(10, "pg0", 1)
	b.primary(11, "pg0", 1)
	obs := b.t.Observations
	for i, j := 0, len(obs)-1; i < j; i, j = i+1, j-1 { // newest first
		obs[i], obs[j] = obs[j], obs[i]
	}
	v := run(t, SplitBrain{}, b.t, history.Failed)
	if fig(t, v, "server_side_overlap_s") != 0.0 || fig(t, v, "server_side") != true {
		t.Errorf("figures %v", v.Figures)
	}
}
