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
// must stream again from the current primary, on its timeline, and replay
// what that primary had written, within Config.ReplicationBudget.
//
// Events are measured from: each fault's Recovered time (its Injected time
// if it was never recovered), and each change of primary the monitor saw (an
// instance seen reachable and out of recovery, after not being so, while a
// different instance was the last one seen as primary). The cluster is
// healthy at a moment when, over the latest observation of every instance,
// exactly one instance P is reachable and out of recovery and every other
// one is reachable, in recovery, streaming, and on P's timeline. An event at
// T recovers at the first observation time >= T at which the cluster is
// healthy (all observations of that time applied) and every replica's
// replay LSN has reached P's write LSN at P's first observation at or after
// T (replay progresses: a receiver "streaming" but stuck does not count;
// skipped where the monitor recorded no LSN). Every instance the monitor
// lists counts, including one that never came back.
//
// An event that has not recovered by the last observation fails only when
// the last observation is at least the budget after it; before that, it is
// undecided (figure "undecided") and the check unknown: the harness stopped
// watching too early to tell (scenario keeps watching until it can).
// The check also fails when the cluster is not healthy at the last
// observation and no event is undecided. It passes with no event when the
// cluster is healthy at the end. It is unknown without observations or
// with fewer than two instances.
//
// Figures: "events" (at most MaxWindowsListed, the first; "events_total"
// counts them all; each {"at_s", "cause", "recovered", "seconds":
// the time to recover, or the time to the last observation when it never
// did, "streaming_from": replica -> the address its WAL receiver streamed
// from at recovery, where recorded}), "max_s" (the longest recovery),
// "budget_s", "undecided" and "end_streaming" (whether the cluster was
// healthy at the last observation).
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
	// target is the write LSN of the first primary (targetInst) seen at
	// or after the event: what every replica must replay.
	targetInst int
	targetLSN  history.LSN
	from       map[string]string
}

// Check measures how long replicas took to stream again after each event.
func (ReplicationRecovery) Check(t *history.Trial, cfg Config) history.Verdict {
	cfg = cfg.withDefaults()
	v := newVerdict(history.CheckReplicationRecovery)
	v.Figures["events"] = []map[string]any{}
	v.Figures["budget_s"] = seconds(cfg.ReplicationBudget)
	v.Figures["undecided"] = 0
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
	if n < 2 || distinctServers(t) < 2 {
		return undecided(v, "the monitor observed a single server: there is no replica to follow")
	}
	var faultEvents []replEvent
	for _, f := range t.Faults {
		if f.Recovered > 0 {
			faultEvents = append(faultEvents, replEvent{at: f.Recovered, cause: fmt.Sprintf("fault %s recovered", f.Name), targetInst: -1})
		} else {
			faultEvents = append(faultEvents, replEvent{at: f.Injected, cause: fmt.Sprintf("fault %s injected (never recovered)", f.Name), targetInst: -1})
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
					events = append(events, replEvent{at: at, targetInst: -1, cause: fmt.Sprintf("%s became primary after %s",
						instanceName(t, o.Instance), instanceName(t, history.InstanceID(lastPrimary)))})
				}
				lastPrimary = x
				for _, p := range pending {
					if e := &events[p]; e.targetInst != x {
						e.targetInst, e.targetLSN = x, o.WriteLSN
					}
				}
			}
			c.latest[x] = order[j]
		}
		ok, blocker, node := c.healthy()
		keep := pending[:0]
		for _, p := range pending {
			e := &events[p]
			if !ok {
				e.blocker, e.node = blocker, node
				keep = append(keep, p)
				continue
			}
			if lag, who := c.behind(e.targetInst, e.targetLSN); lag != "" {
				e.blocker, e.node = lag, who
				keep = append(keep, p)
				continue
			}
			e.recovered, e.recAt, e.from = true, at, c.upstreams()
		}
		pending = keep
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
	var firstFail, firstUndecided string
	undecidedN := 0
	for _, e := range events {
		secs := lastAt - e.at
		if e.recovered {
			secs = e.recAt - e.at
			maxRec = max(maxRec, secs)
		}
		item := map[string]any{"at_s": seconds(e.at), "cause": e.cause, "recovered": e.recovered, "seconds": seconds(max(secs, 0))}
		if len(e.from) > 0 {
			item["streaming_from"] = e.from
		}
		if len(list) < MaxWindowsListed {
			list = append(list, item)
		}
		var what string
		switch {
		case !e.recovered && secs < cfg.ReplicationBudget:
			undecidedN++
			if firstUndecided == "" {
				firstUndecided = fmt.Sprintf("after %s at %s, replication had not recovered by the last observation at %s, %s into its %s budget: watched too briefly to decide (%s)",
					e.cause, fmtS(e.at), fmtS(lastAt), fmtS(max(secs, 0)), fmtBudget(cfg.ReplicationBudget), e.blocker)
			}
			continue
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
	if !endOK && firstFail == "" && undecidedN == 0 {
		firstFail = fmt.Sprintf("at the last observation (%s) replication was not healthy: %s", fmtS(lastAt), endBlocker)
		ev.add(history.Evidence{What: firstFail, Node: endNode})
	}
	v.Figures["events"] = list
	v.Figures["max_s"] = seconds(maxRec)
	v.Figures["end_streaming"] = endOK
	v.Figures["undecided"] = undecidedN
	v.Figures["events_total"] = len(events)
	v.Evidence = ev.list
	switch {
	case firstFail != "":
		v.Status = history.Failed
		v.Summary = firstFail
	case undecidedN > 0:
		return undecided(v, firstUndecided)
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
	prim := -1
	for x, l := range c.latest {
		if l >= 0 && primaryObs(&obs[l]) {
			if prim < 0 {
				prim = x
			} else if !sameServer(&obs[c.latest[prim]], &obs[l]) {
				return false, fmt.Sprintf("two primaries, %s and %s", c.name(prim), c.name(x)), c.name(x)
			}
		}
	}
	if prim < 0 {
		return false, "no primary", ""
	}
	p := &obs[c.latest[prim]]
	for x, l := range c.latest {
		if x == prim || (l >= 0 && sameServer(p, &obs[l])) {
			continue // the primary itself, maybe under another address
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

// distinctServers counts the servers the monitor observed: instances whose
// observations carry one identity are one server; an instance with no
// recorded identity (older records, or never reached) counts as its own.
func distinctServers(t *history.Trial) int {
	n := len(t.Instances)
	for i := range t.Observations {
		n = max(n, int(t.Observations[i].Instance)+1)
	}
	hasIdent := make([]bool, n)
	idents := map[uint32]bool{}
	for i := range t.Observations {
		if o := &t.Observations[i]; o.Ident != 0 {
			idents[o.Ident] = true
			hasIdent[o.Instance] = true
		}
	}
	count := len(idents)
	for _, h := range hasIdent {
		if !h {
			count++
		}
	}
	return count
}

// sameServer reports whether two observations saw one server (the same
// recorded identity), as when the monitor reaches it by two addresses.
func sameServer(a, b *history.Observation) bool {
	return a.Ident != 0 && a.Ident == b.Ident
}

// behind says which replica has not replayed up to lsn, written by the
// primary prim ("" when every one has, or the LSNs were not recorded).
func (c *cluster) behind(prim int, lsn history.LSN) (string, string) {
	obs := c.t.Observations
	if prim < 0 || lsn == 0 {
		return "", ""
	}
	for x, l := range c.latest {
		if x == prim || l < 0 {
			continue
		}
		o := &obs[l]
		if sameServer(o, &obs[c.latest[prim]]) {
			continue
		}
		if o.ReplayLSN != 0 && o.ReplayLSN < lsn {
			return fmt.Sprintf("replica %s streamed but had replayed only to %s, short of %s written by %s after the event", c.name(x), o.ReplayLSN, lsn, c.name(prim)), c.name(x)
		}
	}
	return "", ""
}

// upstreams maps each replica to the address its WAL receiver streams from,
// where the monitor recorded it.
func (c *cluster) upstreams() map[string]string {
	var m map[string]string
	for x, l := range c.latest {
		if l < 0 {
			continue
		}
		if o := &c.t.Observations[l]; o.InRecovery && o.Upstream != 0 {
			if m == nil {
				m = map[string]string{}
			}
			m[c.name(x)] = c.t.Error(o.Upstream)
		}
	}
	return m
}

func (c *cluster) name(x int) string { return instanceName(c.t, history.InstanceID(x)) }
