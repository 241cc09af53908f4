package scenario

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/history"
)

// ReplicationMargin is how long past the latest event's replication budget a
// trial keeps watching, so that its last observation falls after the budget:
// the monitor polls every instance every 100–250 ms, a poll takes at most 1 s,
// and the trial's files are flushed every 200 ms.
const ReplicationMargin = 5 * time.Second

// replicationPoll is how often the wait reloads the trial and judges it.
const replicationPoll = 2 * time.Second

// ReplicationWait is the decision of DecideReplicationWait.
type ReplicationWait struct {
	// Wait: keep the workload and the monitor running.
	Wait bool
	// Deadline is, on the trial's clock, the latest event (fault or change
	// of primary) + the budget + ReplicationMargin; 0 when there is no event.
	Deadline time.Duration
	// Undecided lists the events (their offsets) that had not recovered by
	// the last observation and whose budget had not elapsed by then: the
	// verdict cannot be decided on them yet.
	Undecided []time.Duration
	// Status is the replication-recovery verdict on what was recorded.
	Status history.Status
	// Blocker says what the monitor's latest observations show is not
	// healthy ("replica pg-2 not streaming"); empty when healthy.
	Blocker string
	// Why says why it waits or stops, for people.
	Why string
}

// DecideReplicationWait decides, from a trial loaded while it runs, whether
// to keep it running so that no budgeted recovery is decided before its
// budget elapsed. It runs assert.ReplicationRecovery with budget on t and
// waits while some event (a fault or a change of primary) is undecided —
// it had not recovered by the last observation and its budget had not
// elapsed by then (the verdict's figure "undecided"; without that figure, an
// older checker's, counted from the events it lists) — and now (the trial's
// clock) is before Deadline. It waits even when the verdict already fails
// on another event: the undecided one still has to be measured, and
// wal-continuity judges a replica left on an older timeline only once the
// budget has elapsed since the newest timeline appeared.
//
// It stops when nothing is undecided (every event recovered, or failed on
// its elapsed budget) or when the deadline has passed.
func DecideReplicationWait(t *history.Trial, budget, now time.Duration) ReplicationWait {
	if budget <= 0 {
		budget = assert.DefaultReplicationBudget
	}
	return decideReplicationWait(t, assert.ReplicationRecovery{}.Check(t, assert.Config{ReplicationBudget: budget}), budget, now)
}

// decideReplicationWait is DecideReplicationWait on v, the verdict of
// replication-recovery on t with budget.
func decideReplicationWait(t *history.Trial, v history.Verdict, budget, now time.Duration) ReplicationWait {
	w := ReplicationWait{Status: v.Status}
	if t == nil {
		w.Why = "no trial"
		return w
	}
	var lastObs time.Duration
	for i := range t.Observations {
		lastObs = max(lastObs, t.Observations[i].At)
	}
	latest, have := time.Duration(0), false
	for _, f := range t.Faults {
		at := f.Recovered
		if at <= 0 {
			at = f.Injected
		}
		latest, have = max(latest, at), true
	}
	events, _ := v.Figures["events"].([]map[string]any)
	for _, e := range events {
		at := figureDuration(e["at_s"])
		latest, have = max(latest, at), true
		if rec, _ := e["recovered"].(bool); !rec && lastObs-at < budget {
			w.Undecided = append(w.Undecided, at)
		}
	}
	if total, ok := figureInt(v.Figures["events_total"]); ok && total > len(events) {
		// The list holds the first events only: the others came later,
		// at the last observation at the latest.
		latest, have = max(latest, lastObs), true
	}
	if have {
		w.Deadline = latest + budget + ReplicationMargin
	}
	undecided := len(w.Undecided)
	if n, ok := figureInt(v.Figures["undecided"]); ok {
		undecided = n
	}
	switch {
	case undecided == 0:
		w.Why = fmt.Sprintf("replication-recovery is decided on what was recorded: %s", v.Status)
	case now >= w.Deadline:
		w.Why = fmt.Sprintf("the replication budget has elapsed (%s after the latest event at %s), %d event(s) not recovered",
			budget, fmtOffset(latest), undecided)
	default:
		w.Wait = true
		w.Blocker = replicationBlocker(t)
		w.Why = fmt.Sprintf("%d event(s) not recovered, budget %s not elapsed", undecided, budget)
	}
	return w
}

// waitReplication keeps the trial's workload and monitor running after the
// cool-down until DecideReplicationWait says stop, polling every 2 s. The
// wait never passes its start + budget + ReplicationMargin (an event recorded
// before the wait is always covered), ends when ctx is cancelled (returning
// its error) and when the workload ends by itself. It returns when it stopped
// on the trial's clock.
func waitReplication(ctx context.Context, p Plan, tr *Trial, say func(string)) (time.Duration, error) {
	budget := p.Schedule.ReplicationBudget
	if budget <= 0 {
		budget = assert.DefaultReplicationBudget
	}
	start := tr.Since()
	limit := start + budget + ReplicationMargin
	maxPolls := int((budget+ReplicationMargin)/replicationPoll) + 2
	said, waited := "", false
	for range maxPolls {
		t, err := history.Load(p.Spec.Out)
		if err != nil {
			return tr.Since(), fmt.Errorf("waiting for replication to recover in trial %s: %w", p.Spec.Out, err)
		}
		now := tr.Since()
		w := DecideReplicationWait(t, budget, now)
		deadline := min(w.Deadline, limit)
		if !w.Wait || now >= deadline {
			if waited {
				why := w.Why
				if w.Wait {
					why = fmt.Sprintf("the wait's limit passed (%s after the cool-down)", budget+ReplicationMargin)
				}
				say(fmt.Sprintf("stopped waiting for replication after %.1fs: %s", (now - start).Seconds(), why))
			}
			return now, nil
		}
		waited = true
		if w.Blocker != said {
			say(fmt.Sprintf("waiting up to %s for replication to recover (%s)", (deadline - now).Round(time.Second), w.Blocker))
			said = w.Blocker
		}
		select {
		case <-ctx.Done():
			return tr.Since(), ctx.Err()
		case <-tr.Done():
			say("the workload ended while waiting for replication to recover")
			return tr.Since(), nil
		case <-time.After(min(replicationPoll, deadline-now)):
		}
	}
	say(fmt.Sprintf("stopped waiting for replication after %d polls", maxPolls))
	return tr.Since(), nil
}

// replicationBlocker describes what the latest observation of every
// instance shows is not healthy: no primary, two primaries, a replica
// unreachable, not streaming, or on another timeline. Empty when healthy.
func replicationBlocker(t *history.Trial) string {
	latest := map[history.InstanceID]*history.Observation{}
	for i := range t.Observations {
		o := &t.Observations[i]
		if l, ok := latest[o.Instance]; !ok || o.At >= l.At {
			latest[o.Instance] = o
		}
	}
	ids := make([]history.InstanceID, 0, len(latest))
	for id := range latest {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	name := func(id history.InstanceID) string {
		if int(id) < len(t.Instances) && t.Instances[id].Name != "" {
			return t.Instances[id].Name
		}
		return fmt.Sprintf("instance %d", id)
	}
	var prims []history.InstanceID
	for _, id := range ids {
		if o := latest[id]; o.Reachable && !o.InRecovery {
			prims = append(prims, id)
		}
	}
	switch len(prims) {
	case 0:
		return "no primary"
	case 1:
	default:
		names := make([]string, len(prims))
		for i, id := range prims {
			names[i] = name(id)
		}
		return "primaries " + strings.Join(names, " and ")
	}
	p := latest[prims[0]]
	var out []string
	for i := range t.Instances {
		id := history.InstanceID(i)
		if _, seen := latest[id]; !seen {
			out = append(out, fmt.Sprintf("replica %s not observed", name(id)))
		}
	}
	for _, id := range ids {
		o := latest[id]
		switch {
		case id == prims[0]:
		case !o.Reachable:
			out = append(out, fmt.Sprintf("replica %s unreachable", name(id)))
		case !o.Streaming:
			out = append(out, fmt.Sprintf("replica %s not streaming", name(id)))
		case o.Timeline != p.Timeline:
			out = append(out, fmt.Sprintf("replica %s on timeline %d, the primary %s on %d", name(id), o.Timeline, name(prims[0]), p.Timeline))
		}
	}
	if len(out) == 0 {
		return "every replica streaming at the last observation"
	}
	return strings.Join(out, ", ")
}

// figureInt reads an integer figure, in memory (int) or decoded from JSON
// (float64).
func figureInt(x any) (int, bool) {
	switch n := x.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	}
	return 0, false
}

// figureDuration reads a figure in seconds.
func figureDuration(x any) time.Duration {
	switch s := x.(type) {
	case float64:
		return time.Duration(s * float64(time.Second))
	case int:
		return time.Duration(s) * time.Second
	}
	return 0
}

func fmtOffset(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }
