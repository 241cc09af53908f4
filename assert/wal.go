package assert

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// WALContinuity is the wal-continuity check, on the final state's reachable
// instances:
//
//	(i) they share one timeline history: for every pair, the entries their
//	    histories both have agree (same timeline, same switch LSN, and the
//	    same child timeline, which is the next entry's timeline or the
//	    instance's own);
//	(ii) every one is on the newest timeline: the greatest among them, the
//	    timelines writes were acknowledged on and the timelines the monitor
//	    saw a primary on (an unreachable newer primary does not make an
//	    older one newest). A replica behind on an older timeline whose WAL
//	    does not run past that timeline's end may still follow: it fails
//	    only when the final read came at least Config.ReplicationBudget
//	    after the newest timeline was first seen (by an acknowledgement or
//	    the monitor), and is undecided before that, or when no record dates
//	    the newest timeline. A primary on an older timeline, or a WAL past
//	    the switch point (diverged), fails at once;
//	(iii) every fork is at or after the last surviving acknowledged write:
//	    for each switch {TLI, SwitchLSN} of the authoritative instance's
//	    history, every write acknowledged on timeline TLI whose id is present
//	    in the authoritative instance has LSN < SwitchLSN (a surviving write
//	    past the fork means the histories diverged).
//
// It fails on any of these, with evidence. An instance on a timeline above 1
// whose history could not be read (HistoryError, or no history) leaves its
// part undecided: the verdict is then unknown unless something else failed.
// It is unknown without a final state or a reachable instance. Archive
// continuity is not checked: the final state does not record the archive.
//
// Figures: "timelines" (instance -> timeline), "newest", and "forks": one
// entry per switch of the authoritative history, {"tli", "switch_lsn",
// "last_acked_lsn_on_tli" (the greatest acknowledged LSN on tli, "" when
// none), "acked_after_fork" (writes acknowledged on tli at or after the
// switch: lost by the fork), "survived_after_fork" (those of them present
// anyway: the violations of (iii))}.
type WALContinuity struct{}

// Name returns "wal-continuity".
func (WALContinuity) Name() string { return history.CheckWALContinuity }

// histEntry is a timeline switch with the child timeline it led to.
type histEntry struct {
	history.TimelineSwitch
	child uint32
}

func entries(in *history.InstanceState) []histEntry {
	out := make([]histEntry, len(in.History))
	for i, s := range in.History {
		out[i] = histEntry{TimelineSwitch: s, child: in.Timeline}
		if i+1 < len(in.History) {
			out[i].child = in.History[i+1].TLI
		}
	}
	return out
}

// historyUnknown says why an instance's timeline history is unusable, or "".
func historyUnknown(in *history.InstanceState) string {
	switch {
	case in.Timeline == 0:
		return "its timeline was not read"
	case in.Timeline > 1 && in.HistoryError != "":
		return "its timeline history could not be read: " + in.HistoryError
	case in.Timeline > 1 && len(in.History) == 0:
		return fmt.Sprintf("it is on timeline %d but no timeline history was read", in.Timeline)
	}
	return ""
}

// Check verifies that the instances share one continuous WAL history.
func (WALContinuity) Check(t *history.Trial, cfg Config) history.Verdict {
	cfg = cfg.withDefaults()
	v := newVerdict(history.CheckWALContinuity)
	v.Figures["forks"] = []map[string]any{}
	if t == nil {
		return undecided(v, "no trial")
	}
	au := authority(t)
	auth := au.Index
	if au.Undecidable {
		return undecided(v, au.Reason)
	}
	f := t.Final
	var reach []int
	timelines := map[string]uint32{}
	var newest uint32
	for i := range f.Instances {
		if in := &f.Instances[i]; reachable(in) {
			reach = append(reach, i)
			timelines[finalName(f, i)] = in.Timeline
			newest = max(newest, in.Timeline)
		}
	}
	finalNewest := newest
	for i := range t.Ops {
		if op := &t.Ops[i]; op.Outcome == history.OK {
			newest = max(newest, op.Timeline)
		}
	}
	for i := range t.Observations {
		if o := &t.Observations[i]; primaryObs(o) {
			newest = max(newest, o.Timeline)
		}
	}
	v.Figures["timelines"] = timelines
	v.Figures["newest"] = newest
	newestAt, dated := firstSeen(t, newest)
	ev := newEvidence(cfg.MaxEvidence)
	var fails, unknowns []string
	known := map[int]bool{}
	for _, i := range reach {
		if why := historyUnknown(&f.Instances[i]); why != "" {
			unknowns = append(unknowns, finalName(f, i)+": "+why)
		} else {
			known[i] = true
		}
	}

	// (i) one shared history.
	for x, i := range reach {
		for _, j := range reach[x+1:] {
			if !known[i] || !known[j] {
				continue
			}
			hi, hj := entries(&f.Instances[i]), entries(&f.Instances[j])
			for k := 0; k < min(len(hi), len(hj)); k++ {
				if hi[k] == hj[k] {
					continue
				}
				msg := fmt.Sprintf("%s and %s disagree on their timeline history: %s says %s, %s says %s",
					finalName(f, i), finalName(f, j), finalName(f, i), describeSwitch(hi[k]), finalName(f, j), describeSwitch(hj[k]))
				fails = append(fails, msg)
				ev.add(history.Evidence{What: msg, Node: finalName(f, j), Timeline: f.Instances[j].Timeline, LSN: hj[k].SwitchLSN.String()})
				break
			}
		}
	}

	// (ii) everyone on the newest timeline.
	allRead := true
	for _, i := range reach {
		allRead = allRead && f.Instances[i].Timeline != 0
	}
	if newest > finalNewest && allRead {
		msg := fmt.Sprintf("no reachable instance is on the newest timeline %d, which the ledger or the monitor saw (the final instances are on %d at most)", newest, finalNewest)
		fails = append(fails, msg)
		ev.add(history.Evidence{What: msg, Timeline: newest})
	}
	for _, i := range reach {
		in := &f.Instances[i]
		if in.Timeline == 0 || in.Timeline >= newest {
			continue
		}
		msg := fmt.Sprintf("%s is on timeline %d, not on the newest timeline %d", finalName(f, i), in.Timeline, newest)
		end, ok := switchOf(f, reach, known, in.Timeline)
		diverged := ok && in.LSN > end
		if diverged {
			msg += fmt.Sprintf(", and its WAL (at %s) runs past the point where timeline %d ended (%s): it diverged", in.LSN, in.Timeline, end)
		}
		if !diverged && !in.Primary && newest == finalNewest {
			switch {
			case !dated:
				unknowns = append(unknowns, msg+": no acknowledgement or monitor record dates the newest timeline, so whether it had time to follow is unknown")
				continue
			case readAt(t)-newestAt < cfg.ReplicationBudget:
				unknowns = append(unknowns, fmt.Sprintf("%s: the final read came %s after timeline %d was first seen, within the %s replication budget: it may still follow",
					msg, fmtS(readAt(t)-newestAt), newest, fmtBudget(cfg.ReplicationBudget)))
				continue
			}
		}
		fails = append(fails, msg)
		e := history.Evidence{What: msg, Node: finalName(f, i), Timeline: in.Timeline}
		if in.LSN != 0 {
			e.LSN = in.LSN.String()
		}
		ev.add(e)
	}

	// (iii) and (iv): forks against the ledger.
	forks := []map[string]any{}
	if auth >= 0 && known[auth] {
		a := &f.Instances[auth]
		st := forkStats(t.Ops, a, cfg.MaxEvidence)
		for k, s := range a.History {
			last := ""
			if st[k].acked > 0 {
				last = st[k].lastAcked.String()
			}
			forks = append(forks, map[string]any{
				"tli": s.TLI, "switch_lsn": s.SwitchLSN.String(), "last_acked_lsn_on_tli": last,
				"acked_after_fork": st[k].after, "survived_after_fork": st[k].survived,
			})
			if st[k].survived == 0 {
				continue
			}
			msg := fmt.Sprintf("%s acknowledged on timeline %d at or past its switch point %s present on %s: the history forked before them",
				plural(st[k].survived, "write", "writes"), s.TLI, s.SwitchLSN, finalName(f, auth))
			fails = append(fails, msg)
			for _, oi := range st[k].examples {
				if ev.full() {
					break
				}
				op := &t.Ops[oi]
				ev.add(opEvidence(t, op, fmt.Sprintf("acknowledged on timeline %d at %s, at or past the switch point %s, yet present on %s",
					s.TLI, op.LSN, s.SwitchLSN, finalName(f, auth))))
			}
		}
	}
	v.Figures["forks"] = forks
	v.Evidence = ev.list
	switch {
	case len(fails) > 0:
		v.Status = history.Failed
		v.Summary = fails[0]
		if len(fails) > 1 {
			v.Summary += fmt.Sprintf(" (and %d more)", len(fails)-1)
		}
	case len(unknowns) > 0:
		return undecided(v, strings.Join(unknowns, "; "))
	default:
		v.Summary = fmt.Sprintf("%s on timeline %d with one shared history; %s, none past a surviving write",
			plural(len(reach), "instance", "instances"), newest, plural(len(forks), "fork", "forks"))
	}
	return v
}

// readAt is when the final state was read; for a final state that did not
// record it, the trial's end (a lower bound: the read comes after).
func readAt(t *history.Trial) time.Duration {
	if t.Final.ReadAt > 0 {
		return t.Final.ReadAt
	}
	return trialEnd(t)
}

// firstSeen returns when timeline tl was first seen in use: the earliest
// acknowledgement on it or the monitor's first sight of a primary on it.
func firstSeen(t *history.Trial, tl uint32) (time.Duration, bool) {
	var at time.Duration
	found := false
	for i := range t.Ops {
		if op := &t.Ops[i]; op.Outcome == history.OK && op.Timeline == tl && (!found || op.Return < at) {
			at, found = op.Return, true
		}
	}
	for i := range t.Observations {
		if o := &t.Observations[i]; primaryObs(o) && o.Timeline == tl && (!found || o.At < at) {
			at, found = o.At, true
		}
	}
	return at, found
}

func describeSwitch(e histEntry) string {
	return fmt.Sprintf("timeline %d ended at %s and led to timeline %d", e.TLI, e.SwitchLSN, e.child)
}

// switchOf returns where timeline tli ended according to any known history.
func switchOf(f *history.FinalState, reach []int, known map[int]bool, tli uint32) (history.LSN, bool) {
	for _, i := range reach {
		if !known[i] {
			continue
		}
		for _, s := range f.Instances[i].History {
			if s.TLI == tli {
				return s.SwitchLSN, true
			}
		}
	}
	return 0, false
}

// forkStat is what the ledger says about one switch of a timeline history.
type forkStat struct {
	acked           int
	lastAcked       history.LSN
	after, survived int
	examples        []int // first surviving writes past the fork (op indices)
}

// forkStats walks the ledger once for every switch of in's history.
func forkStats(ops []history.Op, in *history.InstanceState, maxExamples int) []forkStat {
	hist := in.History
	st := make([]forkStat, len(hist))
	if len(hist) == 0 {
		return st
	}
	// Timeline -> entry, by a sorted index (histories are short).
	byTLI := make([]int, len(hist))
	for i := range byTLI {
		byTLI[i] = i
	}
	sort.SliceStable(byTLI, func(a, b int) bool { return hist[byTLI[a]].TLI < hist[byTLI[b]].TLI })
	find := func(tl uint32) int {
		j := sort.Search(len(byTLI), func(j int) bool { return hist[byTLI[j]].TLI >= tl })
		if j < len(byTLI) && hist[byTLI[j]].TLI == tl {
			return byTLI[j]
		}
		return -1
	}
	cur := idCursor{s: newIDSet(in.Present)}
	lastTL, lastK := uint32(0), -1
	if len(ops) > 0 {
		lastTL = ops[0].Timeline + 1 // force a lookup
	}
	for i := range ops {
		op := &ops[i]
		if op.Outcome != history.OK {
			continue
		}
		if op.Timeline != lastTL {
			lastTL, lastK = op.Timeline, find(op.Timeline)
		}
		if lastK < 0 {
			continue
		}
		s := &st[lastK]
		s.acked++
		s.lastAcked = max(s.lastAcked, op.LSN)
		if op.LSN < hist[lastK].SwitchLSN {
			continue
		}
		s.after++
		if cur.has(op.ID) {
			s.survived++
			if len(s.examples) < maxExamples {
				s.examples = append(s.examples, i)
			}
		}
	}
	return st
}
