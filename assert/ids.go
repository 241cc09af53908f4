package assert

import (
	"cmp"
	"slices"

	"github.com/pgchaos/pgchaos/history"
)

// idSet is a set of write ids held as sorted, disjoint, inclusive ranges: the
// form InstanceState.Present takes. Write ids are dense, so a final table of
// millions of rows is a handful of ranges and membership costs no memory per
// id.
type idSet []history.IDRange

// newIDSet returns present as an idSet. It is returned as is when it is
// already sorted and disjoint (the documented form); otherwise a sorted,
// merged copy is made, and empty ranges (First > Last) are dropped.
func newIDSet(present []history.IDRange) idSet {
	ok := true
	for i, r := range present {
		if r.First > r.Last || (i > 0 && r.First <= present[i-1].Last) {
			ok = false
			break
		}
	}
	if ok {
		return idSet(present)
	}
	s := make([]history.IDRange, 0, len(present))
	for _, r := range present {
		if r.First <= r.Last {
			s = append(s, r)
		}
	}
	slices.SortFunc(s, func(a, b history.IDRange) int { return cmp.Compare(a.First, b.First) })
	out := s[:0]
	for _, r := range s {
		if n := len(out); n > 0 && r.First <= out[n-1].Last {
			out[n-1].Last = max(out[n-1].Last, r.Last)
			continue
		}
		out = append(out, r)
	}
	return idSet(out)
}

// outside returns the parts of the set below lo and above hi, as ranges.
func (s idSet) outside(lo, hi int64) (below, above []history.IDRange) {
	for _, r := range s {
		if r.First < lo {
			below = append(below, history.IDRange{First: r.First, Last: min(r.Last, lo-1)})
		}
		if r.Last > hi {
			above = append(above, history.IDRange{First: max(r.First, hi+1), Last: r.Last})
		}
	}
	return below, above
}

// idCursor answers "is this id in the set?" for ids asked in nondecreasing
// order, in amortised constant time: the way checkers walk the ledger.
type idCursor struct {
	s idSet
	i int
}

// has reports whether id is in the set. Successive calls must not ask for a
// smaller id than the previous one.
func (c *idCursor) has(id int64) bool {
	for c.i < len(c.s) && c.s[c.i].Last < id {
		c.i++
	}
	return c.i < len(c.s) && c.s[c.i].First <= id
}

// unionSize returns how many distinct ids the ranges cover.
func unionSize(rs []history.IDRange) int64 {
	s := newIDSet(rs)
	var n int64
	for _, r := range s {
		n += r.Last - r.First + 1
	}
	return n
}

// obsByTime returns the indices of obs ordered by observation time; equal
// times keep the order of the record.
func obsByTime(obs []history.Observation) []int32 {
	idx := make([]int32, len(obs))
	sorted := true
	for i := range obs {
		idx[i] = int32(i)
		if i > 0 && obs[i].At < obs[i-1].At {
			sorted = false
		}
	}
	if !sorted {
		slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(obs[a].At, obs[b].At) })
	}
	return idx
}

// primaryObs reports whether an observation shows a reachable instance out of
// recovery: a primary accepting writes.
func primaryObs(o *history.Observation) bool { return o.Reachable && !o.InRecovery }
