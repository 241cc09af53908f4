package assert

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// LostAckedWrites is the RPO check (lost-acked-writes): every write the
// ledger records as acknowledged (outcome ok) must be present in the
// authoritative instance of the final state, chosen by
// history.FinalState.Authority with the system identifiers of the ledger's
// nodes (an order-independent rule: the one readable primary; instances of
// another database system ignored; one server listed twice counts once).
//
// It is unknown when the rule finds the data undecidable: no final state,
// no readable primary (replicas are never silently taken instead), a
// primary whose read failed or whose table is missing. With two or more
// readable primaries at the end (a split brain), the ledger is judged
// against each: "lost" is the least loss any of them would give; the check
// fails when every primary misses acknowledged writes (whichever wins, data
// is lost) and is unknown when one of them holds them all.
//
// Figures:
//   - "lost": acknowledged writes absent (always present, 0 on pass);
//   - "acked": acknowledged writes in the ledger;
//   - "authoritative": the instance whose data was compared (with several
//     primaries: the one giving the least loss);
//   - "lost_by_primary": with several primaries, name -> lost against it;
//   - "lost_by_node": node name -> lost writes it had acknowledged;
//   - "missing_on_replicas": every other readable instance -> acknowledged
//     writes absent from it (informational: a lagging replica does not fail
//     the check);
//   - when lost > 0: "first_lost_s", "last_lost_s" (acknowledgement times of
//     the first and last lost write) and "span_s" between them, and
//     "wal_bytes": take the lost write with the greatest LSN (Lmax, on
//     timeline T); wal_bytes = Lmax - the greatest LSN <= Lmax of a
//     surviving acknowledged write on T, at least 0. With no surviving write
//     on T it is Lmax - the smallest LSN of a lost write on T: the WAL the
//     lost writes themselves span, a lower bound.
type LostAckedWrites struct{}

// Name returns "lost-acked-writes".
func (LostAckedWrites) Name() string { return history.CheckLostAckedWrites }

// Check compares the ledger's acknowledged writes with the final state.
func (LostAckedWrites) Check(t *history.Trial, cfg Config) history.Verdict {
	cfg = cfg.withDefaults()
	v := newVerdict(history.CheckLostAckedWrites)
	v.Figures["lost"] = 0
	if t == nil {
		return undecided(v, "no trial")
	}
	ops := t.Ops
	au := authority(t)
	auth := au.Index
	if au.Undecidable || (auth < 0 && len(au.Primaries) < 2) {
		acked := 0
		for i := range ops {
			if ops[i].Outcome == history.OK {
				acked++
			}
		}
		v.Figures["acked"] = acked
		return undecided(v, au.Reason)
	}
	var byPrimary map[string]int
	if auth < 0 {
		// Several primaries: judge against the one that loses least.
		byPrimary = map[string]int{}
		for _, p := range au.Primaries {
			n := countAbsent(ops, t.Final.Instances[p].Present)
			byPrimary[finalName(t.Final, p)] = n
			if auth < 0 || n < byPrimary[finalName(t.Final, auth)] {
				auth = p
			}
		}
		v.Figures["lost_by_primary"] = byPrimary
	}
	authName := finalName(t.Final, auth)
	authCur := idCursor{s: newIDSet(t.Final.Instances[auth].Present)}
	type other struct {
		name    string
		cur     idCursor
		missing int
	}
	var others []other
	for i := range t.Final.Instances {
		if i != auth && reachable(&t.Final.Instances[i]) && !slices.Contains(au.Foreign, i) {
			others = append(others, other{name: finalName(t.Final, i), cur: idCursor{s: newIDSet(t.Final.Instances[i].Present)}})
		}
	}
	lostByNode := make([]int, len(t.Nodes)+1) // the last slot: unknown nodes
	ev := newEvidence(cfg.MaxEvidence)
	// The greatest surviving LSN of each timeline, for wal_bytes.
	type tlMax struct {
		tl  uint32
		lsn history.LSN
	}
	var survived []tlMax
	cur := -1
	var (
		acked, lost         int
		firstLost, lastLost time.Duration = math.MaxInt64, math.MinInt64
		maxLostLSN          history.LSN
		maxLostTL           uint32
	)
	for i := range ops {
		op := &ops[i]
		if op.Outcome != history.OK {
			continue
		}
		acked++
		for j := range others {
			if !others[j].cur.has(op.ID) {
				others[j].missing++
			}
		}
		if authCur.has(op.ID) {
			if cur < 0 || survived[cur].tl != op.Timeline {
				cur = slices.IndexFunc(survived, func(s tlMax) bool { return s.tl == op.Timeline })
				if cur < 0 {
					cur = len(survived)
					survived = append(survived, tlMax{tl: op.Timeline})
				}
			}
			survived[cur].lsn = max(survived[cur].lsn, op.LSN)
			continue
		}
		lost++
		firstLost, lastLost = min(firstLost, op.Return), max(lastLost, op.Return)
		if lost == 1 || op.LSN > maxLostLSN {
			maxLostLSN, maxLostTL = op.LSN, op.Timeline
		}
		if int(op.Node) < len(t.Nodes) {
			lostByNode[op.Node]++
		} else {
			lostByNode[len(t.Nodes)]++
		}
		if !ev.full() {
			ev.add(opEvidence(t, op, fmt.Sprintf("acknowledged at %s by %s on timeline %d, absent from %s",
				fmtS(op.Return), t.NodeName(op.Node), op.Timeline, authName)))
		} else {
			ev.omitted++
		}
	}
	byNode := map[string]int{}
	for n, c := range lostByNode {
		if c == 0 {
			continue
		}
		name := "-"
		if n < len(t.Nodes) {
			name = t.NodeName(history.NodeID(n))
		}
		byNode[name] += c
	}
	onReplicas := map[string]int{}
	for _, o := range others {
		onReplicas[o.name] += o.missing
	}
	v.Figures["lost"] = lost
	v.Figures["acked"] = acked
	v.Figures["authoritative"] = authName
	v.Figures["lost_by_node"] = byNode
	v.Figures["missing_on_replicas"] = onReplicas
	v.Evidence = ev.list
	if lost == 0 {
		v.Summary = fmt.Sprintf("all %s present on %s", plural(acked, "acknowledged write", "acknowledged writes"), authName)
		if byPrimary != nil {
			return undecided(v, fmt.Sprintf("%s; every acknowledged write is on %s, so the loss depends on which primary prevails", au.Reason, authName))
		}
		return v
	}
	var walBytes int64
	if i := slices.IndexFunc(survived, func(s tlMax) bool { return s.tl == maxLostTL }); i >= 0 && survived[i].lsn <= maxLostLSN {
		// Every surviving write on the timeline is below the last lost one:
		// the usual case, decided without reading the ledger again.
		walBytes = int64(maxLostLSN - survived[i].lsn)
	} else {
		walBytes = lostWALBytes(ops, authCur.s, maxLostLSN, maxLostTL)
	}
	v.Status = history.Failed
	v.Figures["first_lost_s"] = seconds(firstLost)
	v.Figures["last_lost_s"] = seconds(lastLost)
	v.Figures["span_s"] = seconds(lastLost - firstLost)
	v.Figures["wal_bytes"] = walBytes
	v.Summary = fmt.Sprintf("%d of %d acknowledged writes lost (acknowledged %s to %s, %d bytes of WAL), absent from %s",
		lost, acked, fmtS(firstLost), fmtS(lastLost), walBytes, authName)
	if byPrimary != nil {
		v.Summary = fmt.Sprintf("%d primaries at the end and each misses acknowledged writes: at least %d of %d lost whichever prevails (%d absent from %s)",
			len(byPrimary), lost, acked, lost, authName)
	}
	return v
}

// countAbsent counts the acknowledged writes of ops absent from present.
func countAbsent(ops []history.Op, present []history.IDRange) int {
	cur := idCursor{s: newIDSet(present)}
	n := 0
	for i := range ops {
		if ops[i].Outcome == history.OK && !cur.has(ops[i].ID) {
			n++
		}
	}
	return n
}

// lostWALBytes measures the WAL between the last surviving acknowledged write
// and the last lost one on the lost one's timeline (see LostAckedWrites).
func lostWALBytes(ops []history.Op, present idSet, maxLost history.LSN, tl uint32) int64 {
	cur := idCursor{s: present}
	var surv, minLost history.LSN
	found, foundLost := false, false
	for i := range ops {
		op := &ops[i]
		if op.Outcome != history.OK || op.Timeline != tl || op.LSN > maxLost {
			continue
		}
		if cur.has(op.ID) {
			if !found || op.LSN > surv {
				surv, found = op.LSN, true
			}
		} else if !foundLost || op.LSN < minLost {
			minLost, foundLost = op.LSN, true
		}
	}
	if !found {
		surv = minLost
	}
	if surv >= maxLost {
		return 0
	}
	return int64(maxLost - surv)
}
