package assert

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// Unavailability is the RTO check (unavailability): the windows in which no
// write was acknowledged although writes were being attempted.
//
// The acknowledged writes are ordered by return (acknowledgement) time and
// framed by a virtual first boundary, the first invocation, and a virtual
// last one, the trial's end. Between consecutive boundaries a and b lies a
// gap [a, b). A gap is a window of unavailability when:
//   - a write that failed, went unknown or stayed pending was invoked in it
//     (invoke in [a, b)) and no write was acknowledged while it was in
//     flight (none in (invoke, return); for a pending write, none after its
//     invocation), or
//   - it is longer than max(Config.GapThreshold, 10 × the median gap between
//     consecutive acknowledgements): writes stalled without failing.
//
// A window is, by definition, an interval in which no write was
// acknowledged: windows are never merged across an acknowledgement, so an
// acknowledgement is never inside one, and a slow but available period
// (one client whose every commit takes 1.2 s) is many short windows, not one
// long outage; the verdict does not depend on the number of clients.
// A write that was in flight while others were acknowledged does not by
// itself show that writes were unavailable: when a primary is killed, the
// commits it had in flight go unknown although other clients' writes were
// acknowledged after they were sent.
//
// The window is [a, b]: from the last acknowledged write before writes
// started failing to the first acknowledged write after. Before the first
// acknowledgement the window starts at the first invocation. After the last
// acknowledgement no write ever came back, so a window there is open and
// runs to the trial's end; it is reported only when failed writes were
// invoked in it and it is longer than the threshold above (shorter, it
// cannot be told from writes cut off by the workload's own stop).
//
// The trial's end is the ledger's end record. A truncated ledger (the
// harness died) has none: its end is the latest moment any record saw (the
// ledger, the monitor, the fault log). The time after the ledger's last
// record was observed by no client: when it is longer than the threshold
// the check is unknown for it (figure "unobserved_s"), and an open window
// there fails only if its part the ledger observed is over the budget.
//
// Partial availability is its own figure, never a failure: for each
// client, the intervals between two of its consecutive acknowledgements
// longer than the threshold while other clients' writes were acknowledged
// ("partial", "partial_count", "longest_client_stall_s" and its client).
//
// Each window is attributed to the fault, if any, whose [Injected,
// Recovered] (Recovered = the trial's end when never recovered) overlaps it,
// the latest injected when several do, and carries stages: fault-injected,
// failure-noticed (the earliest return of a failed write in it, or the
// invocation of an indeterminate one), every new-primary-elected,
// endpoint-switched and clients-redirected event in it, new-primary-observed
// (the monitor's first sight in it of a primary other than the one before
// it) and first-write-ok (its end).
//
// It fails when a window is open (in a complete ledger) or longer than
// Config.RTOBudget, passes otherwise (no window is a pass), and is unknown
// for a ledger without writes or an unobserved tail.
//
// Figures: "windows" (a []history.Window, empty when none; at most
// MaxWindowsListed, the longest, in time order), "windows_total", "count"
// (= windows_total), "max_s", "total_s", "budget_s", "threshold_s" (the
// effective gap threshold), "median_gap_s", "max_gap_s" (the largest gap
// between consecutive acknowledgements), "acked", "unobserved_s" and the
// partial-availability figures above.
type Unavailability struct{}

// Name returns "unavailability".
func (Unavailability) Name() string { return history.CheckUnavailability }

// MaxWindowsListed bounds the windows (and the partial stalls) a verdict
// lists; the totals count them all.
const MaxWindowsListed = 200

// Stage names of an unavailability window, besides the event kinds.
const (
	StageFaultInjected      = "fault-injected"
	StageFailureNoticed     = "failure-noticed"
	StageNewPrimaryObserved = "new-primary-observed"
	StageFirstWriteOK       = "first-write-ok"
)

// window is an unavailability window under construction: boundaries sK and
// eK of the ack timeline, and what the failed writes in it say.
type window struct {
	sK, eK          int
	open            bool
	failed, unknown int
	noticed         time.Duration // earliest failure noticed; MaxInt64 when none
	firstFail       int           // index of the first failed op in it, -1 when none
}

// Check finds the windows of unavailability of the trial.
func (Unavailability) Check(t *history.Trial, cfg Config) history.Verdict {
	cfg = cfg.withDefaults()
	v := newVerdict(history.CheckUnavailability)
	v.Figures["windows"] = []history.Window{}
	v.Figures["count"] = 0
	v.Figures["budget_s"] = seconds(cfg.RTOBudget)
	if t == nil {
		return undecided(v, "no trial")
	}
	if len(t.Ops) == 0 {
		return undecided(v, "the ledger holds no writes")
	}
	if len(t.Ops) > math.MaxInt32 {
		return undecided(v, fmt.Sprintf("the ledger holds %d writes, more than this checker handles (2^31-1)", len(t.Ops)))
	}
	ops := t.Ops
	ledgerEnd := t.End
	end := trialEnd(t)
	a := newAckTimeline(ops, end)
	m := a.m()

	// Mark the gaps in which a write that did not succeed was invoked, and
	// stayed in flight without another write being acknowledged.
	marks := make([]uint64, (m+1+63)/64)
	gc := gapCursor{a: a}
	for _, i := range a.others {
		op := &ops[i]
		k := gc.locate(op.Invoke)
		if k < m && (op.Outcome == history.Pending || a.at(k+1) < op.Return) {
			continue // writes were acknowledged while it was in flight
		}
		marks[k>>6] |= 1 << (k & 63)
	}
	median := a.medianGap()
	thr := max(cfg.GapThreshold, 10*median)

	// Turn marked and overlong gaps into windows.
	var wins []window
	var maxGap time.Duration
	prev := a.start
	for k := 0; k <= m; k++ {
		next := a.at(k + 1)
		gap := next - prev
		prev = next
		marked := marks[k>>6]&(1<<(k&63)) != 0
		var is bool
		switch {
		case k == m && m == 0:
			is = marked
		case k == m:
			is = marked && gap > thr
		default:
			is = marked || gap > thr
			if k > 0 {
				maxGap = max(maxGap, gap)
			}
		}
		if !is {
			continue
		}
		// Never merged: the acknowledgement between two windows is a
		// moment writes were available.
		wins = append(wins, window{sK: k, eK: k + 1, noticed: math.MaxInt64, firstFail: -1, open: k == m})
	}

	// Count the failed writes of each window.
	if len(wins) > 0 {
		wc := 0
		for _, i := range a.others {
			op := &ops[i]
			x := op.Invoke
			if x < a.at(wins[wc].sK) {
				wc = max(0, sort.Search(wc, func(j int) bool { return a.at(wins[j].sK) > x })-1)
			}
			for wc+1 < len(wins) && a.at(wins[wc+1].sK) <= x {
				wc++
			}
			w := &wins[wc]
			if x < a.at(w.sK) || (!w.open && x >= a.at(w.eK)) {
				continue
			}
			noticed := op.Invoke
			if op.Outcome == history.Fail {
				w.failed++
				noticed = op.Return
			} else {
				w.unknown++
			}
			w.noticed = min(w.noticed, noticed)
			if w.firstFail < 0 {
				w.firstFail = int(i)
			}
		}
	}

	st := newStager(t)
	st.end = end
	out := make([]history.Window, 0, min(len(wins), MaxWindowsListed))
	ev := newEvidence(cfg.MaxEvidence)
	var maxW, total time.Duration
	var worst *window
	openAt := -1
	failed, openFailed := false, false
	// A truncated ledger's tail after its last record was observed by no
	// client.
	var unobserved time.Duration
	if t.Truncated && end-ledgerEnd > thr {
		unobserved = end - ledgerEnd
	}
	for i := range wins {
		w := &wins[i]
		s, e := a.at(w.sK), a.at(w.eK)
		d := e - s
		hw := history.Window{
			StartS: seconds(s), EndS: seconds(e), Seconds: seconds(d), Open: w.open,
			Failed: w.failed, Unknown: w.unknown,
		}
		hw.Fault, hw.Stages = st.stages(s, e, w)
		out = append(out, hw)
		total += d
		if worst == nil || d > maxW {
			maxW, worst = d, w
		}
		over := d > cfg.RTOBudget
		if w.open && t.Truncated {
			// Only the part the ledger observed counts.
			over = min(e, ledgerEnd)-s > cfg.RTOBudget
		} else if w.open {
			over = true
		}
		if w.open && openAt < 0 {
			openAt = i
		}
		if !over {
			continue
		}
		failed = true
		openFailed = openFailed || w.open
		why := fmt.Sprintf("window %s to %s lasted %s, over the %s budget", fmtS(s), fmtS(e), fmtS(d), fmtBudget(cfg.RTOBudget))
		if w.open {
			why = fmt.Sprintf("window from %s never closed: no write was acknowledged again before the end at %s", fmtS(s), fmtS(e))
		}
		if op := a.ackOp(w.sK); op != nil {
			ev.add(opEvidence(t, op, "last write acknowledged before the unavailability; "+why))
		}
		if w.firstFail >= 0 {
			op := &ops[w.firstFail]
			what := "first write in the unavailability to go unanswered"
			if op.Outcome == history.Fail {
				what = "first write in the unavailability to fail"
			}
			if msg := t.Error(op.Err); msg != "" {
				what += ": " + msg
			}
			ev.add(opEvidence(t, op, what+"; "+why))
		}
		if op := a.ackOp(w.eK); op != nil && !w.open {
			ev.add(opEvidence(t, op, "first write acknowledged after the unavailability; "+why))
		}
	}
	v.Evidence = ev.list
	v.Figures["windows"] = longest(out, MaxWindowsListed)
	v.Figures["windows_total"] = len(out)
	v.Figures["count"] = len(out)
	v.Figures["max_s"] = seconds(maxW)
	v.Figures["total_s"] = seconds(total)
	v.Figures["threshold_s"] = seconds(thr)
	v.Figures["median_gap_s"] = seconds(median)
	v.Figures["max_gap_s"] = seconds(maxGap)
	v.Figures["acked"] = m
	v.Figures["unobserved_s"] = seconds(unobserved)
	partialAvailability(v, a, thr)
	switch {
	case openFailed:
		w := &wins[openAt]
		v.Status = history.Failed
		if m == 0 {
			v.Summary = fmt.Sprintf("no write was ever acknowledged (%s attempted, %s to %s)", plural(len(ops), "write", "writes"), fmtS(a.at(w.sK)), fmtS(a.at(w.eK)))
		} else {
			v.Summary = fmt.Sprintf("writes stopped being acknowledged at %s and never came back before the end at %s (%s open)",
				fmtS(a.at(w.sK)), fmtS(a.at(w.eK)), fmtS(a.at(w.eK)-a.at(w.sK)))
		}
	case failed:
		v.Status = history.Failed
		v.Summary = fmt.Sprintf("writes unavailable for %s from %s to %s, over the %s budget (%s, %s in all)",
			fmtS(maxW), fmtS(a.at(worst.sK)), fmtS(a.at(worst.eK)), fmtBudget(cfg.RTOBudget), plural(len(out), "window", "windows"), fmtS(total))
	case unobserved > 0:
		return undecided(v, fmt.Sprintf("the ledger is truncated at %s (the harness stopped abruptly) but the trial went on to %s (monitor and fault records): no client observed those %s",
			fmtS(ledgerEnd), fmtS(end), fmtS(unobserved)))
	case openAt >= 0:
		return undecided(v, fmt.Sprintf("writes stopped being acknowledged at %s and the truncated ledger ends at %s, before they came back or the budget passed",
			fmtS(a.at(wins[openAt].sK)), fmtS(ledgerEnd)))
	case len(out) == 0:
		v.Summary = fmt.Sprintf("writes acknowledged throughout: no unavailability (largest gap between acknowledgements %s)", fmtS(maxGap))
	default:
		v.Summary = fmt.Sprintf("%s of unavailability, longest %s from %s (budget %s), %s in all",
			plural(len(out), "window", "windows"), fmtS(maxW), fmtS(a.at(worst.sK)), fmtBudget(cfg.RTOBudget), fmtS(total))
	}
	return v
}

// trialEnd is the trial's end: the ledger's end record; for a truncated
// ledger, the latest time any record of the trial holds (ledger, monitor,
// fault log).
func trialEnd(t *history.Trial) time.Duration {
	end := t.End
	if !t.Truncated {
		return end
	}
	for i := range t.Observations {
		end = max(end, t.Observations[i].At)
	}
	for _, f := range t.Faults {
		end = max(end, f.Injected, f.Recovered)
	}
	for _, e := range t.Events {
		end = max(end, e.At)
	}
	return end
}

// longest returns at most n windows: the longest (earlier first among
// equals), in time order.
func longest(ws []history.Window, n int) []history.Window {
	if len(ws) <= n {
		return ws
	}
	idx := make([]int, len(ws))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int { return cmp.Compare(ws[y].Seconds, ws[x].Seconds) })
	idx = idx[:n]
	slices.Sort(idx)
	out := make([]history.Window, n)
	for k, i := range idx {
		out[k] = ws[i]
	}
	return out
}

// Stall is a client's interval without acknowledgement while other clients'
// writes were acknowledged: partial availability.
type Stall struct {
	Client  uint32  `json:"client"`
	StartS  float64 `json:"start_s"`
	EndS    float64 `json:"end_s"`
	Seconds float64 `json:"seconds"`
}

// partialAvailability adds the partial-availability figures: every
// client's intervals between two consecutive acknowledgements of its own
// longer than thr while another client's write was acknowledged inside.
func partialAvailability(v history.Verdict, a *ackTimeline, thr time.Duration) {
	ops := a.ops
	last := map[uint32]time.Duration{}
	var stalls []Stall
	n := 0
	var longestD time.Duration
	longestC := uint32(0)
	gc := gapCursor{a: a}
	for i := range ops {
		op := &ops[i]
		if op.Outcome != history.OK {
			continue
		}
		prev, ok := last[op.Client]
		last[op.Client] = op.Return
		if !ok {
			continue
		}
		d := op.Return - prev
		if d > longestD {
			longestD, longestC = d, op.Client
		}
		if d <= thr {
			continue
		}
		// Was another write acknowledged strictly inside (prev, return)?
		// The first acknowledgement after prev is at(k+1) > prev.
		if k := gc.locate(prev); k+1 > a.m() || a.at(k+1) >= op.Return {
			continue
		}
		n++
		stalls = append(stalls, Stall{Client: op.Client, StartS: seconds(prev), EndS: seconds(op.Return), Seconds: seconds(d)})
	}
	if len(stalls) > MaxWindowsListed {
		slices.SortStableFunc(stalls, func(x, y Stall) int { return cmp.Compare(y.Seconds, x.Seconds) })
		stalls = stalls[:MaxWindowsListed]
		slices.SortStableFunc(stalls, func(x, y Stall) int { return cmp.Compare(x.StartS, y.StartS) })
	}
	if stalls == nil {
		stalls = []Stall{}
	}
	v.Figures["partial"] = stalls
	v.Figures["partial_count"] = n
	v.Figures["longest_client_stall_s"] = seconds(longestD)
	v.Figures["longest_client_stall_client"] = longestC
}

// stager attributes windows to faults and names their stages.
type stager struct {
	t      *history.Trial
	end    time.Duration
	events []int32 // t.Events of stage kinds, by time
	order  []int32 // t.Observations by time
	// lastPrim[j] is 1 + the instance last seen as primary in order[:j+1],
	// or 0 when none was.
	lastPrim []int32
}

func newStager(t *history.Trial) *stager {
	s := &stager{t: t, end: t.End}
	for i, e := range t.Events {
		switch e.Kind {
		case history.EventPromoted, history.EventEndpointSwitch, history.EventClientsRedirect:
			s.events = append(s.events, int32(i))
		}
	}
	slices.SortStableFunc(s.events, func(a, b int32) int { return cmp.Compare(t.Events[a].At, t.Events[b].At) })
	if len(t.Observations) > 0 {
		s.order = obsByTime(t.Observations)
		s.lastPrim = make([]int32, len(s.order))
		cur := int32(0)
		for j, oi := range s.order {
			if o := &t.Observations[oi]; primaryObs(o) {
				cur = int32(o.Instance) + 1
			}
			s.lastPrim[j] = cur
		}
	}
	return s
}

// stages returns the fault a window [s, e] belongs to and its stages, in
// time order.
func (st *stager) stages(s, e time.Duration, w *window) (string, []history.Stage) {
	t := st.t
	var out []history.Stage
	fault := -1
	for i, f := range t.Faults {
		rec := f.Recovered
		if rec == 0 || rec < f.Injected {
			rec = max(st.end, e)
		}
		if f.Injected <= e && rec >= s && (fault < 0 || f.Injected >= t.Faults[fault].Injected) {
			fault = i
		}
	}
	name := ""
	if fault >= 0 {
		name = t.Faults[fault].Name
		out = append(out, history.Stage{Name: StageFaultInjected, AtS: seconds(t.Faults[fault].Injected)})
	}
	if w.noticed != math.MaxInt64 {
		out = append(out, history.Stage{Name: StageFailureNoticed, AtS: seconds(w.noticed)})
	}
	j := sort.Search(len(st.events), func(j int) bool { return t.Events[st.events[j]].At >= s })
	for ; j < len(st.events) && t.Events[st.events[j]].At <= e; j++ {
		ev := &t.Events[st.events[j]]
		out = append(out, history.Stage{Name: ev.Kind, AtS: seconds(ev.At)})
	}
	if len(st.order) > 0 {
		obs := t.Observations
		j := sort.Search(len(st.order), func(j int) bool { return obs[st.order[j]].At >= s })
		if j > 0 {
			if before := st.lastPrim[j-1]; before != 0 {
				for ; j < len(st.order) && obs[st.order[j]].At <= e; j++ {
					o := &obs[st.order[j]]
					if primaryObs(o) && int32(o.Instance)+1 != before {
						out = append(out, history.Stage{Name: StageNewPrimaryObserved, AtS: seconds(o.At)})
						break
					}
				}
			}
		}
	}
	if !w.open {
		out = append(out, history.Stage{Name: StageFirstWriteOK, AtS: seconds(e)})
	}
	slices.SortStableFunc(out, func(a, b history.Stage) int { return cmp.Compare(a.AtS, b.AtS) })
	return name, out
}
