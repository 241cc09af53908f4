package assert

// The independent oracle of the generated-history proofs: the semantics of
// issue 12, written as directly as possible (quadratic where that is
// clearest), sharing no code with the checkers. Where the semantics leave
// a case open, the oracle takes the strictest sound reading; each such
// reading is marked "reading:".

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// oConfig applies the documented defaults.
func oConfig(c Config) Config {
	if c.RTOBudget <= 0 {
		c.RTOBudget = 30 * time.Second
	}
	if c.GapThreshold <= 0 {
		c.GapThreshold = time.Second
	}
	if c.ReplicationBudget <= 0 {
		c.ReplicationBudget = 60 * time.Second
	}
	return c
}

// oAuth is the oracle's reading of the final-state authority rule.
type oAuth struct {
	undecidable bool
	primaries   []int // one per distinct server
	index       int   // the one primary, or -1
	foreign     map[int]bool
}

func oName(f *history.FinalState, i int) string {
	in := &f.Instances[i]
	switch {
	case in.Name != "":
		return in.Name
	case in.Server != "":
		return in.Server
	}
	return fmt.Sprintf("instance %d", i)
}

// oLedgerSysIDs lists the system identifiers of the ledger's nodes.
func oLedgerSysIDs(t *history.Trial) []string {
	var ids []string
	for _, n := range t.Nodes {
		if n.SystemID != "" && !slices.Contains(ids, n.SystemID) {
			ids = append(ids, n.SystemID)
		}
	}
	return ids
}

// oAuthority: foreign instances ignored; a reachable primary whose read
// failed or whose table is missing makes it undecidable; one server listed
// twice counts once (the smaller name stands for it); exactly one readable
// primary is the authority; none is undecidable.
func oAuthority(t *history.Trial) oAuth {
	a := oAuth{index: -1, foreign: map[int]bool{}}
	f := t.Final
	if f == nil || len(f.Instances) == 0 {
		a.undecidable = true
		return a
	}
	ids := oLedgerSysIDs(t)
	broken := false
	byID := map[string]int{}
	for i := range f.Instances {
		in := &f.Instances[i]
		if in.SystemID != "" && len(ids) > 0 && !slices.Contains(ids, in.SystemID) {
			a.foreign[i] = true
			continue
		}
		readable := in.Reachable && in.Error == "" && !in.TableMissing
		if in.Primary && in.Reachable && !readable {
			broken = true
		}
		if !readable || !in.Primary {
			continue
		}
		if in.Started != "" {
			id := in.SystemID + "@" + in.Started
			if j, ok := byID[id]; ok {
				if oName(f, i) < oName(f, j) {
					a.primaries[slices.Index(a.primaries, j)] = i
					byID[id] = i
				}
				continue
			}
			byID[id] = i
		}
		a.primaries = append(a.primaries, i)
	}
	a.undecidable = broken || len(a.primaries) == 0
	if !broken && len(a.primaries) == 1 {
		a.index = a.primaries[0]
	}
	return a
}

// oReadable lists the readable, non-foreign instances of the final state.
func oReadable(t *history.Trial, au oAuth) []int {
	var out []int
	if t.Final == nil {
		return nil
	}
	for i := range t.Final.Instances {
		in := &t.Final.Instances[i]
		if in.Reachable && in.Error == "" && !au.foreign[i] {
			out = append(out, i)
		}
	}
	return out
}

func oHas(rs []history.IDRange, id int64) bool {
	for _, r := range rs {
		if r.First <= id && id <= r.Last {
			return true
		}
	}
	return false
}

// oExpect is the oracle's verdict: the status and the figures it pins.
type oExpect struct {
	status  history.Status
	figures map[string]float64
	why     string
}

// oLost: lost-acked-writes.
func oLost(t *history.Trial) oExpect {
	au := oAuthority(t)
	e := oExpect{figures: map[string]float64{}}
	if au.undecidable {
		e.status, e.why = history.Undecided, "the authority is undecidable"
		return e
	}
	lost := math.MaxInt
	for _, p := range au.primaries {
		n := 0
		for _, op := range t.Ops {
			if op.Outcome == history.OK && !oHas(t.Final.Instances[p].Present, op.ID) {
				n++
			}
		}
		lost = min(lost, n)
	}
	e.figures["lost"] = float64(lost)
	switch {
	case lost > 0:
		e.status = history.Failed
	case len(au.primaries) > 1:
		e.status, e.why = history.Undecided, "several primaries; one of them holds every acknowledged write"
	default:
		e.status = history.Pass
	}
	return e
}

// oWindow is a window of unavailability.
type oWindow struct {
	s, e time.Duration
	open bool
}

type oUnavail struct {
	oExpect
	windows    []oWindow
	thr        time.Duration
	end        time.Duration
	acks       []time.Duration
	unobserved time.Duration
}

// oTrialEnd: the ledger's end, the last observation, the last fault
// injection or recovery, the last event, whichever is latest.
func oTrialEnd(t *history.Trial) time.Duration {
	end := t.End
	if !t.Truncated {
		// Spec amended (was disagreement D1): a complete ledger ends at its
		// end record. The workload stopped there; the monitor and the
		// fault log may go on (final read), but no write was attempted
		// after, so no unavailability can be observed there.
		return end
	}
	for _, o := range t.Observations {
		end = max(end, o.At)
	}
	for _, f := range t.Faults {
		end = max(end, f.Injected, f.Recovered)
	}
	for _, e := range t.Events {
		end = max(end, e.At)
	}
	return end
}

// oUnavailability: unavailability.
func oUnavailability(t *history.Trial, cfg Config) oUnavail {
	return oUnavailabilityEnd(t, cfg, oTrialEnd(t))
}

// oUnavailabilityEnd is oUnavailability with the trial's end given (to
// name a disagreement: the checker's end of a complete ledger is its end
// record).
func oUnavailabilityEnd(t *history.Trial, cfg Config, end time.Duration) oUnavail {
	cfg = oConfig(cfg)
	u := oUnavail{oExpect: oExpect{figures: map[string]float64{}}}
	if len(t.Ops) == 0 {
		u.status, u.why = history.Undecided, "no writes"
		return u
	}
	start := time.Duration(math.MaxInt64)
	for _, op := range t.Ops {
		start = min(start, op.Invoke)
		if op.Outcome == history.OK {
			u.acks = append(u.acks, op.Return)
		}
	}
	slices.Sort(u.acks)
	u.end = end
	var gaps []time.Duration
	for i := 1; i < len(u.acks); i++ {
		gaps = append(gaps, u.acks[i]-u.acks[i-1])
	}
	slices.Sort(gaps)
	var median time.Duration
	if len(gaps) > 0 {
		median = gaps[(len(gaps)-1)/2]
	}
	thr := max(cfg.GapThreshold, 10*median)
	u.thr = thr
	bounds := append(append([]time.Duration{start}, u.acks...), end)
	M := len(u.acks)
	// ackIn reports an acknowledgement strictly inside (a, b).
	ackIn := func(a, b time.Duration, pending bool) bool {
		for _, r := range u.acks {
			if r > a && (pending || r < b) {
				return true
			}
		}
		return false
	}
	for k := 0; k <= M; k++ {
		a, b := bounds[k], bounds[k+1]
		condA := false
		for _, op := range t.Ops {
			// reading: the last gap is closed at the trial's end, which a
			// truncated ledger's last invocation may be (the harness died
			// right after invoking it): [a, b) for the others.
			if op.Outcome == history.OK || op.Invoke < a || op.Invoke > b || (op.Invoke == b && k < M) {
				continue
			}
			if !ackIn(op.Invoke, op.Return, op.Outcome == history.Pending) {
				condA = true
				break
			}
		}
		var is bool
		switch {
		case M == 0:
			// reading: with no acknowledgement at all, the one gap is a
			// window when a write was attempted and never acknowledged
			// (condition (a)), whatever its length; it is open.
			is = condA
		case k == M:
			is = condA && b-a > thr
		default:
			is = condA || b-a > thr
		}
		if is {
			u.windows = append(u.windows, oWindow{s: a, e: b, open: k == M})
		}
	}
	failed := false
	openUndecided := false
	var maxW time.Duration
	for _, w := range u.windows {
		maxW = max(maxW, w.e-w.s)
		switch {
		case !w.open:
			failed = failed || w.e-w.s > cfg.RTOBudget
		case !t.Truncated:
			failed = true
		default:
			// reading: an open window of a truncated ledger fails when the
			// part the ledger observed is over the budget (writes failed
			// for longer than the budget), and is otherwise undecided (no
			// verdict before its budget elapsed): not a silent pass.
			if min(w.e, t.End)-w.s > cfg.RTOBudget {
				failed = true
			} else {
				openUndecided = true
			}
		}
	}
	if t.Truncated && end-t.End > thr {
		u.unobserved = end - t.End
	}
	u.figures["count"] = float64(len(u.windows))
	u.figures["windows_total"] = float64(len(u.windows))
	u.figures["max_s"] = seconds(maxW)
	switch {
	case failed:
		u.status = history.Failed
	case u.unobserved > 0:
		u.status, u.why = history.Undecided, "the truncated ledger's tail was unobserved"
	case openUndecided:
		u.status, u.why = history.Undecided, "an open window in a truncated ledger, under the budget"
	default:
		u.status = history.Pass
	}
	return u
}

// oSplitBrain: split-brain.
type oSplit struct {
	oExpect
	client, server, final bool
	proof                 string
}

func oSplitBrain(t *history.Trial) oSplit { return oSplitBrainRuns(t, false) }

// oSplitBrainRuns is oSplitBrain; perInstance (to name a disagreement)
// follows each monitored instance's observations instead of each server's.
func oSplitBrainRuns(t *history.Trial, perInstance bool) oSplit {
	s := oSplit{oExpect: oExpect{figures: map[string]float64{}}}
	// Client side.
	type key struct {
		id string
		tl uint32
	}
	type span struct{ firstRet, lastInv time.Duration }
	spans := map[key]*span{}
	for _, op := range t.Ops {
		if op.Outcome != history.OK {
			continue
		}
		id := fmt.Sprintf("node#%d", op.Node)
		if int(op.Node) < len(t.Nodes) {
			id = t.Nodes[op.Node].Identity()
		}
		k := key{id, op.Timeline}
		sp := spans[k]
		if sp == nil {
			sp = &span{firstRet: op.Return, lastInv: op.Invoke}
			spans[k] = sp
		}
		sp.firstRet = min(sp.firstRet, op.Return)
		sp.lastInv = max(sp.lastInv, op.Invoke)
	}
	var ks []*span
	for _, sp := range spans {
		ks = append(ks, sp)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[i].firstRet < ks[j].lastInv && ks[j].firstRet < ks[i].lastInv {
				s.client = true
			}
		}
	}
	// Server side: observations by server (the recorded identity, else the
	// monitored instance), in time order (record order among equal times).
	if len(t.Observations) > 0 {
		order := make([]int, len(t.Observations))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(t.Observations[a].At, t.Observations[b].At) })
		type run struct {
			server     string
			start, end time.Duration
		}
		var runs []run
		open := map[string]int{} // server -> 1 + index of its open run
		for _, i := range order {
			o := &t.Observations[i]
			srv := fmt.Sprintf("instance#%d", o.Instance)
			if o.Ident != 0 {
				srv = "ident:" + t.Error(o.Ident)
			}
			seq := srv
			if perInstance {
				seq = fmt.Sprintf("instance#%d", o.Instance)
			}
			if !(o.Reachable && !o.InRecovery) {
				open[seq] = 0
				continue
			}
			if r := open[seq]; r > 0 && runs[r-1].server == srv {
				runs[r-1].end = o.At
				continue
			}
			runs = append(runs, run{server: srv, start: o.At, end: o.At})
			open[seq] = len(runs)
		}
		for i := range runs {
			for j := range runs {
				a, b := runs[i], runs[j]
				if i == j || a.server == b.server {
					continue
				}
				if max(a.start, b.start) < min(a.end, b.end) || (a.start < b.start && b.end < a.end) {
					if !s.server {
						s.proof = fmt.Sprintf("%s primary %.6f-%.6f, %s primary %.6f-%.6f", a.server, a.start.Seconds(), a.end.Seconds(), b.server, b.start.Seconds(), b.end.Seconds())
					}
					s.server = true
				}
			}
		}
	}
	// Final state.
	if t.Final != nil && len(oAuthority(t).primaries) >= 2 {
		s.final = true
	}
	switch {
	case s.client || s.server || s.final:
		s.status = history.Failed
	case len(t.Observations) == 0:
		s.status, s.why = history.Undecided, "server side not evaluated"
	default:
		s.status = history.Pass
	}
	return s
}

// oRangeSet is a union of ranges, for counting ids that may be huge.
type oRangeSet []history.IDRange

func (s *oRangeSet) add(lo, hi int64) {
	if lo <= hi {
		*s = append(*s, history.IDRange{First: lo, Last: hi})
	}
}

func (s oRangeSet) size() int64 {
	rs := slices.Clone([]history.IDRange(s))
	slices.SortFunc(rs, func(a, b history.IDRange) int { return cmp.Compare(a.First, b.First) })
	var n int64
	cur := int64(math.MinInt64)
	for _, r := range rs {
		lo := max(r.First, cur+1)
		if r.Last >= lo {
			n += r.Last - lo + 1
		}
		cur = max(cur, r.Last)
	}
	return n
}

// oSlack is the truncated ledger's allowance: the clients (the header's or
// the ledger's distinct ones, whichever is more) + 2 x the most invocations
// in any one second ([x, x+1s): reading: the half-open second, the smaller
// and so stricter allowance).
func oSlack(t *history.Trial) int64 {
	clients := map[uint32]bool{}
	most := 0
	for i, op := range t.Ops {
		clients[op.Client] = true
		n := 0
		for _, o := range t.Ops[i:] {
			if o.Invoke >= op.Invoke && o.Invoke < op.Invoke+time.Second {
				n++
			}
		}
		most = max(most, n)
	}
	return int64(max(t.Meta.Clients, len(clients)) + 2*most)
}

type oPhantom struct {
	oExpect
	slack int64
}

// oPhantoms: phantom-writes.
func oPhantoms(t *history.Trial) oPhantom {
	p := oPhantom{oExpect: oExpect{figures: map[string]float64{}}}
	au := oAuthority(t)
	if t.Final == nil || len(t.Final.Instances) == 0 {
		p.status, p.why = history.Undecided, "no final state"
		return p
	}
	last := int64(len(t.Ops))
	bound := last
	if t.Truncated {
		p.slack = oSlack(t)
		bound = last + p.slack
	}
	var phantoms, beyond oRangeSet
	dups := map[int64]bool{}
	failed := map[int64]bool{}
	for _, i := range oReadable(t, au) {
		in := &t.Final.Instances[i]
		for _, r := range in.Present {
			phantoms.add(r.First, min(r.Last, 0))
			phantoms.add(max(r.First, bound+1), r.Last)
			if t.Truncated {
				beyond.add(max(r.First, last+1), min(r.Last, bound))
			}
		}
		for _, d := range in.Duplicates {
			if d.Count >= 2 {
				dups[d.ID] = true
			}
		}
		for _, op := range t.Ops {
			if op.Outcome == history.Fail && oHas(in.Present, op.ID) {
				failed[op.ID] = true
			}
		}
	}
	p.figures["phantoms"] = float64(phantoms.size())
	p.figures["duplicates"] = float64(len(dups))
	p.figures["failed_but_present"] = float64(len(failed))
	p.figures["beyond_truncated_ledger"] = float64(beyond.size())
	switch {
	case phantoms.size() > 0 || len(dups) > 0 || len(failed) > 0:
		p.status = history.Failed
	case au.undecidable:
		// reading: nothing offending was found on what could be read, but
		// the cluster's data (a primary) was not read: undecided, not pass.
		p.status, p.why = history.Undecided, "the authority is undecidable"
	default:
		p.status = history.Pass
	}
	return p
}

// oNum reads a numeric figure.
func oNum(v history.Verdict, name string) (float64, bool) {
	switch x := v.Figures[name].(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case uint32:
		return float64(x), true
	}
	return 0, false
}

// oCompare returns what differs between an oracle expectation and a
// verdict.
func oCompare(v history.Verdict, e oExpect) []string {
	var out []string
	if v.Status != e.status {
		out = append(out, fmt.Sprintf("%s: status %s, the oracle says %s (%s); summary %q reason %q", v.Name, v.Status, e.status, e.why, v.Summary, v.Reason))
	}
	if v.Status == e.status && e.status != history.Undecided {
		for name, want := range e.figures {
			got, ok := oNum(v, name)
			if !ok {
				out = append(out, fmt.Sprintf("%s: figure %q missing or not a number (%T)", v.Name, name, v.Figures[name]))
				continue
			}
			if math.Abs(got-want) > 1.5e-6 {
				out = append(out, fmt.Sprintf("%s: figure %q = %v, the oracle says %v", v.Name, name, got, want))
			}
		}
	}
	return out
}

// oCompareWindows compares the listed windows with the oracle's.
func oCompareWindows(v history.Verdict, u oUnavail) []string {
	ws, ok := v.Figures["windows"].([]history.Window)
	if !ok {
		return []string{fmt.Sprintf("unavailability: figure windows is %T", v.Figures["windows"])}
	}
	var out []string
	near := func(a float64, b time.Duration) bool { return math.Abs(a-seconds(b)) <= 1.5e-6 }
	match := func(w history.Window, o oWindow) bool {
		return near(w.StartS, o.s) && near(w.EndS, o.e) && w.Open == o.open && near(w.Seconds, o.e-o.s)
	}
	if len(ws) > len(u.windows) {
		out = append(out, fmt.Sprintf("unavailability: %d windows listed, the oracle finds %d", len(ws), len(u.windows)))
	}
	if len(ws) == len(u.windows) {
		for i := range ws {
			if !match(ws[i], u.windows[i]) {
				out = append(out, fmt.Sprintf("unavailability: window %d is %+v, the oracle's is [%.6f, %.6f] open %v", i, ws[i], u.windows[i].s.Seconds(), u.windows[i].e.Seconds(), u.windows[i].open))
				break
			}
		}
	} else if len(u.windows) <= 10 {
		out = append(out, fmt.Sprintf("unavailability: %d windows listed, the oracle finds %d (%v)", len(ws), len(u.windows), u.windows))
	} else {
		for _, w := range ws {
			if !slices.ContainsFunc(u.windows, func(o oWindow) bool { return match(w, o) }) {
				out = append(out, fmt.Sprintf("unavailability: listed window %+v is not one of the oracle's", w))
				break
			}
		}
	}
	// No window holds an acknowledgement strictly inside.
	for _, w := range ws {
		for _, r := range u.acks {
			if seconds(r) > w.StartS+1e-6 && seconds(r) < w.EndS-1e-6 {
				out = append(out, fmt.Sprintf("unavailability: window %+v holds the acknowledgement at %.6f", w, r.Seconds()))
				break
			}
		}
	}
	return out
}
