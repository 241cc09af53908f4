package assert

import (
	"math"
	"sort"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// sec converts seconds to a trial offset.
func sec(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// builder builds small trials by hand.
type builder struct {
	t     *history.Trial
	nodes map[string]history.NodeID
	insts map[string]history.InstanceID
	lsn   history.LSN
}

func newTrial() *builder {
	return &builder{
		t:     &history.Trial{Errors: []string{""}},
		nodes: map[string]history.NodeID{},
		insts: map[string]history.InstanceID{},
		lsn:   0x3000000,
	}
}

func (b *builder) node(name string) history.NodeID {
	if n, ok := b.nodes[name]; ok {
		return n
	}
	n := history.NodeID(len(b.t.Nodes))
	b.t.Nodes = append(b.t.Nodes, history.Node{Server: name + ":5432", Instance: name})
	b.nodes[name] = n
	return n
}

func (b *builder) add(op history.Op) int64 {
	op.ID = int64(len(b.t.Ops)) + 1
	b.t.Ops = append(b.t.Ops, op)
	if op.Return > b.t.End {
		b.t.End = op.Return
	}
	return op.ID
}

// ok adds a write acknowledged by node on timeline tl; its LSN grows by 0x100
// with every acknowledged write.
func (b *builder) ok(inv, ret float64, node string, tl uint32) int64 {
	b.lsn += 0x100
	return b.okLSN(inv, ret, node, tl, b.lsn)
}

func (b *builder) okLSN(inv, ret float64, node string, tl uint32, lsn history.LSN) int64 {
	return b.add(history.Op{Invoke: sec(inv), Return: sec(ret), Outcome: history.OK, Node: b.node(node), Timeline: tl, LSN: lsn})
}

func (b *builder) errIdx(msg string) uint32 {
	b.t.Errors = append(b.t.Errors, msg)
	return uint32(len(b.t.Errors) - 1)
}

func (b *builder) fail(inv, ret float64) int64 {
	return b.add(history.Op{Invoke: sec(inv), Return: sec(ret), Outcome: history.Fail, Node: history.NoNode, Err: b.errIdx("connection refused")})
}

func (b *builder) unk(inv, ret float64) int64 {
	return b.add(history.Op{Invoke: sec(inv), Return: sec(ret), Outcome: history.Unknown, Node: history.NoNode, Err: b.errIdx("timeout")})
}

func (b *builder) pending(inv float64) int64 {
	return b.add(history.Op{Invoke: sec(inv), Outcome: history.Pending, Node: history.NoNode})
}

// acks adds one acknowledged write every step from 'from' (inclusive) to 'to'
// (exclusive), each taking a tenth of step.
func (b *builder) acks(from, to, step float64, node string, tl uint32) {
	for x := from; x < to-1e-9; x += step {
		b.ok(x, x+step/10, node, tl)
	}
}

// fails adds one failed write every step from 'from' to 'to' (exclusive).
func (b *builder) fails(from, to, step float64) {
	for x := from; x < to-1e-9; x += step {
		b.fail(x, x+step/10)
	}
}

func (b *builder) end(s float64) *builder { b.t.End = sec(s); return b }

func (b *builder) inst(name string) history.InstanceID {
	if i, ok := b.insts[name]; ok {
		return i
	}
	i := history.InstanceID(len(b.t.Instances))
	b.t.Instances = append(b.t.Instances, history.Instance{Name: name})
	b.insts[name] = i
	return i
}

// primary, replica and down record observations.
func (b *builder) primary(at float64, name string, tl uint32) {
	b.t.Observations = append(b.t.Observations, history.Observation{At: sec(at), Instance: b.inst(name), Reachable: true, Timeline: tl})
}

func (b *builder) replica(at float64, name string, tl uint32, streaming bool) {
	b.t.Observations = append(b.t.Observations, history.Observation{At: sec(at), Instance: b.inst(name), Reachable: true, InRecovery: true, Timeline: tl, Streaming: streaming})
}

func (b *builder) down(at float64, name string) {
	b.t.Observations = append(b.t.Observations, history.Observation{At: sec(at), Instance: b.inst(name), Err: b.errIdx("connection refused")})
}

// rounds records a healthy cluster every step from 'from' to 'to'
// (exclusive): prim primary on tl, the others streaming replicas.
func (b *builder) rounds(from, to, step float64, tl uint32, prim string, replicas ...string) {
	for x := from; x < to-1e-9; x += step {
		b.primary(x, prim, tl)
		for _, r := range replicas {
			b.replica(x, r, tl, true)
		}
	}
}

func (b *builder) fault(name string, inj, rec float64) {
	b.t.Faults = append(b.t.Faults, history.FaultWindow{Name: name, Injected: sec(inj), Recovered: sec(rec)})
}

func (b *builder) event(at float64, kind string) {
	b.t.Events = append(b.t.Events, history.Event{At: sec(at), Kind: kind})
}

func (b *builder) final(ins ...history.InstanceState) *builder {
	b.t.Final = &history.FinalState{Instances: ins}
	return b
}

// state is a reachable instance of the final state holding ids.
func state(name string, primary bool, tl uint32, present []history.IDRange) history.InstanceState {
	return history.InstanceState{Name: name, Reachable: true, Primary: primary, Timeline: tl, Present: present}
}

// presentExcept returns the ids of ops that are acknowledged (plus extra ids)
// minus the excluded ones, as ranges.
func (b *builder) presentExcept(exclude ...int64) []history.IDRange {
	return b.present(func(op history.Op) bool { return op.Outcome == history.OK }, exclude...)
}

// present returns the ids of the ops keep selects, minus exclude, as ranges.
func (b *builder) present(keep func(history.Op) bool, exclude ...int64) []history.IDRange {
	ex := map[int64]bool{}
	for _, id := range exclude {
		ex[id] = true
	}
	var ids []int64
	for _, op := range b.t.Ops {
		if keep(op) && !ex[op.ID] {
			ids = append(ids, op.ID)
		}
	}
	return ranges(ids)
}

func ranges(ids []int64) []history.IDRange {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var rs []history.IDRange
	for _, id := range ids {
		if n := len(rs); n > 0 && rs[n-1].Last+1 >= id {
			rs[n-1].Last = max(rs[n-1].Last, id)
			continue
		}
		rs = append(rs, history.IDRange{First: id, Last: id})
	}
	return rs
}

// fig returns a figure of v, failing the test when it is missing.
func fig(tb testing.TB, v history.Verdict, name string) any {
	tb.Helper()
	x, ok := v.Figures[name]
	if !ok {
		tb.Fatalf("%s: figure %q missing (figures: %v)", v.Name, name, v.Figures)
	}
	return x
}

// checkShape verifies what every verdict must hold.
func checkShape(tb testing.TB, v history.Verdict, name string) {
	tb.Helper()
	if v.Name != name {
		tb.Errorf("name %q, want %q", v.Name, name)
	}
	if v.Figures == nil {
		tb.Errorf("%s: nil figures", name)
	}
	if v.Evidence == nil {
		tb.Errorf("%s: nil evidence", name)
	}
	if v.Summary == "" {
		tb.Errorf("%s: empty summary", name)
	}
	switch v.Status {
	case history.Pass:
	case history.Failed:
		if len(v.Evidence) == 0 {
			tb.Errorf("%s failed without evidence: %s", name, v.Summary)
		}
	case history.Undecided:
		if v.Reason == "" {
			tb.Errorf("%s unknown without a reason", name)
		}
	default:
		tb.Errorf("%s: status %q", name, v.Status)
	}
	if len(v.Evidence) > DefaultMaxEvidence {
		tb.Errorf("%s: %d pieces of evidence, more than %d", name, len(v.Evidence), DefaultMaxEvidence)
	}
}

// run runs one checker with the default config and checks the verdict's
// shape and status.
func run(tb testing.TB, c Checker, t *history.Trial, want history.Status) history.Verdict {
	tb.Helper()
	v := c.Check(t, Config{})
	checkShape(tb, v, c.Name())
	if v.Status != want {
		tb.Fatalf("%s: status %s, want %s: %s %s (figures %v, evidence %+v)", c.Name(), v.Status, want, v.Summary, v.Reason, v.Figures, v.Evidence)
	}
	return v
}
