package assert

// Generated trials for wal-continuity and replication-recovery: a cluster
// observed by the monitor through a clean run, a fault that replication
// recovers from (or not, watched for less or more than the budget), a
// failover, and final states whose instances disagree on their timelines.

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
	"pgregory.net/rapid"
)

// rExpect is what a replication scenario implies ("" = no claim).
type rExpect struct {
	wal, repl history.Status
	desc      string
}

// rState is one server's state from a moment on.
type rState struct {
	from      int64
	role      gRole
	inc       int
	tl        uint32
	streaming bool
}

func genRepl(rt *rapid.T) (*history.Trial, Config, rExpect) {
	rnd := rand.New(rand.NewSource(rapid.Int64().Draw(rt, "seed")))
	jit := func(lo, hi int64) int64 {
		if hi <= lo {
			return lo
		}
		return lo + rnd.Int63n(hi-lo+1)
	}
	var cfg Config
	budget := int64(60 * gS)
	if rapid.IntRange(0, 3).Draw(rt, "budget") == 3 {
		cfg.ReplicationBudget = 20 * time.Second
		budget = 20 * gS
	}
	n := rapid.IntRange(2, 3).Draw(rt, "servers")
	poll := jit(500*gMS, 2*gS)
	kind := rapid.IntRange(0, 5).Draw(rt, "kind")
	states := make([][]rState, n)
	set := func(s int, st rState) { states[s] = append(states[s], st) }
	at := func(s int, x int64) rState {
		st := rState{role: gDown}
		for _, y := range states[s] {
			if y.from <= x {
				st = y
			}
		}
		return st
	}
	set(0, rState{role: gPrimary, tl: 1})
	for s := 1; s < n; s++ {
		set(s, rState{role: gReplica, tl: 1, streaming: true})
	}
	var faults []history.FaultWindow
	var e rExpect
	var end int64
	// The final state's timelines: the primary's and its history.
	finalPrim, finalTL := 0, uint32(1)
	var finalHist []history.TimelineSwitch
	var switchAt int64 = -1
	badFinal := false
	switch kind {
	case 0, 5: // clean
		end = jit(5*gS, 60*gS)
		e = rExpect{wal: history.Pass, repl: history.Pass, desc: "clean"}
		if kind == 5 {
			e = rExpect{wal: history.Failed, desc: "final instances disagree on their timelines"}
			badFinal = true
		}
	case 1, 2, 3: // a fault a replica must recover from
		inj := jit(2*gS, 10*gS)
		rec := inj + jit(gS, 20*gS)
		r := 1 + rnd.Intn(n-1)
		down := rnd.Intn(2) == 0
		if down {
			set(r, rState{from: inj, role: gDown})
		} else {
			set(r, rState{from: inj, role: gReplica, tl: 1})
		}
		faults = append(faults, history.FaultWindow{Name: "fault", Target: fmt.Sprintf("pg%d", r), Injected: gDur(inj), Recovered: gDur(rec)})
		switch kind {
		case 1:
			back := rec + jit(0, budget-3*poll)
			inc := 0
			if down {
				inc = 1
			}
			set(r, rState{from: back, role: gReplica, inc: inc, tl: 1, streaming: true})
			end = back + jit(3*poll, 3*poll+10*gS)
			e = rExpect{wal: history.Pass, repl: history.Pass, desc: "replication recovered within the budget"}
		case 2:
			end = rec + jit(poll, budget-poll)
			e = rExpect{wal: history.Pass, repl: history.Undecided, desc: "not recovered, watched for less than the budget"}
		case 3:
			end = rec + jit(budget+poll, budget+30*gS)
			e = rExpect{wal: history.Pass, repl: history.Failed, desc: "not recovered for longer than the budget"}
		}
	case 4: // failover
		x := jit(2*gS, 10*gS)
		gap := jit(500*gMS, 10*gS)
		set(0, rState{from: x, role: gDown})
		for s := 1; s < n; s++ {
			set(s, rState{from: x, role: gReplica, tl: 1})
		}
		set(1, rState{from: x + gap, role: gPrimary, tl: 2})
		switchAt = x
		finalPrim, finalTL = 1, 2
		faults = append(faults, history.FaultWindow{Name: "kill-primary", Target: "pg0", Injected: gDur(x), Recovered: gDur(x + gap)})
		last := x + gap // the later event
		switch rapid.IntRange(0, 2).Draw(rt, "failover-outcome") {
		case 0:
			back := last + jit(0, budget-3*poll)
			for s := 0; s < n; s++ {
				if s != 1 {
					inc := 0
					if s == 0 {
						inc = 1
					}
					set(s, rState{from: back, role: gReplica, inc: inc, tl: 2, streaming: true})
				}
			}
			end = back + jit(3*poll, 3*poll+10*gS)
			e = rExpect{wal: history.Pass, repl: history.Pass, desc: "failover, replicas follow within the budget"}
		case 1:
			end = last + jit(poll, budget-poll)
			e = rExpect{repl: history.Undecided, desc: "failover, replicas not following yet, watched for less than the budget"}
		case 2:
			end = last + jit(budget+poll, budget+30*gS)
			e = rExpect{repl: history.Failed, desc: "failover, replicas never follow, watched for longer than the budget"}
		}
	}

	t := &history.Trial{Errors: []string{""}, Meta: history.Meta{Format: history.LedgerFormat, Version: 1, Clients: 1}}
	intern := func(s string) uint32 {
		for i, x := range t.Errors {
			if x == s {
				return uint32(i)
			}
		}
		t.Errors = append(t.Errors, s)
		return uint32(len(t.Errors) - 1)
	}
	// One client writes about once a second to whoever is primary.
	nodes := map[[2]int]history.NodeID{}
	lsn := history.LSN(0x3000000)
	var maxTL1 history.LSN
	var acked []int64
	for x := jit(0, 100*gMS); x < end-200*gMS; x += jit(800*gMS, 1200*gMS) {
		prim := -1
		for s := 0; s < n; s++ {
			if at(s, x).role == gPrimary {
				prim = s
			}
		}
		op := history.Op{ID: int64(len(t.Ops) + 1), Invoke: gDur(x), Return: gDur(x + 20*gMS), Node: history.NoNode}
		if prim < 0 || (switchAt >= 0 && x < switchAt && x+20*gMS >= switchAt) {
			op.Outcome, op.Err = history.Fail, intern("connection refused")
		} else {
			st := at(prim, x)
			k := [2]int{prim, st.inc}
			nd, ok := nodes[k]
			if !ok {
				nd = history.NodeID(len(t.Nodes))
				t.Nodes = append(t.Nodes, history.Node{Server: gAddr(prim), Instance: fmt.Sprintf("pg%d", prim), SystemID: gSysID, Started: gStarted(prim, st.inc)})
				nodes[k] = nd
			}
			lsn += 0x100
			op.Outcome, op.Node, op.Timeline, op.LSN = history.OK, nd, st.tl, lsn
			if st.tl == 1 {
				maxTL1 = lsn
			}
			acked = append(acked, op.ID)
		}
		t.Ops = append(t.Ops, op)
	}
	t.End = gDur(end)
	t.Faults = faults
	if switchAt >= 0 {
		t.Events = append(t.Events, history.Event{At: gDur(switchAt + 1), Kind: history.EventPromoted, Detail: "pg1"})
	}
	// The monitor.
	for s := 0; s < n; s++ {
		t.Instances = append(t.Instances, history.Instance{Name: fmt.Sprintf("pg%d", s)})
	}
	for x := poll / 2; x <= end; x += poll {
		for s := 0; s < n; s++ {
			st := at(s, x)
			o := history.Observation{At: gDur(x), Instance: history.InstanceID(s)}
			if st.role == gDown {
				o.Err = intern("connection refused")
			} else {
				o.Reachable, o.Timeline = true, st.tl
				o.Ident = intern(gIdent(s, st.inc))
				if st.role == gReplica {
					o.InRecovery, o.Streaming = true, st.streaming
				} else {
					o.WriteLSN = lsn
				}
			}
			t.Observations = append(t.Observations, o)
		}
	}
	// The final state.
	if finalTL == 2 {
		finalHist = []history.TimelineSwitch{{TLI: 1, SwitchLSN: maxTL1 + 0x10}}
	}
	f := &history.FinalState{ReadAt: t.End + gDur(gS)}
	for s := 0; s < n; s++ {
		st := at(s, end)
		in := history.InstanceState{Name: fmt.Sprintf("pg%d", s), Server: gAddr(s), SystemID: gSysID, Started: gStarted(s, st.inc),
			Reachable: st.role != gDown, Primary: s == finalPrim, Timeline: finalTL, History: finalHist, Present: gRanges(acked)}
		if !in.Reachable {
			in.Primary, in.Error, in.Present, in.History, in.Timeline = false, "connection refused", nil, nil, 0
		} else if st.role == gReplica && st.tl != finalTL {
			in.Timeline, in.History = st.tl, nil
		}
		f.Instances = append(f.Instances, in)
	}
	if badFinal {
		if rapid.Bool().Draw(rt, "bad-final-history") {
			// Both on timeline 2, forked at different points.
			for i := range f.Instances {
				f.Instances[i].Timeline = 2
				f.Instances[i].History = []history.TimelineSwitch{{TLI: 1, SwitchLSN: maxTL1 + 0x10 + history.LSN(0x1000*i)}}
			}
		} else {
			// The primary on timeline 2, a replica on timeline 1 whose WAL
			// runs past the point where timeline 1 ended: it diverged.
			f.Instances[0].Timeline = 2
			f.Instances[0].History = []history.TimelineSwitch{{TLI: 1, SwitchLSN: maxTL1 + 0x10}}
			f.Instances[1].LSN = maxTL1 + 0x1000
		}
	}
	t.Final = f
	return t, cfg, e
}

// TestGeneratedReplicationAndWAL: a clean single-timeline trial with every
// replica streaming passes both; final instances that disagree on their
// timelines fail wal-continuity; replication that has not recovered is
// unknown while the last observation is within the budget of the event and
// fails after it; recovered within the budget, it passes.
func TestGeneratedReplicationAndWAL(t *testing.T) {
	gRun(t, 1500, func(rt *rapid.T) {
		tr, cfg, e := genRepl(rt)
		r := Run(tr, cfg)
		diffs := gShape(r)
		for _, c := range []struct {
			name string
			want history.Status
		}{{history.CheckWALContinuity, e.wal}, {history.CheckReplicationRecovery, e.repl}} {
			if c.want == "" {
				continue
			}
			if v := gVerdict(r, c.name); v.Status != c.want {
				diffs = append(diffs, fmt.Sprintf("%s (%s): %s, want %s: %s %s", c.name, e.desc, v.Status, c.want, v.Summary, v.Reason))
			}
		}
		gFail(rt, diffs, nil, tr)
	})
}
