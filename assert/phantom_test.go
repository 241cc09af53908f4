package assert

import (
	"testing"

	"github.com/pgchaos/pgchaos/history"
)

func TestPhantomWrites(t *testing.T) {
	c := PhantomWrites{}
	t.Run("pass: every id explained", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 1, "pg0", 1)
		b.unk(10, 11) // applied after all: allowed
		b.fail(11, 12)
		b.final(state("pg0", true, 1, ranges([]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})))
		v := run(t, c, b.t, history.Pass)
		for _, k := range []string{"phantoms", "duplicates", "failed_but_present", "beyond_truncated_ledger"} {
			if fig(t, v, k) != 0 {
				t.Errorf("%s = %v", k, v.Figures[k])
			}
		}
	})
	t.Run("pass: ids beyond a truncated ledger are not phantoms", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 1, "pg0", 1)
		b.t.Truncated = true
		b.final(state("pg0", true, 1, ranges([]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})))
		v := run(t, c, b.t, history.Pass)
		if fig(t, v, "beyond_truncated_ledger") != 3 || fig(t, v, "phantoms") != 0 {
			t.Errorf("figures %v", v.Figures)
		}
	})
	t.Run("fail: the same ids in a complete ledger are", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 1, "pg0", 1)
		b.final(
			state("pg0", true, 1, ranges([]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})),
			state("pg1", false, 1, ranges([]int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14})),
		)
		v := run(t, c, b.t, history.Failed)
		if fig(t, v, "phantoms") != 4 || fig(t, v, "beyond_truncated_ledger") != 0 {
			t.Errorf("figures %v", v.Figures)
		}
		if len(v.Evidence) != 2 || v.Evidence[0].ID != 11 || v.Evidence[1].Node != "pg1" {
			t.Errorf("evidence %+v", v.Evidence)
		}
	})
	t.Run("fail: ids below 1", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 3, 1, "pg0", 1)
		b.t.Truncated = true
		b.final(state("pg0", true, 1, []history.IDRange{{First: -1, Last: 3}}))
		v := run(t, c, b.t, history.Failed)
		if fig(t, v, "phantoms") != 2 {
			t.Errorf("figures %v", v.Figures)
		}
	})
	t.Run("fail: duplicates", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 1, "pg0", 1)
		s0, s1 := state("pg0", true, 1, b.presentExcept()), state("pg1", false, 1, b.presentExcept())
		s0.Duplicates = []history.Duplicate{{ID: 4, Count: 2}, {ID: 7, Count: 3}}
		s1.Duplicates = []history.Duplicate{{ID: 4, Count: 2}}
		b.final(s0, s1)
		v := run(t, c, b.t, history.Failed)
		if fig(t, v, "duplicates") != 2 {
			t.Errorf("figures %v", v.Figures)
		}
		if len(v.Evidence) != 3 || v.Evidence[0].ID != 4 || v.Evidence[0].Node != "pg0" || v.Evidence[0].Outcome != "ok" {
			t.Errorf("evidence %+v", v.Evidence)
		}
	})
	t.Run("fail: a failed write present", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 5, 1, "pg0", 1)
		id := b.fail(5, 5.1)
		b.acks(6, 10, 1, "pg0", 1)
		b.final(state("pg0", true, 1, b.present(func(history.Op) bool { return true })))
		v := run(t, c, b.t, history.Failed)
		if fig(t, v, "failed_but_present") != 1 || len(v.Evidence) != 1 || v.Evidence[0].ID != id || v.Evidence[0].Outcome != "fail" {
			t.Errorf("figures %v evidence %+v", v.Figures, v.Evidence)
		}
	})
	t.Run("unknown: no final state", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 5, 1, "pg0", 1)
		run(t, c, b.t, history.Undecided)
	})
	t.Run("unknown: nil trial", func(t *testing.T) {
		run(t, c, nil, history.Undecided)
	})
}
