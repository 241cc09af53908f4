package assert

import (
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

func TestExpectations(t *testing.T) {
	// A replica fault at 10-15 s; writes go on from pg0 on timeline 1.
	calm := func() *builder {
		b := newTrial()
		b.acks(0, 30, 0.05, "pg0", 1)
		b.fault("replica-isolate", 10, 15)
		b.event(20, history.EventClusterReady)
		return b.end(30)
	}
	cases := []struct {
		name    string
		b       *builder
		expect  history.Expect
		want    history.Status
		summary string
	}{
		{"nothing expected", calm(), history.Expect{}, history.Pass, "no expectation"},
		{"calm holds", calm(), history.Expect{NoFailover: true, MaxWindow: 2 * time.Second, Heal: true}, history.Pass, "all 3"},
		{"promotion event", func() *builder {
			b := calm()
			b.event(12, history.EventPromoted)
			return b
		}(), history.Expect{NoFailover: true}, history.Failed, "failover happened"},
		{"newer timeline", func() *builder {
			b := newTrial()
			b.acks(0, 12, 0.05, "pg0", 1)
			b.acks(14, 30, 0.05, "pg1", 2)
			b.fault("replica-isolate", 10, 15)
			b.event(20, history.EventClusterReady)
			return b.end(30)
		}(), history.Expect{NoFailover: true}, history.Failed, "failover happened"},
		{"long stall during the fault", func() *builder {
			b := newTrial()
			b.acks(0, 11, 0.05, "pg0", 1)
			b.fails(11.1, 14.9, 0.1)
			b.acks(15, 30, 0.05, "pg0", 1)
			b.fault("sync-standby-isolate", 10, 15)
			b.event(20, history.EventClusterReady)
			return b.end(30)
		}(), history.Expect{MaxWindow: 2 * time.Second}, history.Failed, "writes stopped for"},
		{"a stall outside the fault does not count", func() *builder {
			b := newTrial()
			b.acks(0, 21, 0.05, "pg0", 1)
			b.fails(21.1, 25, 0.1)
			b.acks(25.1, 30, 0.05, "pg0", 1)
			b.fault("replica-isolate", 10, 15)
			b.event(20, history.EventClusterReady)
			return b.end(30)
		}(), history.Expect{MaxWindow: 2 * time.Second}, history.Pass, "all 1"},
		{"never healed", func() *builder {
			b := newTrial()
			b.acks(0, 30, 0.05, "pg0", 1)
			b.fault("primary-node-kill", 10, 15)
			b.event(200, history.EventClusterNotReady)
			return b.end(30)
		}(), history.Expect{Heal: true}, history.Failed, "not ready again"},
		{"old trial without events", func() *builder {
			b := newTrial()
			b.acks(0, 30, 0.05, "pg0", 1)
			b.fault("primary-node-kill", 10, 15)
			return b.end(30)
		}(), history.Expect{Heal: true}, history.Undecided, "does not record"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		cfg.Expect = c.expect
		v := Expectations{}.Check(c.b.t, cfg)
		checkShape(t, v, history.CheckExpectations)
		if v.Status != c.want || !strings.Contains(v.Summary, c.summary) {
			t.Errorf("%s: %s %q, want %s containing %q", c.name, v.Status, v.Summary, c.want, c.summary)
		}
		if v.Status == history.Failed && len(v.Evidence) == 0 {
			t.Errorf("%s: failed without evidence", c.name)
		}
	}
	// Run includes the verdict only when the fault expects something.
	if got := len(Run(calm().t, DefaultConfig()).Checks); got != 6 {
		t.Errorf("no expectations: %d verdicts, want 6", got)
	}
	cfg := DefaultConfig()
	cfg.Expect.Heal = true
	if r := Run(calm().t, cfg); len(r.Checks) != 7 || r.Checks[6].Name != history.CheckExpectations {
		t.Errorf("with expectations: %d verdicts", len(r.Checks))
	}
}
