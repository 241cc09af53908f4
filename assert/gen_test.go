package assert

// The scenario model of the generated-history proofs (issue 12): a small
// simulation of a PostgreSQL cluster and its clients that knows the truth
// (which writes were acknowledged, applied, lost; when writes were failing;
// whether two primaries accepted writes at once) and records what pgchaos
// would have recorded: the ledger, the monitor's observations, the fault log
// and the final state. props_test.go judges the checkers' verdicts on these
// trials against the independent oracle of oracle_test.go and the model.
//
// Times are integer microseconds from the trial's start (figures are
// rounded to the microsecond). Structure (phases, budgets, the final state's
// shape) is drawn from rapid, so a failure shrinks to a small scenario;
// per-write jitter comes from a PRNG seeded by one rapid draw.

import (
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/history"
	"pgregory.net/rapid"
)

const (
	gMS = int64(1000)
	gS  = int64(1000000)
	// gSysID is the cluster's system identifier; gForeignSysID another
	// database system's.
	gSysID        = "7400000000000000001"
	gForeignSysID = "7499999999999999999"
	// gOpCap bounds the writes of one generated trial.
	gOpCap = 420
)

func gDur(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// gRole is a server's role at a moment.
type gRole uint8

const (
	gDown gRole = iota
	gPrimary
	gReplica
)

// gSeg is a server's state from a moment on.
type gSeg struct {
	from      int64
	role      gRole
	inc       int
	tl        uint32
	streaming bool
}

// gLineage is one history of the data: the writes applied to it, in order.
type gLineage struct{ ops []*gOp }

// gEpoch is a server acting as primary on a timeline, writing a lineage.
type gEpoch struct {
	server int
	inc    int
	tl     uint32
	lin    *gLineage
	hist   []gSwitch
}

// gSwitch is a timeline switch of an epoch's history, its LSN computed
// once LSNs are assigned.
type gSwitch struct {
	tli uint32
	lin *gLineage
}

// gOp is one write of the model.
type gOp struct {
	client   uint32
	inv, ret int64
	outcome  history.Outcome
	ep       *gEpoch // the epoch it was sent to (nil: none reachable)
	alias    bool    // sent through the server's second address
	applied  bool    // the server applied it (ok: always)
	commitAt int64
	errMsg   string
	gone     bool // invoked after the harness died: never happened
	id       int64
	lsn      history.LSN
}

type gKind uint8

const (
	gNormal gKind = iota
	gOutage
	gPartial
	gSlow
	gSplit
	gHandoff
	gEndOutage
	gFlapping
)

// gPhase is one phase of a scenario.
type gPhase struct {
	kind      gKind
	from, to  int64
	how       int // outage: 0 restart, 1 failover lossless, 2 failover lossy, 3 partition healed; split: 0 old demoted, 1 new demoted, 2 persists
	stalled   int // partial: clients stalled; slow: 0 = every client slow, else 1 slow client
	adjacent  bool
	lossUS    int64
	failShare int // outage: percent of writes that fail fast (the rest time out)
	desc      string
}

// gSpan is an interval of the model's truth.
type gSpan struct{ from, to int64 }

// gModel is what the scenario knows about itself.
type gModel struct {
	cfg                 Config
	budget, gapThr      time.Duration // effective Config values
	replBudget          time.Duration
	nClients            int
	lat                 []int64
	maxLat              int64
	phases              []gPhase
	outages             []gSpan // closed: all writes failing from..to
	endOutage           bool
	concurrentPrimaries bool
	touchAt             int64 // a switchover the monitor sees at one instant from both servers (-1: none)
	coarse              bool  // times rounded to 10 ms: many equal times
	twoAddr             bool
	ledgerIdent         bool // ledger nodes carry Started
	ledgerSysID         bool // ledger nodes carry SystemID
	monitorIdent        bool // observations carry the server's identity
	monitorBlips        bool
	monitor             bool
	pollUS              int64
	truncated           bool
	tc, td              int64 // truncation: last record kept, harness death
	end                 int64 // ledger end (complete ledger) or td
	finalDesc           string
	lostTruth           int // acknowledged writes absent from the winning lineage (-1: not one winner)
	corrupt             []string
	slowRegression      bool
	foreign             bool // the final state lists another database system
}

// gSim is the simulation that builds a trial.
type gSim struct {
	t        *rapid.T
	rnd      *rand.Rand
	m        *gModel
	lat      []int64
	ct       []int64
	ops      []*gOp
	nServers int
	inc      []int
	segs     [][]gSeg
	cur      *gEpoch   // the primary (nil in an outage)
	split    *gEpoch   // the second primary of a split brain
	side     []bool    // split: the client writes to split
	stalled  []bool    // partial/slow phase: the client is stalled
	winners  []*gEpoch // the primaries at the end
	ended    *gEpoch   // the primary an end outage took down
	tlMax    uint32
	faults   []history.FaultWindow
	events   []history.Event
}

func (g *gSim) intn(lo, hi int, label string) int { return rapid.IntRange(lo, hi).Draw(g.t, label) }

// coin is true pct percent of the time (rapid draws small values more
// often, and shrinks towards them: towards false, the simpler scenario).
func (g *gSim) coin(pct int, label string) bool {
	return rapid.IntRange(0, 99).Draw(g.t, label) >= 100-pct
}
func (g *gSim) jit(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + g.rnd.Int63n(hi-lo+1)
}

// setState sets a server's state from seg.from on, cancelling what was
// scheduled after it.
func (g *gSim) setState(s int, seg gSeg) {
	g.segs[s] = slices.DeleteFunc(g.segs[s], func(x gSeg) bool { return x.from > seg.from })
	g.segs[s] = append(g.segs[s], seg)
}

func (g *gSim) stateAt(s int, at int64) gSeg {
	st := gSeg{role: gDown, from: -1}
	for _, x := range g.segs[s] {
		if x.from <= at && x.from >= st.from {
			st = x
		}
	}
	return st
}

// replicasFollow puts every server but the primaries in recovery, streaming
// from the primary after delay (never when delay < 0).
func (g *gSim) replicasFollow(at int64, p *gEpoch, delay int64, except ...int) {
	for s := 0; s < g.nServers; s++ {
		if s == p.server || slices.Contains(except, s) || (g.split != nil && s == g.split.server) {
			continue
		}
		st := g.stateAt(s, at)
		inc := st.inc
		if st.role == gDown || st.role == gPrimary {
			inc = g.bump(s)
		}
		g.setState(s, gSeg{from: at, role: gReplica, inc: inc, tl: p.tl})
		if delay >= 0 {
			g.setState(s, gSeg{from: at + delay, role: gReplica, inc: inc, tl: p.tl, streaming: true})
		}
	}
}

func (g *gSim) bump(s int) int { g.inc[s]++; return g.inc[s] }

// replDelay draws how long replicas take to stream again after an event.
func (g *gSim) replDelay(label string) int64 {
	switch g.intn(0, 9, label) {
	case 8:
		return -1 // never
	case 9:
		return int64(g.m.replBudget/time.Microsecond) + g.jit(gS, 20*gS)
	}
	return g.jit(200*gMS, 8*gS)
}

// kill ends an epoch at 'at': writes it had in flight go unknown.
func (g *gSim) kill(ep *gEpoch, at int64) {
	for _, op := range g.ops {
		if op.ep == ep && op.outcome == history.OK && op.ret > at {
			op.outcome = history.Unknown
			op.ret = at + g.jit(0, 100*gMS)
			op.applied = g.rnd.Intn(2) == 0
			op.commitAt = min(op.commitAt, at)
			op.errMsg = "FATAL: terminating connection due to administrator command"
			g.ct[op.client] = op.ret + g.jit(0, 5*gMS)
		}
	}
}

func (g *gSim) add(op *gOp) *gOp {
	g.ops = append(g.ops, op)
	if op.ep != nil && op.applied {
		op.ep.lin.ops = append(op.ep.lin.ops, op)
	}
	g.ct[op.client] = op.ret + g.jit(0, 3*gMS)
	return op
}

// ok adds a write acknowledged by ep.
func (g *gSim) ok(c int, inv, lat int64, ep *gEpoch) *gOp {
	ret := inv + max(lat, 1)
	op := &gOp{client: uint32(c), inv: inv, ret: ret, outcome: history.OK, ep: ep, applied: true, commitAt: ret}
	if g.m.twoAddr && ep.server == 0 && c%2 == 1 {
		op.alias = true
	}
	return g.add(op)
}

// lat draws a write's latency for client c, stretched to at least floor.
func (g *gSim) latOf(c int, floor int64) int64 {
	l := max(g.lat[c], floor)
	return g.jit(l*8/10, l*12/10)
}

// copyLineage returns the writes of l committed at or before cut.
func copyLineage(l *gLineage, cut int64) *gLineage {
	n := &gLineage{}
	for _, op := range l.ops {
		if op.commitAt <= cut {
			n.ops = append(n.ops, op)
		}
	}
	return n
}

func (g *gSim) promote(s int, parent *gEpoch, lin *gLineage) *gEpoch {
	g.tlMax++
	ep := &gEpoch{server: s, inc: g.inc[s], tl: g.tlMax, lin: lin}
	ep.hist = append(slices.Clone(parent.hist), gSwitch{tli: parent.tl, lin: lin})
	return ep
}

// otherServer draws a server other than s.
func (g *gSim) otherServer(s int, label string) int {
	o := g.intn(0, g.nServers-2, label)
	if o >= s {
		o++
	}
	return o
}

// genModel draws a scenario and runs it.
func genTrial(t *rapid.T) (*history.Trial, *gModel) {
	return genTrialWith(t, -1, false)
}

// genTrialWith draws a scenario; clients >= 0 forces the number of clients,
// slowRegression draws the key regression (one client at 1.2 s per commit).
func genTrialWith(t *rapid.T, clients int, slowRegression bool) (*history.Trial, *gModel) {
	m := &gModel{touchAt: -1}
	g := &gSim{t: t, m: m}
	g.rnd = rand.New(rand.NewSource(rapid.Int64().Draw(t, "seed")))

	// Budgets: mostly the defaults.
	switch g.intn(0, 5, "config") {
	case 4:
		m.cfg = Config{RTOBudget: 10 * time.Second, GapThreshold: 500 * time.Millisecond, ReplicationBudget: 20 * time.Second}
	case 5:
		m.cfg = Config{RTOBudget: 45 * time.Second, GapThreshold: 2 * time.Second}
	default:
		m.cfg = Config{}
	}
	m.budget, m.gapThr, m.replBudget = DefaultRTOBudget, DefaultGapThreshold, DefaultReplicationBudget
	if m.cfg.RTOBudget > 0 {
		m.budget = m.cfg.RTOBudget
	}
	if m.cfg.GapThreshold > 0 {
		m.gapThr = m.cfg.GapThreshold
	}
	if m.cfg.ReplicationBudget > 0 {
		m.replBudget = m.cfg.ReplicationBudget
	}
	budgetUS := int64(m.budget / time.Microsecond)

	n := clients
	if n < 0 {
		n = g.intn(1, 8, "clients")
	}
	m.nClients = n
	g.lat = make([]int64, n)
	g.ct = make([]int64, n)
	g.side = make([]bool, n)
	g.stalled = make([]bool, n)
	for c := range n {
		if !slowRegression && g.coin(15, "slow-client") {
			g.lat[c] = g.jit(500*gMS, 1500*gMS)
		} else {
			g.lat[c] = g.jit(3*gMS, 250*gMS)
		}
		m.maxLat = max(m.maxLat, g.lat[c])
		g.ct[c] = g.jit(0, 20*gMS)
	}
	m.lat = g.lat

	g.nServers = g.intn(2, 3, "servers")
	g.inc = make([]int, g.nServers)
	g.segs = make([][]gSeg, g.nServers)
	m.twoAddr = g.coin(25, "two-addresses")
	m.ledgerSysID = !g.coin(10, "ledger-without-sysid")
	m.ledgerIdent = m.ledgerSysID && !g.coin(15, "ledger-without-started")
	m.monitor = !g.coin(12, "no-monitor")
	m.monitorIdent = !g.coin(20, "monitor-without-ident")
	m.monitorBlips = g.coin(20, "monitor-blips")
	m.coarse = g.coin(20, "coarse-clock")
	g.tlMax = 1
	g.cur = &gEpoch{server: 0, inc: 0, tl: 1, lin: &gLineage{}}
	g.setState(0, gSeg{from: 0, role: gPrimary, tl: 1})
	for s := 1; s < g.nServers; s++ {
		g.setState(s, gSeg{from: 0, role: gReplica, tl: 1, streaming: true})
	}

	// The plan.
	var kinds []gKind
	if slowRegression {
		m.slowRegression = true
		kinds = []gKind{gNormal, gSlow}
		if g.coin(50, "regression-tail") {
			kinds = append(kinds, gNormal)
		}
	} else {
		kinds = []gKind{gNormal}
		np := g.intn(0, 5, "phases")
		for i := range np {
			k := gKind(g.intn(0, 7, fmt.Sprintf("kind-%d", i)))
			if k == gEndOutage && i != np-1 {
				k = gOutage
			}
			kinds = append(kinds, k)
		}
	}
	now := int64(0)
	for pi, k := range kinds {
		if len(g.ops) >= gOpCap {
			break
		}
		last := pi == len(kinds)-1
		ph := gPhase{kind: k, from: now}
		switch k {
		case gNormal:
			ph.to = now + g.normalDur(g.intn(2, 30, "normal-ops"))
			g.normal(&ph, 0)
		case gOutage, gEndOutage:
			g.outage(&ph, pi, budgetUS, last)
		case gPartial:
			g.partial(&ph, pi)
		case gSlow:
			g.slow(&ph, pi, slowRegression)
		case gSplit:
			g.splitPhase(&ph, pi, last)
		case gHandoff:
			g.handoff(&ph, pi)
		case gFlapping:
			g.flapping(&ph, pi)
		}
		now = ph.to
		m.phases = append(m.phases, ph)
	}
	if g.split != nil {
		g.winners = []*gEpoch{g.cur, g.split}
	} else if g.cur != nil {
		g.winners = []*gEpoch{g.cur}
	} else if g.ended != nil {
		// After the end outage the old primary came back (read after
		// recovery).
		g.winners = []*gEpoch{g.ended}
	}

	// The end of the ledger: every client finishes its write.
	end := now
	for _, op := range g.ops {
		end = max(end, op.ret, op.inv)
	}
	end += g.jit(0, 100*gMS)
	m.end = end

	// Truncation: the harness died at td; the ledger holds the records up
	// to tc (the appender flushes every 200 ms).
	firstInv := end
	for _, op := range g.ops {
		firstInv = min(firstInv, op.inv)
	}
	if !slowRegression && g.coin(18, "truncate") {
		m.truncated = true
		m.td = firstInv + 1 + g.rnd.Int63n(max(end-firstInv, 1))
		m.tc = max(m.td-g.jit(0, 200*gMS), firstInv)
		for _, op := range g.ops {
			if op.inv > m.td {
				op.gone = true
			}
		}
		m.end = m.td
	}
	return g.build(), m
}

// normalDur is the duration in which the clients make about k writes.
func (g *gSim) normalDur(k int) int64 {
	rate := 0.0
	for _, l := range g.lat {
		rate += 1 / float64(l)
	}
	return max(int64(float64(k)/rate), 5*gMS)
}

// epochOf returns the epoch client c writes to.
func (g *gSim) epochOf(c int) *gEpoch {
	if g.split != nil && g.side[c] {
		return g.split
	}
	return g.cur
}

// normal: every client writes and is acknowledged; floor stretches latencies.
func (g *gSim) normal(ph *gPhase, floor int64) {
	for c := range g.lat {
		for t := max(g.ct[c], ph.from); t < ph.to && len(g.ops) < gOpCap; t = g.ct[c] {
			g.ok(c, t, g.latOf(c, floor), g.epochOf(c))
		}
	}
	ph.desc = fmt.Sprintf("normal %.3fs-%.3fs", float64(ph.from)/1e6, float64(ph.to)/1e6)
}

func (g *gSim) fault(name string, inj, rec int64) {
	g.faults = append(g.faults, history.FaultWindow{Name: name, Target: "pg", Injected: gDur(inj), Recovered: gDur(rec), Detail: "generated"})
}

// outage: the primary is gone; every write fails fast or times out.
func (g *gSim) outage(ph *gPhase, pi int, budgetUS int64, last bool) {
	m := g.m
	var d int64
	switch g.intn(0, 3, "outage-class") {
	case 0:
		d = g.jit(200*gMS, 900*gMS)
	case 1, 2:
		d = g.jit(gS, max(budgetUS-6*gS, 2*gS))
	default:
		d = g.jit(budgetUS+gS, budgetUS*5/2)
	}
	ph.to = ph.from + d
	ph.failShare = []int{100, 70, 30, 0}[g.intn(0, 3, "fail-share")]
	old := g.cur
	if g.split != nil { // an outage ends a split brain: both primaries die
		g.kill(g.split, ph.from)
		g.split = nil
	}
	g.kill(old, ph.from)
	if ph.kind == gOutage {
		ph.how = g.intn(0, 3, "outage-how")
	}
	// Down, or cut off (a partition): the monitor cannot tell.
	g.setState(old.server, gSeg{from: ph.from, role: gDown, inc: old.inc, tl: old.tl})
	for s := 0; s < g.nServers; s++ {
		if s != old.server {
			st := g.stateAt(s, ph.from)
			if st.role == gReplica {
				g.setState(s, gSeg{from: ph.from, role: gReplica, inc: st.inc, tl: st.tl})
			}
		}
	}
	g.cur = nil
	backoff := max(d/30, 200*gMS)
	nOps := 0
	for c := range g.lat {
		for t := max(g.ct[c], ph.from); t < ph.to && len(g.ops) < gOpCap; t = g.ct[c] {
			var op *gOp
			if int(g.rnd.Intn(100)) < ph.failShare {
				op = &gOp{client: uint32(c), inv: t, ret: t + g.jit(gMS, 50*gMS), outcome: history.Fail, errMsg: "dial tcp: connection refused"}
				g.add(op)
				g.ct[c] = op.ret + g.jit(backoff/2, backoff*3/2)
			} else {
				op = &gOp{client: uint32(c), inv: t, ret: t + g.jit(gS, 5*gS), outcome: history.Unknown, errMsg: "timeout: context deadline exceeded"}
				g.add(op)
			}
			nOps++
		}
	}
	name := fmt.Sprintf("kill-primary-%d", pi)
	if ph.kind == gEndOutage {
		m.endOutage = true
		rec := int64(0)
		if g.coin(30, "end-outage-fault-recovered") {
			rec = ph.to
		}
		g.fault(name, ph.from, rec)
		g.ended = old
		ph.desc = fmt.Sprintf("end-outage %.3fs-%.3fs (%d%% fail fast)", float64(ph.from)/1e6, float64(ph.to)/1e6, ph.failShare)
		g.cur = nil
		return
	}
	m.outages = append(m.outages, gSpan{ph.from, ph.to})
	g.fault(name, ph.from, ph.to+g.jit(0, gS))
	at := ph.to
	delay := g.replDelay("outage-repl-delay")
	switch ph.how {
	case 0: // the same server restarts: a new postmaster, the same timeline
		ep := &gEpoch{server: old.server, inc: g.bump(old.server), tl: old.tl, lin: old.lin, hist: old.hist}
		g.setState(old.server, gSeg{from: at, role: gPrimary, inc: ep.inc, tl: ep.tl})
		g.cur = ep
		g.replicasFollow(at, ep, delay)
	case 1, 2: // failover to another server, with or without loss
		b := g.otherServer(old.server, "failover-to")
		lin := old.lin
		if ph.how == 2 {
			ph.lossUS = g.jit(0, 2*gS)
			lin = copyLineage(old.lin, ph.from-ph.lossUS)
		}
		ep := g.promote(b, old, lin)
		g.setState(b, gSeg{from: at, role: gPrimary, inc: ep.inc, tl: ep.tl})
		g.events = append(g.events, history.Event{At: gDur(at), Kind: history.EventPromoted, Detail: fmt.Sprintf("pg%d", b)})
		g.cur = ep
		g.replicasFollow(at, ep, delay)
		if g.coin(30, "old-primary-stays-down") {
			g.setState(old.server, gSeg{from: at, role: gDown, inc: g.inc[old.server], tl: old.tl})
		}
	case 3: // a partition healed: the same postmaster is primary again
		g.setState(old.server, gSeg{from: at, role: gPrimary, inc: old.inc, tl: old.tl})
		g.cur = old
		g.replicasFollow(at, old, delay)
	}
	ph.desc = fmt.Sprintf("outage %.3fs-%.3fs (%d%% fail fast) then %s", float64(ph.from)/1e6, float64(ph.to)/1e6, ph.failShare,
		[]string{"restart", "failover", fmt.Sprintf("lossy failover (%.3fs lost)", float64(ph.lossUS)/1e6), "partition healed"}[ph.how])
}

// partial: k of n clients stalled; the others are acknowledged.
func (g *gSim) partial(ph *gPhase, pi int) {
	n := len(g.lat)
	d := g.jit(500*gMS, 40*gS)
	ph.to = ph.from + d
	k := 1
	if n > 1 {
		k = g.intn(1, n-1, "stalled")
	}
	ph.stalled = k
	others := n - k
	floor := int64(0)
	if others > 0 {
		floor = d * int64(others) / 40
	}
	for c := range n {
		if c < k {
			t := max(g.ct[c], ph.from)
			if t >= ph.to || len(g.ops) >= gOpCap {
				continue
			}
			ret := ph.to + g.jit(0, 50*gMS)
			if g.rnd.Intn(3) == 0 {
				g.add(&gOp{client: uint32(c), inv: t, ret: ret, outcome: history.Unknown, errMsg: "timeout: context deadline exceeded", ep: g.epochOf(c), applied: g.rnd.Intn(2) == 0, commitAt: ret})
			} else {
				g.ok(c, t, ret-t, g.epochOf(c))
			}
			continue
		}
		for t := max(g.ct[c], ph.from); t < ph.to && len(g.ops) < gOpCap; t = g.ct[c] {
			g.ok(c, t, g.latOf(c, floor), g.epochOf(c))
		}
	}
	ph.desc = fmt.Sprintf("partial %.3fs-%.3fs (%d of %d clients stalled)", float64(ph.from)/1e6, float64(ph.to)/1e6, k, n)
	_ = pi
}

// slow: commits take ~1.2 s; either one client is slow and the others are
// stalled, or every client is slow.
func (g *gSim) slow(ph *gPhase, pi int, regression bool) {
	n := len(g.lat)
	var d int64
	if regression {
		d = g.jit(38*gS, 42*gS)
	} else {
		d = g.jit(2*gS, 45*gS)
	}
	ph.to = ph.from + d
	ph.stalled = 1
	if g.coin(40, "all-slow") {
		ph.stalled = 0
	}
	for c := range n {
		if ph.stalled == 1 && c > 0 {
			t := max(g.ct[c], ph.from)
			if t < ph.to && len(g.ops) < gOpCap {
				ret := ph.to + g.jit(0, 30*gMS)
				g.ok(c, t, ret-t, g.epochOf(c))
			}
			continue
		}
		for t := max(g.ct[c], ph.from); t < ph.to && len(g.ops) < gOpCap; t = g.ct[c] {
			g.ok(c, t, g.jit(1150*gMS, 1250*gMS), g.epochOf(c))
		}
	}
	who := "one client slow, the others stalled"
	if ph.stalled == 0 {
		who = "every client slow"
	}
	ph.desc = fmt.Sprintf("slow %.3fs-%.3fs (1.2 s per commit, %s)", float64(ph.from)/1e6, float64(ph.to)/1e6, who)
	_ = pi
}

// splitPhase: a second primary is promoted while the first still accepts
// writes; the clients are divided between them.
func (g *gSim) splitPhase(ph *gPhase, pi int, last bool) {
	m := g.m
	if g.cur == nil || g.split != nil {
		ph.to = ph.from + g.normalDur(5)
		g.normal(ph, 0)
		return
	}
	d := g.jit(200*gMS, 20*gS)
	ph.to = ph.from + d
	a := g.cur
	b := g.otherServer(a.server, "split-to")
	lag := int64(0)
	if g.coin(50, "split-lag") {
		lag = g.jit(0, gS)
	}
	bep := g.promote(b, a, copyLineage(a.lin, ph.from-lag))
	g.setState(b, gSeg{from: ph.from, role: gPrimary, inc: bep.inc, tl: bep.tl})
	g.events = append(g.events, history.Event{At: gDur(ph.from), Kind: history.EventPromoted, Detail: fmt.Sprintf("pg%d", b)})
	g.split = bep
	m.concurrentPrimaries = true
	for c := range g.side {
		g.side[c] = c%2 == 1
		if len(g.side) > 2 && g.rnd.Intn(3) == 0 {
			g.side[c] = !g.side[c]
		}
	}
	floor := d * int64(len(g.lat)) / 40
	for c := range g.lat {
		for t := max(g.ct[c], ph.from); t < ph.to && len(g.ops) < gOpCap; t = g.ct[c] {
			g.ok(c, t, g.latOf(c, floor), g.epochOf(c))
		}
	}
	g.fault(fmt.Sprintf("partition-%d", pi), ph.from, ph.to)
	ph.how = g.intn(0, 2, "split-how")
	if ph.how == 2 && !last {
		ph.how = 0
	}
	delay := g.replDelay("split-repl-delay")
	switch ph.how {
	case 0: // the old primary is fenced and rejoins: its writes are lost
		g.kill(a, ph.to)
		g.cur, g.split = bep, nil
		g.setState(a.server, gSeg{from: ph.to, role: gDown, inc: a.inc, tl: a.tl})
		g.replicasFollow(ph.to+g.jit(0, gS), bep, delay)
	case 1: // the new primary is demoted
		g.kill(bep, ph.to)
		g.split = nil
		g.setState(bep.server, gSeg{from: ph.to, role: gDown, inc: bep.inc, tl: bep.tl})
		g.replicasFollow(ph.to+g.jit(0, gS), a, delay)
	case 2: // both stay primaries to the end
	}
	ph.desc = fmt.Sprintf("split brain %.3fs-%.3fs pg%d and pg%d, %s", float64(ph.from)/1e6, float64(ph.to)/1e6, a.server, b,
		[]string{"old primary fenced", "new primary demoted", "both primaries to the end"}[ph.how])
}

// handoff: a switchover without loss or outage; optionally a write of the
// new primary is acknowledged exactly when the old one's last write is
// invoked (adjacent, not overlapping).
func (g *gSim) handoff(ph *gPhase, pi int) {
	m := g.m
	if g.cur == nil || g.split != nil {
		ph.to = ph.from + g.normalDur(5)
		g.normal(ph, 0)
		return
	}
	a := g.cur
	b := g.otherServer(a.server, "handoff-to")
	// The switch happens once the old primary's writes are done.
	at := ph.from
	var lastInvA int64 = -1
	for _, op := range g.ops {
		if op.ep == a && op.outcome == history.OK {
			at = max(at, op.ret)
			lastInvA = max(lastInvA, op.inv)
		}
	}
	bep := g.promote(b, a, a.lin)
	from := at
	ph.adjacent = g.coin(50, "adjacent")
	if ph.adjacent && lastInvA >= 0 {
		// A client idle at lastInvA writes to b, acknowledged exactly then.
		y := -1
		for c := range g.lat {
			var busy bool
			for _, op := range g.ops {
				if int(op.client) == c && op.ret >= lastInvA-gMS && op.inv <= lastInvA {
					busy = true
					break
				}
			}
			if !busy {
				y = c
				break
			}
		}
		if y >= 0 {
			inv := lastInvA - gMS
			for _, op := range g.ops {
				if int(op.client) == y && op.ret < lastInvA {
					inv = max(inv, op.ret+1)
				}
			}
			from = min(from, inv)
			g.ok(y, inv, lastInvA-inv, bep)
			g.ct[y] = max(g.ct[y], at)
			m.concurrentPrimaries = true
		} else {
			ph.adjacent = false
		}
	}
	g.setState(b, gSeg{from: from, role: gPrimary, inc: bep.inc, tl: bep.tl})
	down := at
	if !ph.adjacent && m.touchAt < 0 && g.coin(40, "touch") {
		// The monitor polls both at the switchover's instant and sees two
		// primaries there, and only there: runs that touch.
		m.touchAt = at
		down = at + 1
	}
	g.setState(a.server, gSeg{from: down, role: gDown, inc: a.inc, tl: a.tl})
	g.events = append(g.events, history.Event{At: gDur(at), Kind: history.EventPromoted, Detail: fmt.Sprintf("pg%d", b)})
	g.fault(fmt.Sprintf("switchover-%d", pi), ph.from, at)
	g.cur = bep
	g.replicasFollow(at+g.jit(0, 500*gMS), bep, g.replDelay("handoff-repl-delay"))
	ph.from = max(ph.from, at)
	ph.to = ph.from + g.normalDur(g.intn(2, 20, "handoff-ops"))
	for c := range g.lat {
		g.ct[c] = max(g.ct[c], at)
	}
	g.normal(ph, 0)
	ph.desc = fmt.Sprintf("switchover pg%d->pg%d at %.3fs (adjacent %v), then %s", a.server, b, float64(at)/1e6, ph.adjacent, ph.desc)
}

// flapping: acknowledgements and failures alternate (a connection pool
// half broken): every gap between two acknowledgements holds a failed
// write; many short windows (more than a verdict lists, at times).
func (g *gSim) flapping(ph *gPhase, pi int) {
	if g.cur == nil {
		ph.to = ph.from + g.normalDur(5)
		g.normal(ph, 0)
		return
	}
	step := g.jit(20*gMS, 200*gMS)
	gaps := int64(g.intn(5, 230, "flaps"))
	ph.to = ph.from + gaps*step
	t := ph.from
	for c := range g.ct {
		t = max(t, g.ct[c])
	}
	for ; t < ph.to && len(g.ops) < gOpCap+120; t += step {
		g.ok(0, t, step/10, g.epochOf(0))
		inv := t + step/2
		g.add(&gOp{client: uint32(min(1, len(g.lat)-1)), inv: inv, ret: inv + step/10, outcome: history.Fail, errMsg: "ERROR: no connection to the server"})
	}
	for c := range g.ct {
		g.ct[c] = max(g.ct[c], t)
	}
	ph.to = max(ph.to, t)
	ph.desc = fmt.Sprintf("flapping %.3fs-%.3fs (an acknowledgement and a failure every %.3fs)", float64(ph.from)/1e6, float64(ph.to)/1e6, float64(step)/1e6)
	_ = pi
}

// Naming.
func gAddr(s int) string  { return fmt.Sprintf("10.0.0.%d:5432", s+1) }
func gAlias(s int) string { return fmt.Sprintf("127.0.0.1:54%02d", s) }
func gStarted(s, inc int) string {
	return fmt.Sprintf("2026-12-02 2%d:%02d:00.%06d+00", s, inc, 100000+s*1000+inc)
}
func gIdent(s, inc int) string { return gSysID + "@" + gStarted(s, inc) }

// build turns the simulation into a trial.
func (g *gSim) build() *history.Trial {
	m := g.m
	t := &history.Trial{Errors: []string{""}}
	errIdx := map[string]uint32{"": 0}
	intern := func(s string) uint32 {
		if i, ok := errIdx[s]; ok {
			return i
		}
		i := uint32(len(t.Errors))
		t.Errors = append(t.Errors, s)
		errIdx[s] = i
		return i
	}
	t.Meta = history.Meta{Format: history.LedgerFormat, Version: history.LedgerVersion, Table: "pgchaos_writes", Clients: m.nClients}
	if g.coin(15, "header-clients-zero") {
		t.Meta.Clients = 0
	}

	// A coarse clock: every time rounded to 10 ms, so that invocations,
	// acknowledgements and boundaries coincide.
	if m.coarse {
		r := func(x int64) int64 { return (x + 5*gMS) / (10 * gMS) * (10 * gMS) }
		for _, op := range g.ops {
			op.inv, op.ret, op.commitAt = r(op.inv), r(op.ret), r(op.commitAt)
		}
		m.end = r(m.end)
		if m.truncated {
			m.tc, m.td = r(m.tc), r(m.td)
			for _, op := range g.ops {
				op.gone = op.inv > m.td
			}
			m.end = m.td
		}
	}
	// Ids in invocation order; the harness's lost tail is dropped.
	var ops []*gOp
	for _, op := range g.ops {
		if !op.gone {
			ops = append(ops, op)
		}
	}
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].inv != ops[j].inv {
			return ops[i].inv < ops[j].inv
		}
		return ops[i].client < ops[j].client
	})
	for i, op := range ops {
		op.id = int64(i + 1)
	}
	// LSNs in acknowledgement order.
	acked := slices.Clone(ops)
	sort.SliceStable(acked, func(i, j int) bool { return acked[i].commitAt < acked[j].commitAt })
	lsn := history.LSN(0x3000000)
	for _, op := range acked {
		if op.applied {
			lsn += 0x100 + history.LSN(g.rnd.Intn(0x80))
			op.lsn = lsn
		}
	}
	g.ops = ops

	// Nodes.
	nodeIdx := map[[3]int]history.NodeID{}
	nodeOf := func(ep *gEpoch, alias bool) history.NodeID {
		k := [3]int{ep.server, ep.inc, 0}
		if alias {
			k[2] = 1
		}
		if n, ok := nodeIdx[k]; ok {
			return n
		}
		nd := history.Node{Server: gAddr(ep.server), Instance: fmt.Sprintf("pg%d", ep.server)}
		if alias {
			nd.Server = gAlias(ep.server)
		}
		if m.ledgerSysID {
			nd.SystemID = gSysID
		}
		if m.ledgerIdent {
			nd.Started = gStarted(ep.server, ep.inc)
		}
		n := history.NodeID(len(t.Nodes))
		t.Nodes = append(t.Nodes, nd)
		nodeIdx[k] = n
		return n
	}
	skew := make([]int64, g.nServers)
	for s := range skew {
		skew[s] = g.rnd.Int63n(1200*gS) - 600*gS
	}
	const wall = int64(1764633600000000) // 2025-12-02 in Unix µs
	var lastRec int64
	for _, op := range ops {
		h := history.Op{ID: op.id, Client: op.client, Invoke: gDur(op.inv), Node: history.NoNode}
		recorded := !m.truncated || op.inv <= m.tc
		if !recorded {
			break
		}
		lastRec = max(lastRec, op.inv)
		if m.truncated && op.ret > m.tc {
			h.Outcome = history.Pending
		} else {
			lastRec = max(lastRec, op.ret)
			h.Return = gDur(op.ret)
			h.Outcome = op.outcome
			switch op.outcome {
			case history.OK:
				h.Node = nodeOf(op.ep, op.alias)
				h.Timeline = op.ep.tl
				h.LSN = op.lsn
				h.ServerClock = wall + op.ret + skew[op.ep.server]
			default:
				h.Err = intern(op.errMsg)
			}
		}
		t.Ops = append(t.Ops, h)
	}
	if m.truncated {
		t.Truncated = true
		t.End = gDur(lastRec)
	} else {
		t.End = gDur(m.end)
	}

	// Fault log: what was written before the harness died.
	horizon := m.end
	if m.truncated {
		horizon = m.td
	}
	monEnd := m.end + g.jit(0, 2*gS) - gS
	if g.coin(25, "monitor-runs-longer") {
		monEnd = m.end + g.jit(0, 40*gS)
	}
	if m.truncated {
		monEnd = m.td
		if g.coin(40, "monitor-outlives-harness") {
			monEnd = m.td + g.jit(0, 30*gS)
		}
		horizon = monEnd
	}
	for _, f := range g.faults {
		if int64(f.Injected/time.Microsecond) > horizon {
			continue
		}
		if int64(f.Recovered/time.Microsecond) > horizon {
			f.Recovered = 0
		}
		t.Faults = append(t.Faults, f)
	}
	for _, e := range g.events {
		if int64(e.At/time.Microsecond) <= horizon {
			t.Events = append(t.Events, e)
		}
	}

	// Monitor.
	if m.monitor {
		g.monitor(t, monEnd, intern)
	}
	g.final(t)
	return t
}

// monitor polls every server (and the second address of server 0).
func (g *gSim) monitor(t *history.Trial, monEnd int64, intern func(string) uint32) {
	m := g.m
	insts := g.nServers
	if m.twoAddr {
		insts++
	}
	poll := g.jit(250*gMS, 2*gS)
	for monEnd/poll*int64(insts) > 700 {
		poll *= 2
	}
	m.pollUS = poll
	for i := range insts {
		name := fmt.Sprintf("pg%d", i)
		if i == g.nServers {
			name = "pg0-lo"
		}
		t.Instances = append(t.Instances, history.Instance{Name: name, Target: "host=" + name + " password=REDACTED"})
	}
	off := make([]int64, insts)
	first := poll / 2
	if m.touchAt >= 0 {
		first = m.touchAt % poll
	} else {
		for i := range off {
			off[i] = g.jit(0, 20*gMS)
		}
	}
	blip := 0
	if m.monitorBlips {
		blip = 8
	}
	for x := first; x <= monEnd; x += poll {
		for i := range insts {
			at := x + off[i]
			if at > monEnd {
				continue
			}
			s := i
			if i == g.nServers {
				s = 0
			}
			st := g.stateAt(s, at)
			o := history.Observation{At: gDur(at), Instance: history.InstanceID(i)}
			if st.role == gDown || (blip > 0 && at != m.touchAt && g.rnd.Intn(100) < blip) {
				o.Err = intern(fmt.Sprintf("dial tcp %s: connection refused", gAddr(s)))
			} else {
				o.Reachable = true
				o.Timeline = st.tl
				if m.monitorIdent {
					o.Ident = intern(gIdent(s, st.inc))
				}
				if st.role == gPrimary {
					o.WriteLSN = history.LSN(0x3000000 + at)
				} else {
					o.InRecovery = true
					o.Streaming = st.streaming
					if st.streaming {
						o.ReceiveLSN = history.LSN(0x3000000 + at)
						o.ReplayLSN = o.ReceiveLSN
					}
				}
			}
			t.Observations = append(t.Observations, o)
		}
	}
}

// present returns the ids of a lineage as ranges.
func (g *gSim) present(l *gLineage) []int64 {
	var ids []int64
	for _, op := range l.ops {
		if op.applied && !op.gone && op.id > 0 {
			ids = append(ids, op.id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func gRanges(ids []int64) []history.IDRange {
	ids = slices.Clone(ids)
	slices.Sort(ids)
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

// histOf returns an epoch's timeline history with switch LSNs: just after
// the last write of the parent timeline its lineage holds.
func (g *gSim) histOf(ep *gEpoch) []history.TimelineSwitch {
	var out []history.TimelineSwitch
	for _, sw := range ep.hist {
		var at history.LSN
		for _, op := range sw.lin.ops {
			if op.ep != nil && op.ep.tl == sw.tli && op.lsn > at && !op.gone {
				at = op.lsn
			}
		}
		if at == 0 {
			at = history.LSN(0x1000000 * uint64(sw.tli))
		}
		out = append(out, history.TimelineSwitch{TLI: sw.tli, SwitchLSN: at + 0x10})
	}
	return out
}

// final builds the final state: what was read from every server after
// recovery, with the drawn oddities.
func (g *gSim) final(t *history.Trial) {
	m := g.m
	switch g.intn(0, 19, "final-kind") {
	case 18:
		m.finalDesc = "no final state"
		m.lostTruth = -1
		return
	case 19:
		t.Final = &history.FinalState{ReadAt: t.End}
		m.finalDesc = "final state without instances"
		m.lostTruth = -1
		return
	}
	finalIdent := !g.coin(15, "final-without-started")
	f := &history.FinalState{ReadAt: t.End + gDur(gS)}
	winner := map[int]*gEpoch{}
	for _, w := range g.winners {
		winner[w.server] = w
	}
	// The lineage replicas follow: the winner's (the first when two).
	var main *gEpoch
	if len(g.winners) > 0 {
		main = g.winners[0]
	}
	var mainIDs []int64
	if main != nil {
		mainIDs = g.present(main.lin)
	}
	for s := 0; s < g.nServers; s++ {
		in := history.InstanceState{Name: fmt.Sprintf("pg%d", s), Server: gAddr(s), Reachable: true}
		st := g.stateAt(s, 1<<62)
		if m.ledgerSysID || g.rnd.Intn(2) == 0 {
			in.SystemID = gSysID
		}
		if finalIdent {
			in.SystemID = gSysID
			in.Started = gStarted(s, st.inc)
		}
		if w, ok := winner[s]; ok {
			in.Primary = true
			in.Timeline = w.tl
			in.History = g.histOf(w)
			in.Present = gRanges(g.present(w.lin))
			in.Started = ""
			if finalIdent {
				in.Started = gStarted(s, w.inc)
			}
		} else if st.role == gDown || main == nil {
			in.Reachable = false
			in.Error = fmt.Sprintf("dial tcp %s: connect: connection refused", gAddr(s))
		} else {
			in.Timeline = main.tl
			in.History = g.histOf(main)
			ids := mainIDs
			if lag := g.rnd.Intn(4); lag > 0 && len(ids) > lag && g.rnd.Intn(2) == 0 {
				ids = ids[:len(ids)-lag]
			}
			in.Present = gRanges(ids)
		}
		for _, r := range in.Present {
			in.Rows += r.Last - r.First + 1
		}
		f.Instances = append(f.Instances, in)
	}
	prim := -1
	for i := range f.Instances {
		if f.Instances[i].Primary {
			prim = i
			break
		}
	}
	var notes []string
	// Another database system.
	if m.ledgerSysID && g.coin(15, "final-foreign") {
		f.Instances = append(f.Instances, history.InstanceState{Name: "other", Server: "10.9.9.9:5432", Reachable: true, Primary: true,
			SystemID: gForeignSysID, Started: "2026-01-01 00:00:00+00", Timeline: 7,
			Present: []history.IDRange{{First: -5, Last: 3}, {First: 1 << 40, Last: 1<<40 + 9}}, Duplicates: []history.Duplicate{{ID: 2, Count: 5}}})
		notes = append(notes, "a foreign instance")
		m.foreign = true
	}
	// Corruptions of the primary's table (of an instance at random when
	// there is no primary).
	target := prim
	if target < 0 {
		target = g.rnd.Intn(len(f.Instances))
	}
	last := int64(len(t.Ops))
	nCorrupt, removed := 0, 0
	for g.coin(30-10*nCorrupt, fmt.Sprintf("corrupt-%d", nCorrupt)) && nCorrupt < 3 {
		in := &f.Instances[target]
		ids := gExpand(in.Present)
		switch g.intn(0, 8, fmt.Sprintf("corruption-%d", nCorrupt)) {
		case 0: // an acknowledged write lost
			var okIDs []int64
			for _, op := range t.Ops {
				if op.Outcome == history.OK && slices.Contains(ids, op.ID) {
					okIDs = append(okIDs, op.ID)
				}
			}
			if len(okIDs) > 0 {
				x := okIDs[g.rnd.Intn(len(okIDs))]
				ids = slices.DeleteFunc(ids, func(v int64) bool { return v == x })
				if target == prim {
					removed++
				}
				notes = append(notes, fmt.Sprintf("acked id %d removed", x))
			}
		case 1: // a phantom just above the ledger
			x := last + 1 + int64(g.rnd.Intn(8))
			ids = append(ids, x)
			notes = append(notes, fmt.Sprintf("id %d added", x))
		case 2: // a phantom far above
			ids = append(ids, 1000000000000)
			notes = append(notes, "id 10^12 added")
		case 3: // ids below 1
			ids = append(ids, -int64(g.rnd.Intn(3)))
			notes = append(notes, "an id below 1 added")
		case 4: // a duplicate
			if len(ids) > 0 {
				x := ids[g.rnd.Intn(len(ids))]
				in.Duplicates = append(in.Duplicates, history.Duplicate{ID: x, Count: int64(2 + g.rnd.Intn(2))})
				notes = append(notes, fmt.Sprintf("id %d duplicated", x))
			}
		case 5: // a failed write present
			var failed []int64
			for _, op := range t.Ops {
				if op.Outcome == history.Fail {
					failed = append(failed, op.ID)
				}
			}
			if len(failed) > 0 {
				x := failed[g.rnd.Intn(len(failed))]
				ids = append(ids, x)
				notes = append(notes, fmt.Sprintf("failed id %d present", x))
			}
		case 6: // a beyond-the-ledger id close above a truncated ledger
			x := last + 1 + int64(g.rnd.Intn(3))
			ids = append(ids, x)
			notes = append(notes, fmt.Sprintf("id %d added", x))
		case 8: // a "duplicate" counted once: no duplicate
			if len(ids) > 0 {
				x := ids[g.rnd.Intn(len(ids))]
				in.Duplicates = append(in.Duplicates, history.Duplicate{ID: x, Count: 1})
				notes = append(notes, fmt.Sprintf("id %d listed as a duplicate of count 1", x))
			}
		case 7: // at the truncation allowance's edge, or just past it
			x := last + oSlack(t) + int64(g.rnd.Intn(2))
			ids = append(ids, x)
			notes = append(notes, fmt.Sprintf("id %d added (slack edge)", x))
		}
		in.Present = gRanges(ids)
		nCorrupt++
	}
	m.corrupt = notes
	// One server listed twice, under its second address.
	if m.twoAddr && finalIdent && g.coin(50, "final-alias") {
		in := f.Instances[0]
		in.Name, in.Server = "pg0-lo", gAlias(0)
		in.Present = slices.Clone(in.Present)
		in.Duplicates = slices.Clone(in.Duplicates)
		f.Instances = append(f.Instances, in)
		notes = append(notes, "pg0 listed twice")
	}
	// Unreadable: a primary whose read failed, a missing table, no primary.
	if prim >= 0 {
		switch g.intn(0, 24, "final-unreadable") {
		case 21:
			f.Instances[prim].Error = "ERROR: permission denied for table pgchaos_writes"
			f.Instances[prim].Present, f.Instances[prim].Rows = nil, 0
			notes = append(notes, "primary read failed")
		case 22:
			f.Instances[prim].TableMissing = true
			f.Instances[prim].Present, f.Instances[prim].Rows = nil, 0
			notes = append(notes, "table missing on the primary")
		case 23:
			f.Instances[prim].Reachable, f.Instances[prim].Primary = false, false
			f.Instances[prim].Error = "dial tcp: i/o timeout"
			notes = append(notes, "primary unreachable")
		case 24: // a third primary, unreadable, next to a readable one
			in := f.Instances[prim]
			in.Name, in.Server, in.Started = "pg9", "10.0.0.9:5432", "2026-12-02 29:00:00+00"
			in.Error, in.Present = "ERROR: canceling statement due to statement timeout", nil
			f.Instances = append(f.Instances, in)
			notes = append(notes, "another primary unreadable")
		}
	}
	// The order of the instances is no information.
	g.rnd.Shuffle(len(f.Instances), func(i, j int) { f.Instances[i], f.Instances[j] = f.Instances[j], f.Instances[i] })
	t.Final = f
	m.finalDesc = strings.Join(notes, ", ")
	// The model's loss: acknowledged writes absent from the winning lineage.
	m.lostTruth = -1
	if len(g.winners) == 1 {
		have := map[int64]bool{}
		for _, id := range g.present(g.winners[0].lin) {
			have[id] = true
		}
		lost := 0
		for _, op := range t.Ops {
			if op.Outcome == history.OK && !have[op.ID] {
				lost++
			}
		}
		m.lostTruth = lost + removed
	}
}

// gExpand lists the ids of ranges (the generated ones are small).
func gExpand(rs []history.IDRange) []int64 {
	var ids []int64
	for _, r := range rs {
		for x := r.First; x <= r.Last && x-r.First < 1000000; x++ {
			ids = append(ids, x)
		}
	}
	return ids
}

// describe is the model's one-paragraph account of itself.
func (m *gModel) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model: %d clients (latencies", m.nClients)
	for _, l := range m.lat {
		fmt.Fprintf(&b, " %.3fs", float64(l)/1e6)
	}
	fmt.Fprintf(&b, "), budget %s, gap threshold %s, replication budget %s\n", m.budget, m.gapThr, m.replBudget)
	for _, p := range m.phases {
		fmt.Fprintf(&b, "  phase: %s\n", p.desc)
	}
	fmt.Fprintf(&b, "  ledger ident %v sysid %v, monitor %v (ident %v, blips %v, poll %.3fs), two addresses %v\n",
		m.ledgerIdent, m.ledgerSysID, m.monitor, m.monitorIdent, m.monitorBlips, float64(m.pollUS)/1e6, m.twoAddr)
	if m.truncated {
		fmt.Fprintf(&b, "  truncated: ledger records to %.6fs, harness died %.6fs\n", float64(m.tc)/1e6, float64(m.td)/1e6)
	}
	fmt.Fprintf(&b, "  final: %s; model loss %d\n", m.finalDesc, m.lostTruth)
	return b.String()
}

// dumpTrial prints a trial compactly, for a failing property's report.
func dumpTrial(t *history.Trial) string {
	var b strings.Builder
	fmt.Fprintf(&b, "trial: truncated %v, end %.6fs, meta clients %d, %d ops\n", t.Truncated, t.End.Seconds(), t.Meta.Clients, len(t.Ops))
	for i, n := range t.Nodes {
		fmt.Fprintf(&b, "  node %d: %s %s sysid=%s started=%s\n", i, n.Server, n.Instance, n.SystemID, n.Started)
	}
	for _, op := range t.Ops {
		fmt.Fprintf(&b, "  op %d c%d %.6f", op.ID, op.Client, op.Invoke.Seconds())
		if op.Outcome != history.Pending {
			fmt.Fprintf(&b, "->%.6f", op.Return.Seconds())
		}
		fmt.Fprintf(&b, " %s", op.Outcome)
		if op.Outcome == history.OK {
			fmt.Fprintf(&b, " n%d tl%d %s", op.Node, op.Timeline, op.LSN)
		}
		b.WriteByte('\n')
	}
	for _, o := range t.Observations {
		fmt.Fprintf(&b, "  obs %.6f i%d up=%v rec=%v tl=%d str=%v ident=%q\n", o.At.Seconds(), o.Instance, o.Reachable, o.InRecovery, o.Timeline, o.Streaming, t.Error(o.Ident))
	}
	for _, f := range t.Faults {
		fmt.Fprintf(&b, "  fault %s %.6f-%.6f\n", f.Name, f.Injected.Seconds(), f.Recovered.Seconds())
	}
	for _, e := range t.Events {
		fmt.Fprintf(&b, "  event %s %.6f\n", e.Kind, e.At.Seconds())
	}
	if t.Final == nil {
		b.WriteString("  final: none\n")
	} else {
		for _, in := range t.Final.Instances {
			fmt.Fprintf(&b, "  final %s %s reach=%v err=%q prim=%v missing=%v sysid=%s started=%s tl=%d present=%v dups=%v\n",
				in.Name, in.Server, in.Reachable, in.Error, in.Primary, in.TableMissing, in.SystemID, in.Started, in.Timeline, in.Present, in.Duplicates)
		}
	}
	return b.String()
}
