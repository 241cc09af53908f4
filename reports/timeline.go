package reports

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// maxBins bounds the number of bins of a timeline chart: about three pixels
// per bin at the chart's width.
const maxBins = 400

// binSteps are the bin widths a chart may use, smallest first.
var binSteps = []time.Duration{
	100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour,
}

// BinWidth chooses the bin width for a trial of that span: the smallest of
// 100 ms, 200 ms, 250 ms, 500 ms, 1 s, 2 s, 5 s, ... that cuts it into at most
// maxBins bins.
func BinWidth(span time.Duration) time.Duration {
	for _, s := range binSteps {
		if span <= s*maxBins {
			return s
		}
	}
	// Longer than 400 hours: whole hours.
	h := (span + maxBins*time.Hour - 1) / (maxBins * time.Hour)
	return h * time.Hour
}

// Bin is one slice [Start, Start+width) of a trial's time axis.
type Bin struct {
	Start time.Duration
	// OK counts writes acknowledged in the bin (by return time).
	OK int
	// Failed counts writes that failed in the bin (by return time).
	Failed int
	// Unknown counts indeterminate writes (unknown or pending) by invocation
	// time: an indeterminate write's return marks no moment of the cluster,
	// its invocation shows a write was being attempted.
	Unknown int
	// Lost counts acknowledged writes of the bin absent from the final state.
	Lost int
	// P50 and P99 are the commit latencies (return - invoke) of the bin's
	// acknowledged writes; zero when it has none.
	P50, P99 time.Duration
}

// Binned cuts [0, span) into bins of width and counts the trial's writes in
// them. lost, when not nil, tells whether an acknowledged write was lost.
// Writes outside [0, span) are counted in the first or last bin.
func Binned(ops []history.Op, span, width time.Duration, lost func(id int64) bool) []Bin {
	if width <= 0 {
		width = BinWidth(span)
	}
	n := int((span + width - 1) / width)
	if n < 1 {
		n = 1
	}
	bins := make([]Bin, n)
	for i := range bins {
		bins[i].Start = time.Duration(i) * width
	}
	idx := func(at time.Duration) int {
		i := int(at / width)
		return min(max(i, 0), n-1)
	}
	// Latencies of acknowledged writes, grouped by bin with one counting
	// pass and one placing pass (no slice per bin).
	for i := range ops {
		op := &ops[i]
		switch op.Outcome {
		case history.OK:
			b := &bins[idx(op.Return)]
			b.OK++
			if lost != nil && lost(op.ID) {
				b.Lost++
			}
		case history.Fail:
			bins[idx(op.Return)].Failed++
		default:
			bins[idx(op.Invoke)].Unknown++
		}
	}
	off := make([]int, n+1)
	for i, b := range bins {
		off[i+1] = off[i] + b.OK
	}
	lat := make([]time.Duration, off[n])
	fill := slices.Clone(off[:n])
	for i := range ops {
		op := &ops[i]
		if op.Outcome != history.OK {
			continue
		}
		j := idx(op.Return)
		lat[fill[j]] = op.Return - op.Invoke
		fill[j]++
	}
	for i := range bins {
		l := lat[off[i]:off[i+1]]
		if len(l) == 0 {
			continue
		}
		slices.Sort(l)
		bins[i].P50 = Percentile(l, 0.50)
		bins[i].P99 = Percentile(l, 0.99)
	}
	return bins
}

// Percentile returns the q-quantile (0 < q <= 1) of sorted values by the
// nearest-rank method: the smallest value with at least q of the values at
// or below it. It returns 0 for no values.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	r := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(r, 0), len(sorted)-1)]
}

// Role is what the monitor saw an instance as.
type Role uint8

const (
	// RolePrimary is reachable and not in recovery.
	RolePrimary Role = iota
	// RoleReplica is in recovery with a streaming WAL receiver.
	RoleReplica
	// RoleReplicaIdle is in recovery without a streaming WAL receiver.
	RoleReplicaIdle
	// RoleDown is unreachable.
	RoleDown
)

// String names the role for people.
func (r Role) String() string {
	switch r {
	case RolePrimary:
		return "primary"
	case RoleReplica:
		return "replica"
	case RoleReplicaIdle:
		return "replica, not streaming"
	default:
		return "unreachable"
	}
}

// RoleSpan is a stretch of time in which the monitor saw one instance in one
// role on one timeline.
type RoleSpan struct {
	Instance   int
	Start, End time.Duration
	Role       Role
	Timeline   uint32
	// Err is the error of an unreachable span's first observation.
	Err uint32
}

func roleOf(o history.Observation) Role {
	switch {
	case !o.Reachable:
		return RoleDown
	case !o.InRecovery:
		return RolePrimary
	case o.Streaming:
		return RoleReplica
	default:
		return RoleReplicaIdle
	}
}

// RoleSpans turns the monitor's observations into spans per instance: an
// observation's state holds until that instance's next observation; the
// last one holds for one more typical poll interval (the median of that
// instance), but not past end when end is later than every observation.
// Spans are ordered by instance, then time.
func RoleSpans(obs []history.Observation, end time.Duration) []RoleSpan {
	byInst := map[int][]history.Observation{}
	for _, o := range obs {
		byInst[int(o.Instance)] = append(byInst[int(o.Instance)], o)
	}
	insts := make([]int, 0, len(byInst))
	for i := range byInst {
		insts = append(insts, i)
	}
	sort.Ints(insts)
	var out []RoleSpan
	for _, in := range insts {
		seen := byInst[in]
		slices.SortStableFunc(seen, func(a, b history.Observation) int { return cmp.Compare(a.At, b.At) })
		gaps := make([]time.Duration, 0, len(seen))
		for i := 1; i < len(seen); i++ {
			gaps = append(gaps, seen[i].At-seen[i-1].At)
		}
		slices.Sort(gaps)
		tail := Percentile(gaps, 0.5)
		first := len(out)
		for i, o := range seen {
			stop := o.At + tail
			if i+1 < len(seen) {
				stop = seen[i+1].At
			} else if end > o.At && stop > end {
				stop = end
			}
			r := roleOf(o)
			tl := o.Timeline
			if r == RoleDown {
				tl = 0
			}
			if k := len(out) - 1; k >= first && out[k].Role == r && out[k].Timeline == tl {
				out[k].End = stop
				continue
			}
			out = append(out, RoleSpan{Instance: in, Start: o.At, End: stop, Role: r, Timeline: tl, Err: o.Err})
		}
	}
	return out
}

// LostWrites marks the acknowledged writes absent from the authoritative
// instance of the final state (the data the lost-acked-writes verdict
// compares): lost[id-1] is true for a lost write. It returns the marks and
// their count; nil without a final state.
func LostWrites(t *history.Trial) ([]bool, int) {
	a := t.Final.Authoritative()
	if a < 0 {
		return nil, 0
	}
	present := t.Final.Instances[a].Present
	lost := make([]bool, len(t.Ops))
	n, r := 0, 0
	// Ops are in id order and ranges sorted: one merge pass.
	for i := range t.Ops {
		id := t.Ops[i].ID
		for r < len(present) && present[r].Last < id {
			r++
		}
		if t.Ops[i].Outcome == history.OK && (r == len(present) || present[r].First > id) {
			lost[i] = true
			n++
		}
	}
	return lost, n
}

// Timeline is what a report draws from a trial's ledger: its writes
// counted in bins over the trial's span.
type Timeline struct {
	Span, Width time.Duration
	Bins        []Bin
	// Writes counts every invoked write; OK, Failed and Unknown (which
	// includes pending) count them by outcome.
	Writes, OK, Failed, Unknown int
	// Lost counts the acknowledged writes absent from the final state, when
	// they were counted (NewTimeline's countLost).
	Lost int
}

// NewTimeline bins the writes of a trial (see Binned and BinWidth). With
// countLost, lost writes (LostWrites) are counted too.
func NewTimeline(t *history.Trial, countLost bool) *Timeline {
	tl := &Timeline{Span: Span(t), Writes: len(t.Ops)}
	tl.Width = BinWidth(tl.Span)
	var lost func(int64) bool
	if countLost {
		if marks, n := LostWrites(t); n > 0 {
			tl.Lost = n
			lost = func(id int64) bool { return id >= 1 && id <= int64(len(marks)) && marks[id-1] }
		}
	}
	tl.Bins = Binned(t.Ops, tl.Span, tl.Width, lost)
	for _, b := range tl.Bins {
		tl.OK += b.OK
		tl.Failed += b.Failed
		tl.Unknown += b.Unknown
	}
	return tl
}

// Span returns the time the chart of a trial covers: up to the last record
// of the ledger, observation or fault, whichever is latest.
func Span(t *history.Trial) time.Duration {
	s := t.End
	for _, o := range t.Observations {
		s = max(s, o.At)
	}
	for _, f := range t.Faults {
		s = max(s, f.Injected, f.Recovered)
	}
	for _, e := range t.Events {
		s = max(s, e.At)
	}
	if n := len(t.Ops); n > 0 {
		s = max(s, t.Ops[n-1].Invoke, t.Ops[n-1].Return)
	}
	if s <= 0 {
		s = time.Second
	}
	return s
}
