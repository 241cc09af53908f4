package assert

// Property tests of the checkers on generated histories (issue 12,
// "Proof"): every verdict is compared with the independent oracle
// (oracle_test.go) and with what the scenario model (gen_test.go) knows.
//
// They run with rapid: a failure prints the seed to replay it
// (go test ./assert -run 'TestGenerated...' -rapid.seed=N) and the shrunk,
// minimal scenario with its trial. -rapid.checks=N overrides the number of
// histories of every property; by default they add up to over 10,000.
//
// A difference the oracle can attribute to a known reading of the checker
// is tagged ("[D1-trial-end] ..."): -gen.known=D1-trial-end,... leaves those
// out to look for others behind them. By default every difference fails.

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
	"pgregory.net/rapid"
)

var gFlagsOnce sync.Once
var gChecksGiven, gFailfileGiven, gShrinkGiven bool

// gRun runs prop on n generated histories (unless -rapid.checks says
// otherwise). Fail files are not written unless -rapid.nofailfile=false is
// given: the seed in the report replays a failure. Shrinking stops after
// 10 s unless -rapid.shrinktime says otherwise.
func gRun(t *testing.T, n int, prop func(*rapid.T)) {
	t.Helper()
	gFlagsOnce.Do(func() {
		flag.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "rapid.checks":
				gChecksGiven = true
			case "rapid.nofailfile":
				gFailfileGiven = true
			case "rapid.shrinktime":
				gShrinkGiven = true
			}
		})
	})
	if !gChecksGiven {
		if f := flag.Lookup("rapid.checks"); f != nil {
			old := f.Value.String()
			_ = f.Value.Set(fmt.Sprint(n))
			defer func() { _ = f.Value.Set(old) }()
		}
	}
	if !gFailfileGiven {
		if f := flag.Lookup("rapid.nofailfile"); f != nil {
			_ = f.Value.Set("true")
		}
	}
	if !gShrinkGiven {
		// A failure shrinks for 10 s at most (rapid's default is 30 s per
		// property), so that a failing run of the package stays short.
		if f := flag.Lookup("rapid.shrinktime"); f != nil {
			_ = f.Value.Set("10s")
		}
	}
	rapid.Check(t, prop)
}

// gFail reports the differences found on a generated trial with the model
// and the trial, and stops the property.
func gFail(rt *rapid.T, diffs []string, m *gModel, tr *history.Trial) {
	if len(diffs) == 0 {
		return
	}
	desc := ""
	if m != nil {
		desc = m.describe()
	}
	rt.Fatalf("%s\n%s%s", strings.Join(diffs, "\n"), desc, dumpTrial(tr))
}

// gShape checks what every verdict must hold.
func gShape(r history.Report) []string {
	var out []string
	for _, v := range r.Checks {
		switch v.Status {
		case history.Pass, history.Failed:
		case history.Undecided:
			if v.Reason == "" {
				out = append(out, v.Name+": unknown without a reason")
			}
		default:
			out = append(out, fmt.Sprintf("%s: status %q", v.Name, v.Status))
		}
		if v.Figures == nil || v.Evidence == nil {
			out = append(out, v.Name+": nil figures or evidence")
		}
	}
	return out
}

func gVerdict(r history.Report, name string) history.Verdict {
	for _, v := range r.Checks {
		if v.Name == name {
			return v
		}
	}
	return history.Verdict{Name: name, Status: "missing"}
}

// gJudge compares every verdict of r on tr with the oracle and the model.
func gJudge(tr *history.Trial, m *gModel, r history.Report) []string {
	cfg := m.cfg
	diffs := gShape(r)

	// The authority rule itself.
	au, hau := oAuthority(tr), tr.Final.Authority(oLedgerSysIDs(tr))
	if au.undecidable != hau.Undecidable || len(au.primaries) != len(hau.Primaries) || (au.index >= 0) != (hau.Index >= 0) {
		diffs = append(diffs, fmt.Sprintf("authority: history says index %d primaries %v undecidable %v (%s); the oracle: index %d primaries %v undecidable %v",
			hau.Index, hau.Primaries, hau.Undecidable, hau.Reason, au.index, au.primaries, au.undecidable))
	}

	// lost-acked-writes.
	lv := gVerdict(r, history.CheckLostAckedWrites)
	lo := oLost(tr)
	if d := oCompare(lv, lo); len(d) > 0 {
		if lo.status == history.Undecided && au.undecidable && len(au.primaries) >= 2 {
			d = gTag("D4-undecidable-with-two-primaries", d)
		}
		diffs = append(diffs, d...)
	}
	if m.lostTruth >= 0 && au.index >= 0 && lo.status != history.Undecided && int(lo.figures["lost"]) != m.lostTruth {
		diffs = append(diffs, fmt.Sprintf("model: lost %d, the oracle says %v (generator or oracle bug)", m.lostTruth, lo.figures["lost"]))
	}

	// unavailability.
	uv := gVerdict(r, history.CheckUnavailability)
	ud, uo := gUnavailDiffs(tr, cfg, uv)
	diffs = append(diffs, ud...)
	if uo.unobserved > 0 && uv.Status == history.Undecided {
		if x, ok := oNum(uv, "unobserved_s"); !ok || x <= 0 {
			diffs = append(diffs, fmt.Sprintf("unavailability: unknown for an unobserved tail of %.6fs, figure unobserved_s = %v", uo.unobserved.Seconds(), uv.Figures["unobserved_s"]))
		}
	}
	if _, ok := uv.Figures["partial"]; !ok && len(tr.Ops) > 0 {
		diffs = append(diffs, "unavailability: no figure partial")
	}
	if x, ok := oNum(uv, "longest_client_stall_s"); len(tr.Ops) > 0 && (!ok || x < 0) {
		diffs = append(diffs, fmt.Sprintf("unavailability: longest_client_stall_s = %v", uv.Figures["longest_client_stall_s"]))
	}
	diffs = append(diffs, gModelUnavailability(tr, m, uv, uo)...)

	// split-brain.
	sv := gVerdict(r, history.CheckSplitBrain)
	so := oSplitBrain(tr)
	if d := oCompare(sv, so.oExpect); len(d) > 0 {
		d = []string{fmt.Sprintf("%s (oracle: client side %v, server side %v [%s], final state %v; checker: %v %v %v)", strings.Join(d, "; "),
			so.client, so.server, so.proof, so.final, sv.Figures["client_side"], sv.Figures["server_side"], sv.Figures["final_state"])}
		if alt := oSplitBrainRuns(tr, true); len(oCompare(sv, alt.oExpect)) == 0 && so.server && !alt.server {
			// Disagreement D3: the checker follows the runs of each
			// monitored instance, not of each server: a server seen
			// through two instances, or unreachable for a poll without
			// restarting, is not one run.
			d = gTag("D3-server-runs-per-instance", d)
		}
		diffs = append(diffs, d...)
	}
	// (Without a node in the ledger, another database system's instance
	// cannot be told from the cluster's.)
	// Each kind of evidence, where the verdict names it.
	for _, k := range []struct {
		fig  string
		want bool
	}{{"client_side", so.client}, {"server_side", so.server}, {"final_state", so.final}} {
		if got, ok := sv.Figures[k.fig].(bool); ok && got != k.want {
			d := []string{fmt.Sprintf("split-brain: figure %s = %v, the oracle says %v [%s]", k.fig, got, k.want, so.proof)}
			if k.fig == "server_side" && so.server && !got && !oSplitBrainRuns(tr, true).server {
				d = gTag("D3-server-runs-per-instance", d)
			}
			diffs = append(diffs, d...)
		}
	}
	// (Without the servers' identities the monitor cannot see a demotion
	// and a promotion between two polls, and a run "seen primary before
	// and after the other" may span a time the server was a replica: the
	// rule can prove a split brain that was not. No claim then.)
	if !m.concurrentPrimaries && (m.ledgerIdent || !m.twoAddr) && (!m.monitor || m.monitorIdent) &&
		(!m.foreign || len(oLedgerSysIDs(tr)) > 0) {
		want := history.Pass
		if len(tr.Observations) == 0 {
			want = history.Undecided
		}
		if so.status != want {
			diffs = append(diffs, fmt.Sprintf("model: never two primaries at once, the oracle's split-brain is %s (client %v server %v final %v)", so.status, so.client, so.server, so.final))
		}
	}

	// phantom-writes.
	pv := gVerdict(r, history.CheckPhantomWrites)
	po := oPhantoms(tr)
	for _, i := range oReadable(tr, au) {
		if in := &tr.Final.Instances[i]; tr.Truncated && oHas(in.Present, 1000000000000) && pv.Status != history.Failed {
			d := []string{fmt.Sprintf("phantom-writes: id 10^12 on %s above a truncated ledger of %d writes is a phantom; the checker says %s: %s", oName(tr.Final, i), len(tr.Ops), pv.Status, pv.Summary)}
			if pv.Status == history.Undecided && au.undecidable {
				d = gTag("D2-phantom-unread-primary", d)
			}
			diffs = append(diffs, d...)
			break
		}
	}
	if d := oCompare(pv, po.oExpect); len(d) > 0 {
		d = []string{fmt.Sprintf("%s (oracle slack %d; figures %v)", strings.Join(d, "; "), po.slack, pv.Figures)}
		if pv.Status == history.Undecided && po.status == history.Failed && au.undecidable {
			// Disagreement D2: with the cluster's data undecidable, the
			// checker does not look at the instances that were read.
			d = gTag("D2-phantom-unread-primary", d)
		}
		if pv.Status == history.Pass && po.status == history.Undecided && au.undecidable && len(au.primaries) >= 2 {
			// Disagreement D4: with two readable primaries and a primary
			// whose read failed, the checker passes on what was read.
			d = gTag("D4-undecidable-with-two-primaries", d)
		}
		diffs = append(diffs, d...)
	}
	return diffs
}

// gUnavailDiffs compares an unavailability verdict with the oracle.
func gUnavailDiffs(tr *history.Trial, cfg Config, uv history.Verdict) ([]string, oUnavail) {
	uo := oUnavailability(tr, cfg)
	ud := oCompare(uv, uo.oExpect)
	if uv.Status == uo.status {
		ud = append(ud, oCompareWindows(uv, uo)...)
	}
	if len(ud) > 0 && !tr.Truncated {
		// Disagreement D1: the checker ends a complete ledger's trial at
		// its end record, not at the latest record of the monitor or the
		// fault log.
		alt := oUnavailabilityEnd(tr, cfg, tr.End)
		if len(oCompare(uv, alt.oExpect)) == 0 && (uv.Status != alt.status || len(oCompareWindows(uv, alt)) == 0) {
			ud = gTag("D1-trial-end", ud)
		}
	}
	return ud, uo
}

// gModelUnavailability: what the model knows about writes being
// unavailable, independent of the exact rule: an outage longer than the
// budget that writes came back from fails; with no gap between
// acknowledgements over the budget and nothing failing after the last one,
// nothing can fail.
func gModelUnavailability(tr *history.Trial, m *gModel, uv history.Verdict, uo oUnavail) []string {
	if m.truncated || len(tr.Ops) == 0 {
		return nil
	}
	var out []string
	lastAck := time.Duration(-1)
	for _, r := range uo.acks {
		lastAck = max(lastAck, r)
	}
	for _, o := range m.outages {
		if d := gDur(o.to - o.from); d > m.budget && lastAck >= gDur(o.to) {
			if uo.status != history.Failed || uv.Status != history.Failed {
				out = append(out, fmt.Sprintf("model: an outage of %.3fs (budget %s) that writes came back from; the oracle says %s, the checker %s", d.Seconds(), m.budget, uo.status, uv.Status))
			}
		}
	}
	if !m.endOutage && lastAck >= 0 {
		start := time.Duration(math.MaxInt64)
		failsAfter := false
		for _, op := range tr.Ops {
			start = min(start, op.Invoke)
			if op.Outcome != history.OK && op.Invoke >= lastAck {
				failsAfter = true
			}
		}
		prev, maxGap := start, time.Duration(0)
		for _, r := range uo.acks {
			maxGap = max(maxGap, r-prev)
			prev = r
		}
		if !failsAfter && maxGap <= m.budget && (uo.status != history.Pass || uv.Status != history.Pass) {
			out = append(out, fmt.Sprintf("model: no gap between acknowledgements over the budget (largest %.3fs) and nothing failed after the last; the oracle says %s, the checker %s", maxGap.Seconds(), uo.status, uv.Status))
		}
	}
	if m.slowRegression && uv.Status != history.Pass {
		out = append(out, fmt.Sprintf("model: the slow-client regression must pass, the checker says %s: %s", uv.Status, uv.Summary))
	}
	return out
}

// gKnown lists disagreements (tags) to leave out, to look for others
// behind them: -gen.known=D1-trial-end,... Empty (the default), every
// disagreement fails.
var gKnown = flag.String("gen.known", "", "generated-history properties: comma-separated disagreement tags to tolerate while looking for others")

// gTag marks diffs as a named disagreement; a tolerated one is dropped.
func gTag(tag string, diffs []string) []string {
	if slices.Contains(strings.Split(*gKnown, ","), tag) {
		return nil
	}
	out := make([]string, len(diffs))
	for i, d := range diffs {
		out[i] = "[" + tag + "] " + d
	}
	return out
}

// gReportJSON is a report as JSON, for comparing two runs.
func gReportJSON(r history.Report) string {
	b, err := json.Marshal(r)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

// gFiguresJSON is a verdict's status, reason and figures as JSON (not its
// evidence, which describes the records as they are written).
func gFiguresJSON(v history.Verdict) string {
	b, err := json.Marshal(struct {
		S history.Status
		R string
		F map[string]any
	}{v.Status, v.Reason, v.Figures})
	if err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

// gCloneTrial copies what the metamorphic properties change.
func gCloneTrial(t *history.Trial) *history.Trial {
	c := *t
	c.Ops = slices.Clone(t.Ops)
	c.Nodes = slices.Clone(t.Nodes)
	if t.Final != nil {
		f := *t.Final
		f.Instances = slices.Clone(t.Final.Instances)
		for i := range f.Instances {
			f.Instances[i].Present = slices.Clone(f.Instances[i].Present)
		}
		c.Final = &f
	}
	return &c
}

// TestGeneratedHistories: every checker on generated scenarios, against the
// oracle and the model; server clocks are informational (skewing them
// changes nothing); a sample goes through the files and history.Load.
func TestGeneratedHistories(t *testing.T) {
	gRun(t, 4000, func(rt *rapid.T) {
		tr, m := genTrial(rt)
		r := Run(tr, m.cfg)
		diffs := gJudge(tr, m, r)

		// Clock skew: ServerClock is informational only.
		skewed := gCloneTrial(tr)
		off := rand.New(rand.NewSource(int64(len(tr.Ops))))
		for i := range skewed.Ops {
			if skewed.Ops[i].ServerClock != 0 {
				skewed.Ops[i].ServerClock += off.Int63n(7200e6) - 3600e6
			}
		}
		if a, b := gReportJSON(r), gReportJSON(Run(skewed, m.cfg)); a != b {
			diffs = append(diffs, "skewing the server clocks changed the report:\n  "+a+"\n  "+b)
		}

		// A sample through the files.
		// (rapid favours the ends of a range: 25 and 26 come up about one
		// time in 50.)
		if x := rapid.IntRange(0, 49).Draw(rt, "through-files"); x == 25 || x == 26 {
			dir := t.TempDir()
			if err := writeTrialFiles(dir, tr, rapid.Bool().Draw(rt, "partial-last-line")); err != nil {
				rt.Fatalf("writing the trial: %v", err)
			}
			lt, err := history.Load(dir)
			if err != nil {
				gFail(rt, []string{"history.Load: " + err.Error()}, m, tr)
			}
			if lt.Truncated != tr.Truncated || lt.End != tr.End || len(lt.Ops) != len(tr.Ops) {
				diffs = append(diffs, fmt.Sprintf("loaded trial: truncated %v end %v ops %d; written %v %v %d", lt.Truncated, lt.End, len(lt.Ops), tr.Truncated, tr.End, len(tr.Ops)))
			}
			if a, b := gReportJSON(r), gReportJSON(Run(lt, m.cfg)); a != b {
				diffs = append(diffs, "the loaded trial's report differs:\n  built:  "+a+"\n  loaded: "+b)
			}
		}
		gFail(rt, diffs, m, tr)
	})
}

// TestGeneratedLostMetamorphic: removing one acknowledged id from the
// authoritative instance raises lost by exactly one; permuting the final
// instances and renaming them never changes lost-acked-writes' status or
// lost, and permuting them changes no checker's status.
func TestGeneratedLostMetamorphic(t *testing.T) {
	gRun(t, 2000, func(rt *rapid.T) {
		tr, m := genTrial(rt)
		if tr.Final == nil {
			return
		}
		cfg := m.cfg
		base := Run(tr, cfg)
		v0 := gVerdict(base, history.CheckLostAckedWrites)
		lost0, _ := oNum(v0, "lost")
		var diffs []string

		// Permute and rename.
		p := gCloneTrial(tr)
		perm := rand.New(rand.NewSource(rapid.Int64().Draw(rt, "perm")))
		perm.Shuffle(len(p.Final.Instances), func(i, j int) {
			p.Final.Instances[i], p.Final.Instances[j] = p.Final.Instances[j], p.Final.Instances[i]
		})
		pr := Run(p, cfg)
		for i, v := range base.Checks {
			if w := pr.Checks[i]; w.Status != v.Status {
				diffs = append(diffs, fmt.Sprintf("permuting the final instances changed %s from %s to %s (%s -> %s)", v.Name, v.Status, w.Status, v.Summary, w.Summary))
			}
		}
		// Distinct new names in a random order: two instances renamed alike
		// would be one name for two servers, another input (the 1 in 1000
		// collision of independent draws failed CI once).
		names := perm.Perm(1000)
		for i := range p.Final.Instances {
			in := &p.Final.Instances[i]
			in.Name = fmt.Sprintf("n%03d", names[i])
			in.Server = fmt.Sprintf("10.1.%d.%d:5432", i, perm.Intn(250))
		}
		v2 := LostAckedWrites{}.Check(p, cfg)
		lost2, _ := oNum(v2, "lost")
		if v2.Status != v0.Status || lost2 != lost0 {
			diffs = append(diffs, fmt.Sprintf("permuting and renaming the final instances changed lost-acked-writes from %s/%v to %s/%v", v0.Status, lost0, v2.Status, lost2))
		}

		// The same ids as more, shorter ranges (sorted, inclusive, not
		// maximal): nothing changes.
		sp := gCloneTrial(tr)
		for i := range sp.Final.Instances {
			var rs []history.IDRange
			for _, r := range sp.Final.Instances[i].Present {
				for r.Last > r.First && perm.Intn(3) == 0 {
					cut := r.First + perm.Int63n(r.Last-r.First)
					rs = append(rs, history.IDRange{First: r.First, Last: cut})
					r.First = cut + 1
				}
				rs = append(rs, r)
			}
			sp.Final.Instances[i].Present = rs
		}
		for i, v := range Run(sp, cfg).Checks {
			if a, b := gFiguresJSON(base.Checks[i]), gFiguresJSON(v); a != b {
				diffs = append(diffs, "splitting the final ranges changed "+v.Name+":\n  "+a+"\n  "+b)
			}
		}

		// Remove one acknowledged id from the authority.
		au := oAuthority(tr)
		if au.index >= 0 {
			in := &tr.Final.Instances[au.index]
			var present []int64
			for _, op := range tr.Ops {
				if op.Outcome == history.OK && oHas(in.Present, op.ID) {
					present = append(present, op.ID)
				}
			}
			if len(present) > 0 {
				x := present[rapid.IntRange(0, len(present)-1).Draw(rt, "remove")]
				q := gCloneTrial(tr)
				qi := &q.Final.Instances[au.index]
				qi.Present = gRanges(slices.DeleteFunc(gExpand(qi.Present), func(v int64) bool { return v == x }))
				v1 := LostAckedWrites{}.Check(q, cfg)
				lost1, _ := oNum(v1, "lost")
				if lost1 != lost0+1 || v1.Status != history.Failed {
					diffs = append(diffs, fmt.Sprintf("removing acked id %d from the authoritative %s: lost %v -> %v (%s -> %s)", x, oName(tr.Final, au.index), lost0, lost1, v0.Status, v1.Status))
				}
			}
		}
		gFail(rt, diffs, m, tr)
	})
}

// TestGeneratedUnavailabilitySplit: a window never holds an
// acknowledgement; adding one strictly inside a window splits it (no window
// spans it afterwards), and the new verdict still agrees with the oracle.
func TestGeneratedUnavailabilitySplit(t *testing.T) {
	gRun(t, 2000, func(rt *rapid.T) {
		tr, m := genTrial(rt)
		tr.Final = nil // ids are renumbered below
		v := Unavailability{}.Check(tr, m.cfg)
		ws, _ := v.Figures["windows"].([]history.Window)
		var closed []history.Window
		for _, w := range ws {
			if !w.Open && w.EndS-w.StartS > 0.002 {
				closed = append(closed, w)
			}
		}
		if len(closed) == 0 {
			return
		}
		w := closed[rapid.IntRange(0, len(closed)-1).Draw(rt, "window")]
		s, e := sec(w.StartS), sec(w.EndS)
		frac := rapid.IntRange(1, 999).Draw(rt, "where")
		x := s + (e-s)*time.Duration(frac)/1000
		x = x.Truncate(time.Microsecond)
		if x <= s || x >= e {
			return
		}
		inv := s + (x-s)/2
		q := gCloneTrial(tr)
		node := history.NodeID(0)
		if len(q.Nodes) == 0 {
			q.Nodes = append(q.Nodes, history.Node{Server: gAddr(0), Instance: "pg0", SystemID: gSysID})
		}
		add := history.Op{Invoke: inv, Return: x, Outcome: history.OK, Node: node, Timeline: 1, LSN: 0x3000000, Client: 0}
		pos, _ := slices.BinarySearchFunc(q.Ops, inv, func(op history.Op, d time.Duration) int {
			if op.Invoke <= d {
				return -1
			}
			return 1
		})
		q.Ops = slices.Insert(q.Ops, pos, add)
		for i := range q.Ops {
			q.Ops[i].ID = int64(i + 1)
		}
		if q.Truncated {
			q.End = max(q.End, x)
		}
		v1 := Unavailability{}.Check(q, m.cfg)
		var diffs []string
		ws1, _ := v1.Figures["windows"].([]history.Window)
		for _, w1 := range ws1 {
			if sec(w1.StartS) < x && x < sec(w1.EndS) {
				diffs = append(diffs, fmt.Sprintf("after adding an acknowledgement at %.6f inside window %+v, window %+v still spans it", x.Seconds(), w, w1))
			}
		}
		ud, _ := gUnavailDiffs(q, m.cfg, v1)
		diffs = append(diffs, ud...)
		gFail(rt, diffs, m, q)
	})
}

// TestGeneratedSlowClientRegression: one client whose commits take 1.2 s
// each for 40 s (the others fast before, stalled during) passes; so does
// the same slowness with 8 clients: the verdict does not depend on the
// number of clients.
func TestGeneratedSlowClientRegression(t *testing.T) {
	gRun(t, 400, func(rt *rapid.T) {
		var statuses []history.Status
		for _, n := range []int{1, 8} {
			tr, m := genTrialWith(rt, n, true)
			v := Unavailability{}.Check(tr, m.cfg)
			diffs, _ := gUnavailDiffs(tr, m.cfg, v)
			if v.Status != history.Pass {
				diffs = append(diffs, fmt.Sprintf("%d clients, one (or every) client at 1.2 s per commit: %s, want pass: %s", n, v.Status, v.Summary))
			}
			gFail(rt, diffs, m, tr)
			statuses = append(statuses, v.Status)
		}
		if statuses[0] != statuses[1] {
			rt.Fatalf("the verdict depends on the number of clients: %v", statuses)
		}
	})
}
