package assert

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"sort"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// ackTimeline is the acknowledgements of a ledger in time order, framed by a
// virtual first boundary (the first invocation) and a virtual last one (the
// trial's end). Boundary k is: 0 the start, 1..M the k-th acknowledgement,
// M+1 the end. Gap k is [boundary k, boundary k+1), for k in 0..M.
//
// It holds one int32 per write: the index in the ledger of each acknowledged
// write, sorted by return time, and of each other write, in id order.
type ackTimeline struct {
	ops        []history.Op
	acks       []int32 // acknowledged writes, by return time
	others     []int32 // failed, unknown and pending writes, by id
	start, end time.Duration
}

// newAckTimeline sorts the acknowledged writes of ops by return time (equal
// times in id order). end is the trial's recorded end; it is moved later if
// the ledger holds a later time.
//
// The sort is a bucket sort: acknowledgements arrive at a roughly steady rate
// and the ledger is already nearly in return order, so buckets of about 8
// are sorted by insertion in linear time overall. The buckets span the
// ledger's first to last invocation (writes are invoked in id order): almost
// every acknowledgement falls there, and the few outside are clamped into
// the first or last bucket, which stays correct. The ledger is read twice.
func newAckTimeline(ops []history.Op, end time.Duration) *ackTimeline {
	idx := make([]int32, len(ops))
	if len(ops) == 0 {
		return &ackTimeline{ops: ops, acks: idx, others: idx, end: max(end, 0)}
	}
	base := ops[0].Invoke
	span := uint64(max(ops[len(ops)-1].Invoke-base, 0))
	shift := uint(bits.Len64(span / uint64(len(ops)/8+1)))
	last := span >> shift // the last bucket
	next := make([]int32, last+2)
	var (
		n, nOther          int
		sorted                           = true
		prevR              time.Duration = math.MinInt64
		firstInv, lastSeen time.Duration = math.MaxInt64, math.MinInt64
	)
	for i := range ops {
		op := &ops[i]
		firstInv, lastSeen = min(firstInv, op.Invoke), max(lastSeen, op.Invoke)
		if op.Outcome != history.OK {
			// Filled from the end, reversed below.
			nOther++
			idx[len(idx)-nOther] = int32(i)
			if op.Outcome != history.Pending {
				lastSeen = max(lastSeen, op.Return)
			}
			continue
		}
		r := op.Return
		lastSeen = max(lastSeen, r)
		n++
		if r < prevR {
			sorted = false
		}
		prevR = r
		b := uint64(0)
		if r > base {
			b = min(uint64(r-base)>>shift, last)
		}
		next[b+1]++
	}
	a := &ackTimeline{ops: ops, acks: idx[:n:n], others: idx[n:], start: firstInv, end: max(end, lastSeen)}
	slices.Reverse(a.others)
	if n == 0 {
		return a
	}
	if sorted {
		k := 0
		for i := range ops {
			if ops[i].Outcome == history.OK {
				a.acks[k] = int32(i)
				k++
			}
		}
		return a
	}
	for b := 1; b < len(next); b++ {
		next[b] += next[b-1]
	}
	for i := range ops {
		if r := ops[i].Return; ops[i].Outcome == history.OK {
			b := uint64(0)
			if r > base {
				b = min(uint64(r-base)>>shift, last)
			}
			a.acks[next[b]] = int32(i)
			next[b]++
		}
	}
	lo := int32(0)
	for b := uint64(0); b <= last; b++ {
		hi := next[b]
		sortByReturn(ops, a.acks[lo:hi])
		lo = hi
	}
	return a
}

// sortByReturn sorts op indices by return time, equal times by index.
func sortByReturn(ops []history.Op, s []int32) {
	if len(s) > 64 {
		slices.SortFunc(s, func(x, y int32) int {
			if c := cmp.Compare(ops[x].Return, ops[y].Return); c != 0 {
				return c
			}
			return cmp.Compare(x, y)
		})
		return
	}
	// Insertion sort, stable: the bucket was filled in index order.
	for i := 1; i < len(s); i++ {
		x := s[i]
		rx := ops[x].Return
		j := i
		for j > 0 && ops[s[j-1]].Return > rx {
			s[j] = s[j-1]
			j--
		}
		s[j] = x
	}
}

// m returns the number of acknowledgements.
func (a *ackTimeline) m() int { return len(a.acks) }

// at returns boundary k (see ackTimeline).
func (a *ackTimeline) at(k int) time.Duration {
	if k <= 0 {
		return a.start
	}
	if k > len(a.acks) {
		return a.end
	}
	return a.ops[a.acks[k-1]].Return
}

// ackOp returns the op of boundary k, or nil for the virtual boundaries.
func (a *ackTimeline) ackOp(k int) *history.Op {
	if k <= 0 || k > len(a.acks) {
		return nil
	}
	return &a.ops[a.acks[k-1]]
}

// gapCursor finds the gap holding a time. Asked for nondecreasing times it
// costs amortised O(1) (a galloping search forward); a time earlier than the
// previous one costs a binary search.
type gapCursor struct {
	a *ackTimeline
	k int
}

// locate returns the gap k with boundary k <= x < boundary k+1 (the last gap,
// M, for every x at or after the last acknowledgement).
func (c *gapCursor) locate(x time.Duration) int {
	a := c.a
	m := a.m()
	if x < a.at(c.k) {
		c.k = sort.Search(c.k, func(j int) bool { return a.at(j+1) > x })
		return c.k
	}
	if c.k >= m || a.at(c.k+1) > x {
		return c.k
	}
	lo, step := c.k+1, 1 // at(lo) <= x
	hi := lo + step
	for hi <= m && a.at(hi) <= x {
		lo = hi
		step *= 2
		hi = lo + step
	}
	hi = min(hi, m+1)
	c.k = lo + sort.Search(hi-lo, func(j int) bool { return a.at(lo+j) > x }) - 1
	return c.k
}

// medianGap returns the lower median of the gaps between consecutive
// acknowledgements (0 with fewer than two). It is an exact radix selection:
// a few passes over the acknowledgements, 16 bits of the answer per pass,
// with no memory per acknowledgement.
func (a *ackTimeline) medianGap() time.Duration {
	m := a.m()
	if m < 2 {
		return 0
	}
	ops, acks := a.ops, a.acks
	rank := (m - 2) / 2 // of m-1 gaps
	span := int64(ops[acks[m-1]].Return - ops[acks[0]].Return)
	lo, hi := int64(0), span+1 // the median is in [lo, hi)
	// The gaps are at least 0 and sum to span, so the median is at most
	// twice their mean: the first pass looks below that only, which saves
	// a pass or two. (Should it not hold the median, the next pass looks
	// above.)
	guess := int64(1) << bits.Len64(uint64(2*(span/int64(m-1))+2))
	const digit = 16
	counts := make([]int32, 1<<digit)
	for first := true; hi-lo > 1; first = false {
		top := hi
		if first && guess < hi {
			top = guess
		}
		shift := uint(bits.Len64(uint64(top-lo-1) >> digit))
		clear(counts)
		in := 0
		prev := ops[acks[0]].Return
		for _, i := range acks[1:] {
			r := ops[i].Return
			g := int64(r - prev)
			prev = r
			if g >= lo && g < top {
				counts[uint64(g-lo)>>shift]++
				in++
			}
		}
		if in <= rank { // not below the guess: look above it
			rank -= in
			lo = top
			continue
		}
		b := 0
		for ; int(counts[b]) <= rank; b++ {
			rank -= int(counts[b])
		}
		lo, hi = lo+int64(b)<<shift, min(top, lo+int64(b+1)<<shift)
	}
	return time.Duration(lo)
}
