package selftest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/internal/pgtestbed"
	"github.com/pgchaos/pgchaos/monitor"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// Options configure a self-test run.
type Options struct {
	// Out receives one trial directory per scenario.
	Out string
	// Only, when set, runs just the named scenarios.
	Only   []string
	Logger *slog.Logger
	// Progress, when set, is told each step as it happens.
	Progress func(scenario, step string)
	// Keep keeps the servers' data directories for debugging.
	Keep bool
	// Version is recorded in every trial.
	Version string
}

// Result is the outcome of one scenario: what was expected of every
// detector, what was observed, and whether they agree.
type Result struct {
	Scenario string
	Expected string
	Observed string
	// OK is true when every detector behaved as expected.
	OK bool
	// Problems lists each disagreement.
	Problems []string
	Dir      string
	Report   history.Report
	Elapsed  time.Duration
}

// Scenario is one self-test: a fault injected by hand on a real cluster and
// the verdict each detector must give.
type Scenario struct {
	Name        string
	Description string
	// Synchronous selects synchronous replication (ANY 1 of the replicas).
	Synchronous bool
	// Expect is the status every check must have.
	Expect map[string]history.Status
	// run injects the fault while the trial records; it returns extra
	// expectations checked after the verdicts (independent counts).
	run func(ctx context.Context, e *env) (verify func(rep history.Report, t *history.Trial) []string, err error)
	// dsns returns the workload's DSNs (default: one multi-host read-write).
	dsns func(tb *pgtestbed.Cluster) []string
	// monitor returns the monitor's targets (default: every instance once).
	monitor func(tb *pgtestbed.Cluster) []monitor.Target
}

// All returns every self-test scenario, in the order they run: ONE explicit
// list.
func All() []Scenario {
	return []Scenario{noFault(), asyncFailover(), syncFailover(), splitBrain(), knownOutage(), rogueWriter(), twoAddresses()}
}

// env is what a scenario's fault procedure works with.
type env struct {
	tb     *pgtestbed.Cluster
	trial  *scenario.Trial
	log    *slog.Logger
	step   func(string)
	dir    string
	extras []*pgtestbed.Instance
}

func (e *env) inject(name, target, detail string) error {
	e.step(fmt.Sprintf("inject %s on %s: %s", name, target, detail))
	_, err := e.trial.Faults.Injected(name, target, detail)
	return err
}

func (e *env) recovered(name string) error {
	e.step("recovered " + name)
	_, err := e.trial.Faults.Recovered(name)
	return err
}

func (e *env) event(kind, detail string) error {
	e.step(kind + " " + detail)
	_, err := e.trial.Faults.Event(kind, detail)
	return err
}

// Run runs the scenarios one after the other, each on a fresh cluster.
func Run(ctx context.Context, opts Options) ([]Result, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Progress == nil {
		opts.Progress = func(string, string) {}
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", opts.Out, err)
	}
	var results []Result
	for _, sc := range All() {
		if len(opts.Only) > 0 && !contains(opts.Only, sc.Name) {
			continue
		}
		r, err := runOne(ctx, sc, opts)
		if err != nil {
			return results, fmt.Errorf("self-test scenario %s: %w", sc.Name, err)
		}
		results = append(results, r)
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("no scenario named %s (have: %s)", strings.Join(opts.Only, ", "), strings.Join(Names(), ", "))
	}
	return results, nil
}

// Names lists the scenarios' names.
func Names() []string {
	var n []string
	for _, s := range All() {
		n = append(n, s.Name)
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Timing of every scenario.
const (
	warmUp   = 2 * time.Second
	coolDown = 2 * time.Second
	clients  = 4
)

func runOne(ctx context.Context, sc Scenario, opts Options) (res Result, err error) {
	began := time.Now()
	step := func(s string) { opts.Progress(sc.Name, s) }
	dir := filepath.Join(opts.Out, sc.Name)
	if err := os.RemoveAll(dir); err != nil {
		return res, fmt.Errorf("clearing %s: %w", dir, err)
	}
	step("starting a primary and two streaming replicas")
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{Synchronous: sc.Synchronous, Logger: opts.Logger, Keep: opts.Keep})
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := tb.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	dsns := []string{tb.MultiHostDSN()}
	if sc.dsns != nil {
		dsns = sc.dsns(tb)
	}
	var targets []monitor.Target
	for _, in := range tb.Instances {
		targets = append(targets, monitor.Target{Name: in.Name, DSN: tb.DSN(in)})
	}
	if sc.monitor != nil {
		targets = sc.monitor(tb)
	}
	tr, err := scenario.Start(ctx, scenario.Spec{
		Out: dir,
		Workload: workload.Config{DSN: dsns[0], MoreDSNs: dsns[1:], Clients: clients,
			OpTimeout: 3 * time.Second, Logger: opts.Logger},
		Monitor: targets,
		Command: "pgchaos selftest --scenario " + sc.Name,
		Version: opts.Version,
	})
	if err != nil {
		return res, err
	}
	e := &env{tb: tb, trial: tr, log: opts.Logger, step: step, dir: dir}
	step("workload running: warm-up")
	var verify func(history.Report, *history.Trial) []string
	if sleep(ctx, warmUp) {
		verify, err = sc.run(ctx, e)
	}
	if err == nil {
		step("cool-down")
		sleep(ctx, coolDown)
	}
	tr.Stop()
	if werr := tr.Wait(); err == nil {
		err = werr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return res, err
	}
	step("reading the final state of every instance")
	var ft []workload.FinalTarget
	for _, in := range tb.Instances {
		ft = append(ft, workload.FinalTarget{Name: in.Name, DSN: tb.DSN(in)})
	}
	t, err := history.Load(dir)
	if err != nil {
		return res, err
	}
	if t.Final, err = scenario.RecordFinal(ctx, dir, t.Meta.Start, t.Meta.Table, t.Meta.Run, ft, 30*time.Second); err != nil {
		return res, err
	}
	rep, err := scenario.Judge(dir, t, assert.DefaultConfig())
	if err != nil {
		return res, err
	}
	res = Result{Scenario: sc.Name, Dir: dir, Report: rep}
	res.Problems = compare(sc.Expect, rep)
	if verify != nil {
		res.Problems = append(res.Problems, verify(rep, t)...)
	}
	res.Expected, res.Observed = describe(sc.Expect, rep)
	res.OK = len(res.Problems) == 0
	res.Elapsed = time.Since(began)
	return res, nil
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) bool { return scenario.Sleep(ctx, d) }

// compare lists the checks whose status differs from the expectation.
func compare(expect map[string]history.Status, rep history.Report) []string {
	var out []string
	got := map[string]history.Verdict{}
	for _, c := range rep.Checks {
		got[c.Name] = c
	}
	names := make([]string, 0, len(expect))
	for n := range expect {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, ok := got[n]
		switch {
		case !ok:
			out = append(out, n+": no verdict")
		case v.Status != expect[n]:
			out = append(out, fmt.Sprintf("%s: expected %s, got %s (%s%s)", n, expect[n], v.Status, v.Summary, v.Reason))
		}
	}
	return out
}

// describe renders expectation and observation in check order, e.g.
// "lost=fail unavail=pass ...".
func describe(expect map[string]history.Status, rep history.Report) (string, string) {
	var e, o []string
	for _, c := range rep.Checks {
		short := shortName(c.Name)
		if st, ok := expect[c.Name]; ok {
			e = append(e, short+"="+string(st))
		} else {
			e = append(e, short+"=any")
		}
		o = append(o, short+"="+string(c.Status))
	}
	return strings.Join(e, " "), strings.Join(o, " ")
}

func shortName(n string) string {
	switch n {
	case history.CheckLostAckedWrites:
		return "lost"
	case history.CheckUnavailability:
		return "unavail"
	case history.CheckSplitBrain:
		return "split"
	case history.CheckWALContinuity:
		return "wal"
	case history.CheckReplicationRecovery:
		return "repl"
	case history.CheckPhantomWrites:
		return "phantom"
	}
	return n
}

// verdict finds a check in a report.
func verdict(rep history.Report, name string) (history.Verdict, error) {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c, nil
		}
	}
	return history.Verdict{}, errors.New("no verdict " + name)
}

// allPass expects every check to pass.
func allPass() map[string]history.Status {
	return map[string]history.Status{
		history.CheckLostAckedWrites: history.Pass, history.CheckUnavailability: history.Pass,
		history.CheckSplitBrain: history.Pass, history.CheckWALContinuity: history.Pass,
		history.CheckReplicationRecovery: history.Pass, history.CheckPhantomWrites: history.Pass,
	}
}
