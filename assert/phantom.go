package assert

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// PhantomWrites is the phantom-writes check, on every reachable instance of
// the final state: ids present that were never attempted (below 1 or above
// the last id of the ledger), ids present more than once
// (InstanceState.Duplicates), and writes the ledger records as failed
// (certainly not applied) that are present anyway.
//
// When the ledger is truncated (the harness died; it is a prefix), ids just
// above its last id may have been allocated by writes whose records were
// lost with the harness: ids in (last, last+slack] are counted in
// "beyond_truncated_ledger", not as phantoms, where slack = the number of
// clients (the header's, or the distinct clients of the ledger, whichever
// is greater; each has one write in flight) + 2 × the greatest number of
// invocations the ledger records in any one second (the records the
// appender's buffer can hold: it flushes every 200 ms and fsyncs every
// second). Ids above last+slack could not have been allocated: phantoms.
// Instances of another database system (history.Authority's Foreign) are
// not read.
//
// It fails on any phantom, duplicate or failed-but-present write found on
// a readable instance, whatever else could not be read; with nothing found
// it is unknown when the final state is undecidable by history.Authority (a
// primary not read, no readable primary: the cluster's data was not
// checked). Figures:
// "instances_unread" (instances that could not be read: the check passes
// on the others, and says so), "phantoms" (distinct never-attempted ids), "duplicates" (distinct ids
// present more than once), "failed_but_present" (failed writes present on
// some instance), "beyond_truncated_ledger" and, for a truncated ledger,
// "truncation_slack".
type PhantomWrites struct{}

// Name returns "phantom-writes".
func (PhantomWrites) Name() string { return history.CheckPhantomWrites }

// Check looks for writes in the final state that the ledger cannot explain.
func (PhantomWrites) Check(t *history.Trial, cfg Config) history.Verdict {
	cfg = cfg.withDefaults()
	v := newVerdict(history.CheckPhantomWrites)
	for _, k := range []string{"phantoms", "duplicates", "failed_but_present", "beyond_truncated_ledger"} {
		v.Figures[k] = 0
	}
	if t == nil {
		return undecided(v, "no trial")
	}
	au := authority(t)
	if t.Final == nil || len(t.Final.Instances) == 0 {
		return undecided(v, au.Reason)
	}
	f := t.Final
	last := int64(len(t.Ops))
	bound := last
	if t.Truncated {
		slack := truncationSlack(t)
		bound = last + slack
		v.Figures["truncation_slack"] = slack
	}
	ev := newEvidence(cfg.MaxEvidence)
	var never, beyond []history.IDRange
	var dups []int64
	type inst struct {
		name string
		cur  idCursor
	}
	var insts []inst
	for i := range f.Instances {
		in := &f.Instances[i]
		if !reachable(in) || slices.Contains(au.Foreign, i) {
			continue
		}
		name := finalName(f, i)
		set := newIDSet(in.Present)
		insts = append(insts, inst{name: name, cur: idCursor{s: set}})
		below, above := set.outside(1, bound)
		for _, r := range below {
			never = append(never, r)
			ev.add(history.Evidence{What: fmt.Sprintf("ids %d to %d present on %s were never attempted (ids start at 1)", r.First, r.Last, name), ID: r.First, Node: name})
		}
		for _, r := range above {
			never = append(never, r)
			what := fmt.Sprintf("ids %d to %d present on %s were never attempted (the ledger ends at id %d)", r.First, r.Last, name, last)
			if t.Truncated {
				what = fmt.Sprintf("ids %d to %d present on %s could not have been attempted (the truncated ledger ends at id %d; at most %d more could have been allocated)", r.First, r.Last, name, last, bound-last)
			}
			ev.add(history.Evidence{What: what, ID: r.First, Node: name})
		}
		if t.Truncated {
			_, b := set.outside(1, last)
			for _, r := range b {
				if r.First <= bound {
					beyond = append(beyond, history.IDRange{First: r.First, Last: min(r.Last, bound)})
				}
			}
		}
		for _, d := range in.Duplicates {
			if d.Count < 2 {
				continue
			}
			dups = append(dups, d.ID)
			what := fmt.Sprintf("id %d present %d times on %s", d.ID, d.Count, name)
			if d.ID >= 1 && d.ID <= last {
				e := opEvidence(t, &t.Ops[d.ID-1], what)
				e.Node = name
				ev.add(e)
			} else {
				ev.add(history.Evidence{What: what, ID: d.ID, Node: name})
			}
		}
	}
	slices.Sort(dups)
	dups = slices.Compact(dups)

	failedPresent := 0
	ops := t.Ops
	for i := range ops {
		op := &ops[i]
		if op.Outcome != history.Fail {
			continue
		}
		var where string
		for j := range insts {
			if insts[j].cur.has(op.ID) && where == "" {
				where = insts[j].name
			}
		}
		if where == "" {
			continue
		}
		failedPresent++
		if !ev.full() {
			what := fmt.Sprintf("reported failed (certainly not applied) but present on %s", where)
			if msg := t.Error(op.Err); msg != "" {
				what += "; the error was: " + msg
			}
			ev.add(opEvidence(t, op, what))
		}
	}
	phantoms, beyondN := unionSize(never), unionSize(beyond)
	v.Figures["phantoms"] = int(phantoms)
	v.Figures["duplicates"] = len(dups)
	v.Figures["failed_but_present"] = failedPresent
	v.Figures["beyond_truncated_ledger"] = int(beyondN)
	v.Evidence = ev.list
	if phantoms > 0 || len(dups) > 0 || failedPresent > 0 {
		v.Status = history.Failed
		v.Summary = fmt.Sprintf("%d never-attempted ids, %d duplicated ids and %d failed writes present on the %s",
			phantoms, len(dups), failedPresent, plural(len(insts), "reachable instance", "reachable instances"))
		return v
	}
	v.Summary = fmt.Sprintf("every id on the %s was attempted once and none reported failed", plural(len(insts), "reachable instance", "reachable instances"))
	if beyondN > 0 {
		v.Summary += fmt.Sprintf(" (%s beyond the truncated ledger, written after its last record)", plural(int(beyondN), "id", "ids"))
	}
	unread := []string{}
	for _, i := range au.Unread {
		unread = append(unread, finalName(f, i))
	}
	v.Figures["instances_unread"] = unread
	if len(unread) > 0 {
		v.Summary += fmt.Sprintf("; not read: %s (what they hold was not checked)", strings.Join(unread, ", "))
	}
	if au.Undecidable || len(insts) == 0 {
		// Nothing found where it could look, but the cluster's own data
		// (a primary) was not read.
		return undecided(v, au.Reason)
	}
	return v
}

// truncationSlack bounds how many ids a truncated ledger may have allocated
// beyond its last record (see PhantomWrites).
func truncationSlack(t *history.Trial) int64 {
	clients := map[uint32]struct{}{}
	most, lo := 0, 0
	ops := t.Ops
	for i := range ops {
		clients[ops[i].Client] = struct{}{}
		// Invocations are in id order and, being allocated under one lock,
		// in time order: a sliding window of one second.
		for ops[i].Invoke-ops[lo].Invoke >= time.Second {
			lo++
		}
		most = max(most, i-lo+1)
	}
	return int64(max(t.Meta.Clients, len(clients)) + 2*most)
}
