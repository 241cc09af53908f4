package assert

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// SplitBrain is the split-brain check: two servers accepted writes in
// overlapping time. A server is what the server says it is, never the
// address a client used: its identity is the system identifier and the
// postmaster's start time (history.Node.Identity; an older ledger without
// them falls back to the address). It weighs three kinds of evidence;
// any fails the check.
//
// Client side, from the ledger: acknowledged writes are grouped by key =
// (identity of the acknowledging server, timeline). For a key K,
// firstReturn(K) is the earliest acknowledgement and lastInvoke(K) the
// latest invocation of its writes. Key A happens before key B when
// firstReturn(A) < lastInvoke(B): a write acknowledged by A completed before
// a write acknowledged by B was sent. Keys A and B interleave, and prove a
// split brain, when A happens before B and B happens before A. A clean
// failover (every write of A before every write of B) never interleaves,
// however slow its writes; one server reached through two addresses is one
// key. Evidence: the four writes of the proof.
//
// Server side, from the monitor: for each server (the identity the
// observation recorded, else the monitored instance), the maximal runs of
// its consecutive observations (in time order) that saw it reachable and
// not in recovery are intervals [s, e]; a server with an identity is not
// cut by polls that could not reach it (one postmaster seen primary twice
// was primary in between), an unidentified instance is. Runs of two different servers prove
// two primaries at once when they overlap for a positive time
// (max(s1, s2) < min(e1, e2)) or one lies strictly inside the other
// (s1 < s2 <= e2 < e1: seen primary before and after the other was).
// The tolerance is one poll: runs that merely touch (e1 == s2), as a
// failover seen by two polls at the same instant, prove nothing. Two
// monitored instances that are one server never count. Without recorded
// identities (older records) a server demoted and promoted again between
// two polls cannot be seen, so the proof assumes it was not.
//
// Final state: two or more readable primaries that are different servers
// (history.Authority's Primaries) are a split brain at the end, whatever the
// monitor saw.
//
// Without monitor observations the server side is not evaluated and the
// check is unknown unless another kind of evidence failed it. Figures:
// "client_side", "server_side", "final_state" (whether each fired),
// "client_side_evaluated", "server_side_evaluated", "keys" (identity/
// timeline keys), "interleaving_pairs", "server_side_overlap_s" (total
// time two primaries overlapped) and "final_primaries".
type SplitBrain struct{}

// Name returns "split-brain".
func (SplitBrain) Name() string { return history.CheckSplitBrain }

// ackKey is the acknowledgements of one server on one timeline.
type ackKey struct {
	node                  history.NodeID // the first node of the server seen
	server                int32          // index of the server's identity
	tl                    uint32
	firstReturn, lastInv  time.Duration
	firstRetOp, lastInvOp int
}

// primaryRun is an interval in which the monitor saw one instance as primary.
type primaryRun struct {
	inst       history.InstanceID
	server     int64 // Trial.Errors index of its identity, or -1 - instance
	start, end time.Duration
	tl         uint32
}

// Check looks for interleaving acknowledgements and overlapping primaries.
func (SplitBrain) Check(t *history.Trial, cfg Config) history.Verdict {
	cfg = cfg.withDefaults()
	v := newVerdict(history.CheckSplitBrain)
	v.Figures["client_side"] = false
	v.Figures["server_side"] = false
	v.Figures["final_state"] = false
	v.Figures["client_side_evaluated"] = false
	v.Figures["server_side_evaluated"] = false
	if t == nil {
		return undecided(v, "no trial")
	}
	ev := newEvidence(cfg.MaxEvidence)

	// Client side.
	keys := clientKeys(t)
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
				if p.server == r.server {
					continue
				}
				// r.start >= p.start (sorted): positive overlap, or r a
				// point strictly inside p.
				lo, hi := r.start, min(p.end, r.end)
				if !(lo < hi || (p.start < r.start && r.end < p.end)) {
					continue
				}
				overlap += hi - lo
				if !serverFired {
					firstServer = fmt.Sprintf("the monitor saw %s and %s both out of recovery from %s to %s",
						instanceName(t, p.inst), instanceName(t, r.inst), fmtS(lo), fmtS(hi))
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

	// Final state.
	finalFired := false
	var finalMsg string
	if t.Final != nil {
		au := authority(t)
		names := make([]string, 0, len(au.Primaries))
		for _, p := range au.Primaries {
			names = append(names, finalName(t.Final, p))
		}
		v.Figures["final_primaries"] = names
		if len(names) > 1 {
			finalFired = true
			finalMsg = fmt.Sprintf("%d different servers were primaries in the final state (%s)", len(names), strings.Join(names, ", "))
			ev.add(history.Evidence{What: finalMsg})
		}
	}
	v.Figures["final_state"] = finalFired
	v.Evidence = ev.list

	switch {
	case clientFired || serverFired || finalFired:
		v.Status = history.Failed
		var parts []string
		for _, p := range []struct {
			on  bool
			msg string
		}{{clientFired, first}, {serverFired, firstServer}, {finalFired, finalMsg}} {
			if p.on {
				parts = append(parts, p.msg)
			}
		}
		v.Summary = "split brain: " + strings.Join(parts, "; ")
	case len(t.Observations) == 0:
		return undecided(v, fmt.Sprintf("the monitor recorded nothing, so the server side was not evaluated (acknowledgements from %s never interleave)", plural(len(keys), "server/timeline pair", "server/timeline pairs")))
	case len(keys) == 0:
		v.Summary = "the monitor never saw two primaries at once (no acknowledged write: client side not evaluated)"
	default:
		v.Summary = fmt.Sprintf("acknowledgements from %s never interleave and the monitor never saw two primaries at once", plural(len(keys), "server/timeline pair", "server/timeline pairs"))
	}
	return v
}

// clientKeys groups the acknowledged writes by server identity and
// timeline.
func clientKeys(t *history.Trial) []ackKey {
	ops := t.Ops
	// The server of each node: nodes with one identity share an index.
	server := make([]int32, len(t.Nodes))
	ids := map[string]int32{}
	for n, nd := range t.Nodes {
		id := nd.Identity()
		x, ok := ids[id]
		if !ok {
			x = int32(len(ids))
			ids[id] = x
		}
		server[n] = x
	}
	serverOf := func(n history.NodeID) int32 {
		if int(n) < len(server) {
			return server[n]
		}
		return -1 - int32(n)
	}
	var keys []ackKey
	var index map[uint64]int // only consulted when the key changes
	cur := -1
	var curNode history.NodeID
	for i := range ops {
		op := &ops[i]
		if op.Outcome != history.OK {
			continue
		}
		if cur < 0 || curNode != op.Node || keys[cur].tl != op.Timeline {
			sv := serverOf(op.Node)
			k := uint64(uint32(sv))<<32 | uint64(op.Timeline)
			if index == nil {
				index = map[uint64]int{}
			}
			c, ok := index[k]
			if !ok {
				c = len(keys)
				index[k] = c
				keys = append(keys, ackKey{node: op.Node, server: sv, tl: op.Timeline,
					firstReturn: op.Return, firstRetOp: i, lastInv: op.Invoke, lastInvOp: i})
			}
			cur, curNode = c, op.Node
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

// primaryRuns returns the maximal runs of consecutive observations that saw
// a server as primary. A server with a recorded identity (one postmaster) is
// keyed by it, across every monitored instance that reaches it, and its run
// is not broken by a poll that could not reach it: a postmaster seen primary
// twice was primary in between (leaving that role takes a restart, a new
// identity). Without an identity the key is the monitored instance and an
// unreachable poll ends the run (it may have restarted unseen).
func primaryRuns(t *history.Trial) []primaryRun {
	obs := t.Observations
	order := obsByTime(obs)
	open := map[int64]int{} // server key -> 1 + index into runs of its open run
	var runs []primaryRun
	for _, oi := range order {
		o := &obs[oi]
		key := -1 - int64(o.Instance)
		if o.Ident != 0 {
			key = int64(o.Ident)
		}
		if !primaryObs(o) {
			// A server seen in recovery, or an unidentified instance not
			// reached: its run ends.
			delete(open, key)
			continue
		}
		if r := open[key]; r > 0 {
			runs[r-1].end = o.At
			runs[r-1].tl = max(runs[r-1].tl, o.Timeline)
			continue
		}
		runs = append(runs, primaryRun{inst: o.Instance, server: key, start: o.At, end: o.At, tl: o.Timeline})
		open[key] = len(runs)
	}
	return runs
}
