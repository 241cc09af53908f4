package assert

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// SplitBrain is the split-brain check: two instances accepted writes in
// overlapping time. It weighs two kinds of evidence; either fails the check.
//
// Client side, from the ledger: acknowledged writes are grouped by key =
// (acknowledging node, timeline). For a key K, firstReturn(K) is the earliest
// acknowledgement and lastInvoke(K) the latest invocation of its writes. Key
// A happens before key B when firstReturn(A) < lastInvoke(B): a write
// acknowledged by A completed before a write acknowledged by B was sent.
// Keys A and B interleave, and prove a split brain, when A happens before B
// and B happens before A. A clean failover (every write of A before every
// write of B) never interleaves, however slow its writes. Evidence: the four
// writes of the proof.
//
// Server side, from the monitor: for each instance, the maximal runs of its
// consecutive observations (in time order) that saw it reachable and not in
// recovery are intervals [first, last]. Intervals of two different instances
// that overlap (a.start <= b.end && b.start <= a.end) prove two primaries at
// once. Without observations the server side is not evaluated.
//
// It is unknown when there is neither an acknowledged write nor an
// observation. Figures: "client_side", "server_side" (whether each fired),
// "client_side_evaluated", "server_side_evaluated", "keys" (node/timeline
// keys), "interleaving_pairs" and "server_side_overlap_s" (total time two
// primaries overlapped).
type SplitBrain struct{}

// Name returns "split-brain".
func (SplitBrain) Name() string { return history.CheckSplitBrain }

// ackKey is the acknowledgements of one node on one timeline.
type ackKey struct {
	node                  history.NodeID
	tl                    uint32
	firstReturn, lastInv  time.Duration
	firstRetOp, lastInvOp int
}

// primaryRun is an interval in which the monitor saw one instance as primary.
type primaryRun struct {
	inst       history.InstanceID
	start, end time.Duration
	tl         uint32
}

// Check looks for interleaving acknowledgements and overlapping primaries.
func (SplitBrain) Check(t *history.Trial, cfg Config) history.Verdict {
	cfg = cfg.withDefaults()
	v := newVerdict(history.CheckSplitBrain)
	v.Figures["client_side"] = false
	v.Figures["server_side"] = false
	v.Figures["client_side_evaluated"] = false
	v.Figures["server_side_evaluated"] = false
	if t == nil {
		return undecided(v, "no trial")
	}
	ev := newEvidence(cfg.MaxEvidence)

	// Client side.
	keys := clientKeys(t.Ops)
	v.Figures["keys"] = len(keys)
	clientFired, pairs := false, 0
	var first string
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			A, B := &keys[i], &keys[j]
			if !(A.firstReturn < B.lastInv && B.firstReturn < A.lastInv) {
				continue
			}
			pairs++
			if clientFired {
				continue
			}
			clientFired = true
			an := fmt.Sprintf("%s on timeline %d", t.NodeName(A.node), A.tl)
			bn := fmt.Sprintf("%s on timeline %d", t.NodeName(B.node), B.tl)
			first = fmt.Sprintf("%s and %s both acknowledged writes in overlapping time", an, bn)
			ops := t.Ops
			ev.add(opEvidence(t, &ops[A.firstRetOp], fmt.Sprintf("first write acknowledged by %s, at %s, before write %d to %s was invoked", an, fmtS(A.firstReturn), ops[B.lastInvOp].ID, bn)))
			ev.add(opEvidence(t, &ops[B.lastInvOp], fmt.Sprintf("last write invoked (at %s) that %s acknowledged", fmtS(B.lastInv), bn)))
			ev.add(opEvidence(t, &ops[B.firstRetOp], fmt.Sprintf("first write acknowledged by %s, at %s, before write %d to %s was invoked", bn, fmtS(B.firstReturn), ops[A.lastInvOp].ID, an)))
			ev.add(opEvidence(t, &ops[A.lastInvOp], fmt.Sprintf("last write invoked (at %s) that %s acknowledged", fmtS(A.lastInv), an)))
		}
	}
	v.Figures["client_side_evaluated"] = len(keys) > 0
	v.Figures["client_side"] = clientFired
	v.Figures["interleaving_pairs"] = pairs

	// Server side.
	serverFired := false
	var overlap time.Duration
	var firstServer string
	if len(t.Observations) > 0 {
		runs := primaryRuns(t)
		slices.SortStableFunc(runs, func(a, b primaryRun) int { return cmp.Compare(a.start, b.start) })
		var active []primaryRun
		for _, r := range runs {
			keep := active[:0]
			for _, p := range active {
				if p.end >= r.start {
					keep = append(keep, p)
				}
			}
			active = keep
			for _, p := range active {
				if p.inst == r.inst {
					continue
				}
				overlap += min(p.end, r.end) - r.start
				if !serverFired {
					firstServer = fmt.Sprintf("the monitor saw %s and %s both out of recovery from %s to %s",
						instanceName(t, p.inst), instanceName(t, r.inst), fmtS(r.start), fmtS(min(p.end, r.end)))
				}
				serverFired = true
				ev.add(history.Evidence{
					What: fmt.Sprintf("%s was primary (reachable, not in recovery) from %s to %s while %s was from %s to %s",
						instanceName(t, p.inst), fmtS(p.start), fmtS(p.end), instanceName(t, r.inst), fmtS(r.start), fmtS(r.end)),
					Node: instanceName(t, r.inst), Timeline: r.tl,
				})
			}
			active = append(active, r)
		}
		v.Figures["server_side_evaluated"] = true
	}
	v.Figures["server_side"] = serverFired
	v.Figures["server_side_overlap_s"] = seconds(overlap)
	v.Evidence = ev.list

	switch {
	case clientFired || serverFired:
		v.Status = history.Failed
		v.Summary = "split brain: " + first
		if !clientFired {
			v.Summary = "split brain: " + firstServer
		} else if serverFired {
			v.Summary += "; " + firstServer
		}
	case len(keys) == 0 && len(t.Observations) == 0:
		return undecided(v, "no write was acknowledged and the monitor recorded nothing")
	case len(t.Observations) == 0:
		v.Summary = fmt.Sprintf("acknowledgements from %s never interleave (no monitor record: server side not evaluated)", plural(len(keys), "node/timeline pair", "node/timeline pairs"))
	case len(keys) == 0:
		v.Summary = "the monitor never saw two primaries at once (no acknowledged write: client side not evaluated)"
	default:
		v.Summary = fmt.Sprintf("acknowledgements from %s never interleave and the monitor never saw two primaries at once", plural(len(keys), "node/timeline pair", "node/timeline pairs"))
	}
	return v
}

// clientKeys groups the acknowledged writes by node and timeline.
func clientKeys(ops []history.Op) []ackKey {
	var keys []ackKey
	var index map[uint64]int // only consulted when the key changes
	cur := -1
	for i := range ops {
		op := &ops[i]
		if op.Outcome != history.OK {
			continue
		}
		if cur < 0 || keys[cur].node != op.Node || keys[cur].tl != op.Timeline {
			k := uint64(op.Node)<<32 | uint64(op.Timeline)
			if index == nil {
				index = map[uint64]int{}
			}
			c, ok := index[k]
			if !ok {
				c = len(keys)
				index[k] = c
				keys = append(keys, ackKey{node: op.Node, tl: op.Timeline,
					firstReturn: op.Return, firstRetOp: i, lastInv: op.Invoke, lastInvOp: i})
			}
			cur = c
		}
		k := &keys[cur]
		if op.Return < k.firstReturn {
			k.firstReturn, k.firstRetOp = op.Return, i
		}
		if op.Invoke >= k.lastInv {
			k.lastInv, k.lastInvOp = op.Invoke, i
		}
	}
	return keys
}

// primaryRuns returns, per instance, the maximal runs of consecutive
// observations that saw it as primary.
func primaryRuns(t *history.Trial) []primaryRun {
	obs := t.Observations
	order := obsByTime(obs)
	n := 0
	for _, o := range obs {
		n = max(n, int(o.Instance)+1)
	}
	open := make([]int, n) // 1 + index into runs of the instance's open run
	var runs []primaryRun
	for _, oi := range order {
		o := &obs[oi]
		if !primaryObs(o) {
			open[o.Instance] = 0
			continue
		}
		if r := open[o.Instance]; r > 0 {
			runs[r-1].end = o.At
			runs[r-1].tl = max(runs[r-1].tl, o.Timeline)
			continue
		}
		runs = append(runs, primaryRun{inst: o.Instance, start: o.At, end: o.At, tl: o.Timeline})
		open[o.Instance] = len(runs)
	}
	return runs
}
