package assert

import (
	"testing"

	"github.com/pgchaos/pgchaos/history"
)

// failover is a ledger of writes on pg0 (timeline 1, ids 1..10 at LSN
// 0x3000100..0x3000A00) and on pg1 (timeline 2, ids 11..20).
func failover() *builder {
	b := newTrial()
	b.acks(0, 10, 1, "pg0", 1)
	b.acks(20, 30, 1, "pg1", 2)
	return b
}

func hist(sw ...history.TimelineSwitch) []history.TimelineSwitch { return sw }

func TestWALContinuity(t *testing.T) {
	c := WALContinuity{}
	fork := hist(history.TimelineSwitch{TLI: 1, SwitchLSN: 0x3000801})
	t.Run("pass: one history, fork after the surviving writes", func(t *testing.T) {
		b := failover()
		p := b.presentExcept(9, 10) // 9 and 10 are at or past the fork
		s0, s1, s2 := state("pg0", false, 2, p), state("pg1", true, 2, p), state("pg2", false, 2, p)
		s0.History, s1.History, s2.History = fork, fork, fork
		b.final(s0, s1, s2)
		v := run(t, c, b.t, history.Pass)
		if fig(t, v, "newest") != uint32(2) {
			t.Errorf("newest %v", v.Figures["newest"])
		}
		if tl := fig(t, v, "timelines").(map[string]uint32); tl["pg0"] != 2 || len(tl) != 3 {
			t.Errorf("timelines %v", tl)
		}
		forks := fig(t, v, "forks").([]map[string]any)
		if len(forks) != 1 {
			t.Fatalf("forks %v", forks)
		}
		f := forks[0]
		if f["tli"] != uint32(1) || f["switch_lsn"] != "0/3000801" || f["last_acked_lsn_on_tli"] != "0/3000A00" || f["acked_after_fork"] != 2 || f["survived_after_fork"] != 0 {
			t.Errorf("fork %v", f)
		}
	})
	t.Run("pass: all on timeline 1", func(t *testing.T) {
		b := newTrial()
		b.acks(0, 10, 1, "pg0", 1)
		b.final(state("pg0", true, 1, b.presentExcept()), state("pg1", false, 1, b.presentExcept()))
		v := run(t, c, b.t, history.Pass)
		if len(fig(t, v, "forks").([]map[string]any)) != 0 {
			t.Errorf("forks %v", v.Figures["forks"])
		}
	})
	t.Run("fail: histories disagree", func(t *testing.T) {
		b := failover()
		p := b.presentExcept(9, 10)
		s0, s1 := state("pg0", false, 2, p), state("pg1", true, 2, p)
		s0.History = hist(history.TimelineSwitch{TLI: 1, SwitchLSN: 0x3000900})
		s1.History = fork
		b.final(s0, s1)
		v := run(t, c, b.t, history.Failed)
		if len(v.Evidence) != 1 || v.Evidence[0].Node != "pg1" {
			t.Errorf("evidence %+v", v.Evidence)
		}
	})
	t.Run("fail: same switch, different child timeline", func(t *testing.T) {
		b := failover()
		p := b.presentExcept(9, 10)
		s0, s1 := state("pg0", false, 3, p), state("pg1", true, 3, p)
		s0.History = hist(history.TimelineSwitch{TLI: 1, SwitchLSN: 0x3000801})
		s1.History = hist(history.TimelineSwitch{TLI: 1, SwitchLSN: 0x3000801}, history.TimelineSwitch{TLI: 2, SwitchLSN: 0x4000000})
		b.final(s0, s1)
		run(t, c, b.t, history.Failed)
	})
	t.Run("fail: an instance on an old timeline", func(t *testing.T) {
		b := failover()
		p := b.presentExcept(9, 10)
		s0, s1 := state("pg0", false, 1, b.presentExcept()), state("pg1", true, 2, p)
		s0.LSN = 0x3000B00 // past the fork: diverged
		s1.History = fork
		b.final(s0, s1)
		v := run(t, c, b.t, history.Failed)
		if len(v.Evidence) != 1 || v.Evidence[0].Node != "pg0" || v.Evidence[0].Timeline != 1 || v.Evidence[0].LSN != "0/3000B00" {
			t.Errorf("evidence %+v", v.Evidence)
		}
	})
	t.Run("fail: a surviving write past the fork", func(t *testing.T) {
		b := failover()
		p := b.presentExcept(10) // id 9 (0x3000900) survived past 0x3000801
		s1 := state("pg1", true, 2, p)
		s1.History = fork
		b.final(s1)
		v := run(t, c, b.t, history.Failed)
		if len(v.Evidence) != 1 || v.Evidence[0].ID != 9 {
			t.Errorf("evidence %+v", v.Evidence)
		}
		f := fig(t, v, "forks").([]map[string]any)[0]
		if f["acked_after_fork"] != 2 || f["survived_after_fork"] != 1 {
			t.Errorf("fork %v", f)
		}
	})
	t.Run("unknown: history unreadable and nothing failed", func(t *testing.T) {
		b := failover()
		p := b.presentExcept(9, 10)
		s0, s1 := state("pg0", false, 2, p), state("pg1", true, 2, p)
		s0.HistoryError = "permission denied"
		s1.History = fork
		b.final(s0, s1)
		v := run(t, c, b.t, history.Undecided)
		if v.Reason == "" {
			t.Error("no reason")
		}
	})
	t.Run("unknown: timeline above 1 with no history", func(t *testing.T) {
		b := failover()
		b.final(state("pg1", true, 2, b.presentExcept(9, 10)))
		run(t, c, b.t, history.Undecided)
	})
	t.Run("fail: history unreadable but something else failed", func(t *testing.T) {
		b := failover()
		p := b.presentExcept(9, 10)
		s0, s1 := state("pg0", false, 1, p), state("pg1", true, 2, p)
		s1.HistoryError = "permission denied"
		b.final(s0, s1)
		// Read right after the failover: pg0 may still follow.
		run(t, c, b.t, history.Undecided)
		// Read past the replication budget: it did not.
		b.t.Final.ReadAt = sec(90)
		run(t, c, b.t, history.Failed)
		// A primary on the old timeline fails at once.
		b.t.Final.ReadAt = 0
		b.t.Final.Instances[0].Primary = true
		run(t, c, b.t, history.Failed)
	})
	t.Run("unknown: no final state", func(t *testing.T) {
		run(t, c, failover().t, history.Undecided)
	})
	t.Run("unknown: nothing reachable", func(t *testing.T) {
		b := failover()
		b.final(history.InstanceState{Name: "pg0"})
		run(t, c, b.t, history.Undecided)
	})
}

func TestWALContinuityTimelineUnread(t *testing.T) {
	b := failover()
	s := state("pg1", true, 0, b.presentExcept())
	b.final(s)
	v := run(t, WALContinuity{}, b.t, history.Undecided)
	if v.Reason == "" {
		t.Error("no reason")
	}
}
