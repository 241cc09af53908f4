package assert

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// ReplicationRecovery is the replication-recovery check, from the monitor's
// observations: after each fault and each change of primary, every replica
// must stream again from the current primary, on its timeline, within
// Config.ReplicationBudget.
//
// Events are measured from: each fault's Recovered time (its Injected time
// if it was never recovered), and each change of primary the monitor saw (an
// instance seen reachable and out of recovery, after not being so, while a
// different instance was the last one seen as primary). The cluster is
// healthy at a moment when, over the latest observation of every instance,
// exactly one instance P is reachable and out of recovery and every other
// one is reachable, in recovery, streaming, and on P's timeline. An event at
// T recovers at the first observation time >= T at which the cluster is
// healthy (all observations of that time applied); it fails when that takes
// longer than the budget or never happens before the last observation
// ("replica X never streamed again"). Every instance the monitor lists
// counts, including one that never came back.
//
// The check also fails when the cluster is not healthy at the last
// observation. It passes with no event when it is. It is unknown without
// observations or with fewer than two instances.
//
// Figures: "events" (a list of {"at_s", "cause", "recovered", "seconds":
// the time to recover, or the time to the last observation when it never
// did}), "max_s" (the longest recovery), "budget_s" and "end_streaming"
// (whether the cluster was healthy at the last observation).
type ReplicationRecovery struct{}

// Name returns "replication-recovery".
func (ReplicationRecovery) Name() string { return history.CheckReplicationRecovery }

// replEvent is a moment replication must recover from.
type replEvent struct {
	at        time.Duration
	cause     string
	recovered bool
	recAt     time.Duration
	blocker   string // why the cluster was last seen unhealthy after it
	node      string
}

// Check measures how long replicas took to stream again after each event.
func (ReplicationRecovery) Check(t *history.Trial, cfg Config) history.Verdict {
	cfg = cfg.withDefaults()
	v := newVerdict(history.CheckReplicationRecovery)
	v.Figures["events"] = []map[string]any{}
	v.Figures["budget_s"] = seconds(cfg.ReplicationBudget)
	if t == nil {
		return undecided(v, "no trial")
	}
	obs := t.Observations
	n := len(t.Instances)
	for i := range obs {
		n = max(n, int(obs[i].Instance)+1)
	}
	if len(obs) == 0 {
		return undecided(v, "the monitor recorded no observation")
	}
	if n < 2 {
		return undecided(v, "the monitor observed a single instance: there is no replica to follow")
	}
	var faultEvents []replEvent
	for _, f := range t.Faults {
		if f.Recovered > 0 {
			faultEvents = append(faultEvents, replEvent{at: f.Recovered, cause: fmt.Sprintf("fault %s recovered", f.Name)})
		} else {
			faultEvents = append(faultEvents, replEvent{at: f.Injected, cause: fmt.Sprintf("fault %s injected (never recovered)", f.Name)})
		}
	}
	slices.SortStableFunc(faultEvents, func(a, b replEvent) int { return cmp.Compare(a.at, b.at) })

	order := obsByTime(obs)
	c := cluster{t: t, latest: make([]int32, n)}
	for i := range c.latest {
		c.latest[i] = -1
	}
	var events []replEvent
	var pending []int
	fe, lastPrimary := 0, -1
	for j := 0; j < len(order); {
		at := obs[order[j]].At
		for ; fe < len(faultEvents) && faultEvents[fe].at <= at; fe++ {
			pending = append(pending, len(events))
			events = append(events, faultEvents[fe])
		}
		for ; j < len(order) && obs[order[j]].At == at; j++ {
			o := &obs[order[j]]
			x := int(o.Instance)
			if primaryObs(o) {
				wasPrimary := c.latest[x] >= 0 && primaryObs(&obs[c.latest[x]])
				if !wasPrimary && lastPrimary >= 0 && lastPrimary != x {
					pending = append(pending, len(events))
					events = append(events, replEvent{at: at, cause: fmt.Sprintf("%s became primary after %s",
						instanceName(t, o.Instance), instanceName(t, history.InstanceID(lastPrimary)))})
				}
				lastPrimary = x
			}
			c.latest[x] = order[j]
		}
		ok, blocker, node := c.healthy()
		for _, p := range pending {
			if ok {
				events[p].recovered, events[p].recAt = true, at
			} else {
				events[p].blocker, events[p].node = blocker, node
			}
		}
		if ok {
			pending = pending[:0]
		}
	}
	lastAt := obs[order[len(order)-1]].At
	for ; fe < len(faultEvents); fe++ {
		e := faultEvents[fe]
		e.blocker = "the monitor made no observation after it"
		events = append(events, e)
	}
	endOK, endBlocker, endNode := c.healthy()

	ev := newEvidence(cfg.MaxEvidence)
	list := make([]map[string]any, 0, len(events))
	var maxRec time.Duration
	var firstFail string
	for _, e := range events {
		secs := lastAt - e.at
		if e.recovered {
			secs = e.recAt - e.at
			maxRec = max(maxRec, secs)
		}
		list = append(list, map[string]any{"at_s": seconds(e.at), "cause": e.cause, "recovered": e.recovered, "seconds": seconds(max(secs, 0))})
		var what string
		switch {
		case !e.recovered:
			what = fmt.Sprintf("after %s at %s, replication never recovered by the last observation at %s: %s", e.cause, fmtS(e.at), fmtS(lastAt), e.blocker)
		case secs > cfg.ReplicationBudget:
			what = fmt.Sprintf("after %s at %s, replicas streamed again only after %s, over the %s budget (until then: %s)", e.cause, fmtS(e.at), fmtS(secs), fmtBudget(cfg.ReplicationBudget), e.blocker)
		default:
			continue
		}
		if firstFail == "" {
			firstFail = what
		}
		ev.add(history.Evidence{What: what, Node: e.node})
	}
	if !endOK && firstFail == "" {
		firstFail = fmt.Sprintf("at the last observation (%s) replication was not healthy: %s", fmtS(lastAt), endBlocker)
		ev.add(history.Evidence{What: firstFail, Node: endNode})
	}
	v.Figures["events"] = list
	v.Figures["max_s"] = seconds(maxRec)
	v.Figures["end_streaming"] = endOK
	v.Evidence = ev.list
	switch {
	case firstFail != "":
		v.Status = history.Failed
		v.Summary = firstFail
	case len(events) == 0:
		v.Summary = fmt.Sprintf("no fault and no change of primary; every replica streaming from the primary at the end (%s)", fmtS(lastAt))
	default:
		v.Summary = fmt.Sprintf("replicas streamed again within %s after each of %s (budget %s)",
			fmtS(maxRec), plural(len(events), "fault or change of primary", "faults and changes of primary"), fmtBudget(cfg.ReplicationBudget))
	}
	return v
}

// cluster is the monitor's latest view of every instance.
type cluster struct {
	t      *history.Trial
	latest []int32 // per instance, its latest observation, or -1
}

// healthy reports whether exactly one instance is primary and every other
// streams from it on its timeline; if not, it says why and names the
// instance at fault.
func (c *cluster) healthy() (bool, string, string) {
	obs := c.t.Observations
	prim, nprim := -1, 0
	for x, l := range c.latest {
		if l >= 0 && primaryObs(&obs[l]) {
			nprim++
			if prim < 0 {
				prim = x
			} else if nprim == 2 {
				return false, fmt.Sprintf("two primaries, %s and %s", c.name(prim), c.name(x)), c.name(x)
			}
		}
	}
	if nprim == 0 {
		return false, "no primary", ""
	}
	p := &obs[c.latest[prim]]
	for x, l := range c.latest {
		if x == prim {
			continue
		}
		name := c.name(x)
		if l < 0 {
			return false, fmt.Sprintf("replica %s was never observed", name), name
		}
		o := &obs[l]
		switch {
		case !o.Reachable:
			why := fmt.Sprintf("replica %s was unreachable", name)
			if msg := c.t.Error(o.Err); msg != "" {
				why += " (" + msg + ")"
			}
			return false, why, name
		case !o.Streaming:
			return false, fmt.Sprintf("replica %s was not streaming from %s", name, c.name(prim)), name
		case o.Timeline != p.Timeline:
			return false, fmt.Sprintf("replica %s was on timeline %d, the primary %s on %d", name, o.Timeline, c.name(prim), p.Timeline), name
		}
	}
	return true, "", ""
}

func (c *cluster) name(x int) string { return instanceName(c.t, history.InstanceID(x)) }
