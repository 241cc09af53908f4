package assert

import (
	"testing"

	"github.com/pgchaos/pgchaos/history"
)

func TestLostAckedWrites(t *testing.T) {
	c := LostAckedWrites{}
	t.Run("pass: every acknowledged write present", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 1, "pg0", 1)
		b.fail(10, 10.1)
		b.unk(10.2, 12) // indeterminate: absent is fine
		b.final(state("pg0", true, 1, b.presentExcept()))
		v := run(t, c, b.t, history.Pass)
		if fig(t, v, "lost") != 0 || fig(t, v, "acked") != 10 {
			t.Errorf("figures %v", v.Figures)
		}
		if len(v.Evidence) != 0 {
			t.Errorf("evidence on pass: %v", v.Evidence)
		}
		if _, ok := v.Figures["wal_bytes"]; ok {
			t.Errorf("wal_bytes on pass")
		}
	})
	t.Run("fail: lost count equals the writes removed", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 1, "pg0", 1) // ids 1..10, LSN 0x3000100 + 0x100*(i-1)
		b.acks(20, 25, 1, "pg1", 2)
		removed := []int64{4, 8, 9, 10}
		b.final(state("pg1", true, 2, b.presentExcept(removed...)))
		v := run(t, c, b.t, history.Failed)
		if got := fig(t, v, "lost"); got != len(removed) {
			t.Fatalf("lost = %v, want %d", got, len(removed))
		}
		if len(v.Evidence) != len(removed) {
			t.Fatalf("evidence %v", v.Evidence)
		}
		for i, e := range v.Evidence {
			if e.ID != removed[i] || e.Outcome != "ok" || e.Node != "pg0 (pg0:5432)" || e.Timeline != 1 || e.LSN == "" || e.ReturnS == 0 {
				t.Errorf("evidence %d: %+v", i, e)
			}
		}
		if fig(t, v, "first_lost_s") != 3.1 || fig(t, v, "last_lost_s") != 9.1 || fig(t, v, "span_s") != 6.0 {
			t.Errorf("times: %v", v.Figures)
		}
		// The last lost write is id 10 at 0x3000A00; the last surviving
		// below it on timeline 1 is id 7 at 0x3000700.
		if got := fig(t, v, "wal_bytes"); got != int64(0x300) {
			t.Errorf("wal_bytes = %v, want %d", got, 0x300)
		}
		if got := fig(t, v, "lost_by_node").(map[string]int); len(got) != 1 || got["pg0 (pg0:5432)"] != 4 {
			t.Errorf("lost_by_node = %v", got)
		}
	})
	t.Run("fail: a single acknowledged write absent is found", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 100, 0.5, "pg0", 1)
		b.final(state("pg0", true, 1, b.presentExcept(117)))
		v := run(t, c, b.t, history.Failed)
		if fig(t, v, "lost") != 1 || v.Evidence[0].ID != 117 {
			t.Errorf("lost %v, evidence %v", v.Figures["lost"], v.Evidence)
		}
		if fig(t, v, "span_s") != 0.0 {
			t.Errorf("span %v", v.Figures["span_s"])
		}
		// Writes after it survived: the WAL lost is from id 116 to id 117.
		if fig(t, v, "wal_bytes") != int64(0x100) {
			t.Errorf("wal_bytes %v", v.Figures["wal_bytes"])
		}
	})
	t.Run("fail: no surviving write on the timeline, WAL spanned by the lost", func(t *testing.T) {
		b := newTrial()
		b.okLSN(0, 0.1, "pg0", 1, 0x1000)
		b.okLSN(1, 1.1, "pg0", 1, 0x1800)
		b.okLSN(2, 2.1, "pg1", 2, 0x1900)
		b.final(state("pg1", true, 2, ranges([]int64{3})))
		v := run(t, c, b.t, history.Failed)
		if fig(t, v, "wal_bytes") != int64(0x800) {
			t.Errorf("wal_bytes %v", v.Figures["wal_bytes"])
		}
	})
	t.Run("pass: replicas missing writes are informational", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 1, "pg0", 1)
		b.final(
			state("pg0", true, 1, b.presentExcept()),
			state("pg1", false, 1, b.presentExcept(9, 10)),
			history.InstanceState{Name: "pg2", Error: "connection refused"},
		)
		v := run(t, c, b.t, history.Pass)
		m := fig(t, v, "missing_on_replicas").(map[string]int)
		if len(m) != 1 || m["pg1"] != 2 {
			t.Errorf("missing_on_replicas %v", m)
		}
		if fig(t, v, "authoritative") != "pg0" {
			t.Errorf("authoritative %v", v.Figures["authoritative"])
		}
	})
	t.Run("pass: ranges out of order are normalised", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 6, 1, "pg0", 1)
		b.final(state("pg0", true, 1, []history.IDRange{{First: 4, Last: 6}, {First: 1, Last: 2}, {First: 2, Last: 3}}))
		run(t, c, b.t, history.Pass)
	})
	t.Run("fail: evidence capped, count exact", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 50, 1, "pg0", 1)
		b.final(state("pg0", true, 1, nil))
		v := run(t, c, b.t, history.Failed)
		if fig(t, v, "lost") != 50 || len(v.Evidence) != DefaultMaxEvidence {
			t.Errorf("lost %v, %d evidence", v.Figures["lost"], len(v.Evidence))
		}
		v = c.Check(b.t, Config{MaxEvidence: 3})
		if len(v.Evidence) != 3 {
			t.Errorf("MaxEvidence 3: %d evidence", len(v.Evidence))
		}
	})
	t.Run("unknown: no final state", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 5, 1, "pg0", 1)
		v := run(t, c, b.t, history.Undecided)
		if fig(t, v, "lost") != 0 {
			t.Errorf("lost %v", v.Figures["lost"])
		}
	})
	t.Run("unknown: no instance readable", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 5, 1, "pg0", 1)
		b.final(history.InstanceState{Name: "pg0", Error: "timeout"}, history.InstanceState{Name: "pg1", Reachable: false})
		run(t, c, b.t, history.Undecided)
	})
	t.Run("unknown: nil trial", func(t *testing.T) {
		run(t, c, nil, history.Undecided)
	})
}
