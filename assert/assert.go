package assert

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// Defaults of Config, used for its zero fields.
const (
	DefaultRTOBudget         = 30 * time.Second
	DefaultGapThreshold      = time.Second
	DefaultReplicationBudget = 60 * time.Second
	DefaultMaxEvidence       = 10
)

// Config holds the budgets and limits the checkers judge against. A zero
// field takes its default (see DefaultConfig).
type Config struct {
	// RTOBudget: an unavailability window longer than this fails (default 30s).
	RTOBudget time.Duration
	// GapThreshold: a gap between consecutive acknowledgements with no
	// failed or unknown write in it counts as unavailability only if it is
	// longer than max(GapThreshold, 10 × the median gap between
	// acknowledgements). Default 1s.
	GapThreshold time.Duration
	// ReplicationBudget: replicas must stream again within this after each
	// fault and each change of primary (default 60s).
	ReplicationBudget time.Duration
	// MaxEvidence: how many offending operations or observations a verdict
	// lists at most (default 10).
	MaxEvidence int
	// Expect are the fault's own expectations (the expectations checker).
	Expect history.Expect
}

// DefaultConfig returns the default budgets: RTO 30s, gap threshold 1s,
// replication 60s, 10 pieces of evidence per verdict.
func DefaultConfig() Config {
	return Config{
		RTOBudget:         DefaultRTOBudget,
		GapThreshold:      DefaultGapThreshold,
		ReplicationBudget: DefaultReplicationBudget,
		MaxEvidence:       DefaultMaxEvidence,
	}
}

// withDefaults replaces zero (or negative) fields with their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.RTOBudget <= 0 {
		c.RTOBudget = d.RTOBudget
	}
	if c.GapThreshold <= 0 {
		c.GapThreshold = d.GapThreshold
	}
	if c.ReplicationBudget <= 0 {
		c.ReplicationBudget = d.ReplicationBudget
	}
	if c.MaxEvidence <= 0 {
		c.MaxEvidence = d.MaxEvidence
	}
	return c
}

// Checker decides one property of a trial.
type Checker interface {
	// Name is the check's name in verdict.json (a history.Check* constant).
	Name() string
	// Check reads the trial and returns its verdict. It never modifies t.
	Check(t *history.Trial, cfg Config) history.Verdict
}

// Compile-time checks that every checker implements Checker.
var (
	_ Checker = LostAckedWrites{}
	_ Checker = Unavailability{}
	_ Checker = SplitBrain{}
	_ Checker = WALContinuity{}
	_ Checker = ReplicationRecovery{}
	_ Checker = PhantomWrites{}
	_ Checker = Expectations{}
)

// All returns every checker, in the order of the report: the one explicit
// list of checkers.
func All() []Checker {
	return []Checker{
		LostAckedWrites{},
		Unavailability{},
		SplitBrain{},
		WALContinuity{},
		ReplicationRecovery{},
		PhantomWrites{},
		Expectations{},
	}
}

// Run runs every checker of All on t and returns their verdicts in order. A
// checker that panics yields an unknown verdict saying so instead of taking
// the others down.
func Run(t *history.Trial, cfg Config) history.Report {
	checks := All()
	r := history.Report{Checks: make([]history.Verdict, 0, len(checks))}
	for _, c := range checks {
		if _, ok := c.(Expectations); ok && cfg.Expect == (history.Expect{}) {
			continue // a fault without expectations of its own: no verdict
		}
		r.Checks = append(r.Checks, runOne(c, t, cfg))
	}
	return r
}

func runOne(c Checker, t *history.Trial, cfg Config) (v history.Verdict) {
	defer func() {
		if p := recover(); p != nil {
			v = undecided(newVerdict(c.Name()), fmt.Sprintf("internal error in the checker: %v", p))
		}
	}()
	v = c.Check(t, cfg)
	if v.Name == "" {
		v.Name = c.Name()
	}
	if v.Figures == nil {
		v.Figures = map[string]any{}
	}
	if v.Evidence == nil {
		v.Evidence = []history.Evidence{}
	}
	return v
}

// newVerdict returns a passing verdict with empty, non-nil figures and
// evidence.
func newVerdict(name string) history.Verdict {
	return history.Verdict{
		Name:     name,
		Status:   history.Pass,
		Figures:  map[string]any{},
		Evidence: []history.Evidence{},
	}
}

// undecided marks v unknown with reason, which also becomes its summary.
func undecided(v history.Verdict, reason string) history.Verdict {
	v.Status = history.Undecided
	v.Reason = reason
	v.Summary = "unknown: " + reason
	return v
}

// evidence collects at most max pieces of evidence and counts the rest.
type evidence struct {
	list    []history.Evidence
	max     int
	omitted int
}

func newEvidence(max int) *evidence {
	return &evidence{list: []history.Evidence{}, max: max}
}

// full reports whether no more evidence will be kept.
func (e *evidence) full() bool { return len(e.list) >= e.max }

func (e *evidence) add(ev history.Evidence) {
	if e.full() {
		e.omitted++
		return
	}
	e.list = append(e.list, ev)
}

// opEvidence describes one operation of the ledger.
func opEvidence(t *history.Trial, op *history.Op, what string) history.Evidence {
	e := history.Evidence{
		What:     what,
		ID:       op.ID,
		Client:   op.Client,
		InvokeS:  seconds(op.Invoke),
		Outcome:  op.Outcome.String(),
		Timeline: op.Timeline,
	}
	if op.Outcome != history.Pending {
		e.ReturnS = seconds(op.Return)
	}
	if op.Node != history.NoNode {
		e.Node = t.NodeName(op.Node)
	}
	if op.LSN != 0 {
		e.LSN = op.LSN.String()
	}
	return e
}

// seconds converts an offset to seconds, rounded to the microsecond.
func seconds(d time.Duration) float64 {
	return math.Round(float64(d)/1e3) / 1e6
}

// fmtS formats an offset in seconds for summaries: "12.345s".
func fmtS(d time.Duration) string {
	return fmt.Sprintf("%.3fs", d.Seconds())
}

// reachable reports whether an instance was read after recovery.
func reachable(in *history.InstanceState) bool {
	return in.Reachable && in.Error == ""
}

// instanceName names an instance the monitor observed.
func instanceName(t *history.Trial, i history.InstanceID) string {
	if int(i) < len(t.Instances) && t.Instances[i].Name != "" {
		return t.Instances[i].Name
	}
	return fmt.Sprintf("instance %d", i)
}

// finalName names an instance of the final state.
func finalName(f *history.FinalState, i int) string {
	if n := f.Instances[i].Name; n != "" {
		return n
	}
	if s := f.Instances[i].Server; s != "" {
		return s
	}
	return fmt.Sprintf("instance %d", i)
}

// FinalAuthority is the authoritative final instance of t as the checkers
// choose it (see authority): for callers that must tell a final state that
// cannot be judged (exit 2) from one that was judged.
func FinalAuthority(t *history.Trial) history.Authority { return authority(t) }

// authority chooses the authoritative final instance by
// history.FinalState.Authority, matched to the system identifiers of the
// servers that acknowledged writes.
func authority(t *history.Trial) history.Authority {
	var ids []string
	for _, n := range t.Nodes {
		if n.SystemID != "" && !slices.Contains(ids, n.SystemID) {
			ids = append(ids, n.SystemID)
		}
	}
	return t.Final.Authority(ids)
}

// plural formats a count with its noun: "1 window", "2 windows".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// fmtBudget formats a budget in seconds: "30s".
func fmtBudget(d time.Duration) string {
	return fmt.Sprintf("%gs", d.Seconds())
}
