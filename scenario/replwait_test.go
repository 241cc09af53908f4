package scenario

import (
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// state is what one instance looks like from some moment on.
type state struct {
	from            float64
	up, rec, stream bool
	tl              uint32
}

// incidentTrial is the trial of issue 12 up to end seconds: pg-1, the
// primary, is deleted at 10 s (the fault recovered at 10.5 s); pg-2 becomes
// primary on timeline 2 at 14.2 s; pg-3 streams from it on timeline 2 from
// 16 s; pg-1 comes back at 30 s as a replica that never streams (its WAL
// receiver stalled on the old endpoint), unless rejoin > 0: then it streams
// on timeline 2 from rejoin seconds. The monitor polls every 0.5 s.
func incidentTrial(end, rejoin float64) *history.Trial {
	t := &history.Trial{
		Errors:    []string{""},
		Instances: []history.Instance{{Name: "pg-1"}, {Name: "pg-2"}, {Name: "pg-3"}},
		Faults:    []history.FaultWindow{{Name: "primary-pod-delete", Target: "pg-1", Injected: sec(10), Recovered: sec(10.5)}},
	}
	pg1 := []state{{0, true, false, false, 1}, {10, false, false, false, 0}, {30, true, true, false, 1}}
	if rejoin > 0 {
		pg1 = append(pg1, state{rejoin, true, true, true, 2})
	}
	timelines := [][]state{
		pg1,
		{{0, true, true, true, 1}, {10, true, true, false, 1}, {14.2, true, false, false, 2}},
		{{0, true, true, true, 1}, {10, true, true, false, 1}, {16, true, true, true, 2}},
	}
	for at := 0.5; at <= end+1e-9; at += 0.5 {
		for i, states := range timelines {
			cur := states[0]
			for _, s := range states {
				if s.from <= at+1e-9 {
					cur = s
				}
			}
			t.Observations = append(t.Observations, history.Observation{At: sec(at), Instance: history.InstanceID(i),
				Reachable: cur.up, InRecovery: cur.rec, Streaming: cur.stream, Timeline: cur.tl})
		}
	}
	if end >= 14.2 { // pg-2 is seen primary at 14.2 s exactly
		t.Observations = append(t.Observations, history.Observation{At: sec(14.2), Instance: 1, Reachable: true, Timeline: 2})
	}
	return t
}

func TestDecideReplicationWaitIncident(t *testing.T) {
	budget := 60 * time.Second
	// Issue 12: the trial stopped at 52.6 s and the verdict failed, 38 s
	// after a change of primary with a 60 s budget. It must wait instead.
	w := DecideReplicationWait(incidentTrial(52.5, 0), budget, sec(53))
	if !w.Wait {
		t.Fatalf("stopped at 53 s with pg-1 not streaming, 38 s into a 60 s budget: %+v", w)
	}
	if want := sec(14.2) + budget + ReplicationMargin; w.Deadline != want {
		t.Errorf("deadline %s, want the latest event (14.2 s) + budget + margin = %s", w.Deadline, want)
	}
	if len(w.Undecided) == 0 || !strings.Contains(w.Blocker, "replica pg-1 not streaming") {
		t.Errorf("undecided %v, blocker %q: want the events listed and pg-1 named", w.Undecided, w.Blocker)
	}

	// Observations past every event's budget, pg-1 still stuck: decided (fail).
	w = DecideReplicationWait(incidentTrial(75.5, 0), budget, sec(76))
	if w.Wait || w.Status != history.Failed || len(w.Undecided) != 0 {
		t.Fatalf("at 76 s the budget of every event has elapsed: want stop on fail, got %+v", w)
	}

	// The monitor lags (last observation 70 s) but the deadline has passed.
	w = DecideReplicationWait(incidentTrial(70, 0), budget, sec(80))
	if w.Wait || len(w.Undecided) == 0 {
		t.Fatalf("past the deadline the wait must stop, with the events still undecided listed: %+v", w)
	}

	// pg-1 rejoins at 40 s: decided (pass) at once.
	w = DecideReplicationWait(incidentTrial(45, 40), budget, sec(45.5))
	if w.Wait || w.Status != history.Pass {
		t.Fatalf("replication recovered at 40 s: want stop on pass, got %+v", w)
	}

	// No fault, no change of primary: nothing to wait for.
	calm := incidentTrial(8, 0)
	calm.Faults = nil
	w = DecideReplicationWait(calm, budget, sec(9))
	if w.Wait || w.Deadline != 0 {
		t.Fatalf("nothing happened: want stop with no deadline, got %+v", w)
	}
}

// TestReplicationWaitNeverStopsEarly steps the waiting loop through time,
// the trial recorded up to each moment: it may stop only once every event
// is decided for good: replication recovered, or the budget of the latest
// event (the change of primary at 14.2 s) has elapsed at the last
// observation, even when the verdict already failed on the fault's (10.5 s).
func TestReplicationWaitNeverStopsEarly(t *testing.T) {
	budget := 60 * time.Second
	for _, rejoin := range []float64{0, 50, 65, 73} {
		stopped := false
		for now := 30.0; now <= 120; now += 2 {
			tr := incidentTrial(now-0.5, rejoin)
			w := DecideReplicationWait(tr, budget, sec(now))
			if w.Wait {
				continue
			}
			stopped = true
			last := tr.Observations[len(tr.Observations)-2].At // the last poll (the extra one is at 14.2 s)
			recovered := rejoin > 0 && now-0.5 >= rejoin
			if !recovered && last < sec(14.2)+budget {
				t.Fatalf("rejoin %v: stopped at %v s with the last observation at %s, before the budget of the change of primary elapsed (14.2 s + %s): %+v",
					rejoin, now, last, budget, w)
			}
			want := history.Failed // 60 s after the fault's recovery at 10.5 s
			if recovered && rejoin <= 70.5 {
				want = history.Pass
			}
			if w.Status != want {
				t.Fatalf("rejoin %v: stopped at %v s on %s, want %s", rejoin, now, w.Status, want)
			}
			break
		}
		if !stopped {
			t.Fatalf("rejoin %v: the wait never stopped by 120 s (deadline 79.2 s)", rejoin)
		}
	}
}

// The checker's own "undecided" figure, when it has one, decides with its status.
func TestDecideReplicationWaitFigure(t *testing.T) {
	tr := incidentTrial(52.5, 0)
	budget := 60 * time.Second
	verdict := func(st history.Status, undecided any) history.Verdict {
		return history.Verdict{Name: history.CheckReplicationRecovery, Status: st, Figures: map[string]any{
			"undecided": undecided,
			"events":    []map[string]any{{"at_s": 14.2, "cause": "pg-2 became primary after pg-1", "recovered": false, "seconds": 38.3}},
		}}
	}
	for _, c := range []struct {
		st        history.Status
		undecided any
		wait      bool
	}{
		{history.Undecided, 1, true},
		{history.Undecided, float64(1), true}, // decoded from verdict.json
		{history.Undecided, 0, false},         // unknown for another reason: waiting will not change it
		{history.Failed, 0, false},
		{history.Failed, 1, true}, // another event failed already: this one is still to be measured
		{history.Pass, 0, false},
	} {
		w := decideReplicationWait(tr, verdict(c.st, c.undecided), budget, sec(53))
		if w.Wait != c.wait {
			t.Errorf("status %s, undecided %v (%T): wait=%v, want %v (%s)", c.st, c.undecided, c.undecided, w.Wait, c.wait, w.Why)
		}
	}
	// A capped list (events_total above its length): the unlisted events
	// came later, up to the last observation, so the deadline runs from it.
	capped := verdict(history.Undecided, 1)
	capped.Figures["events_total"] = 300
	if w := decideReplicationWait(tr, capped, budget, sec(53)); !w.Wait || w.Deadline != sec(52.5)+budget+ReplicationMargin {
		t.Errorf("capped events list: wait=%v deadline %s, want a wait until the last observation (52.5 s) + budget + margin", w.Wait, w.Deadline)
	}
	// Past the deadline nothing waits, whatever the verdict says.
	if w := decideReplicationWait(tr, verdict(history.Undecided, 1), budget, sec(14.2)+budget+ReplicationMargin); w.Wait {
		t.Errorf("waits past the deadline: %+v", w)
	}
}
