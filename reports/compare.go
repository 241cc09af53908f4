package reports

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pgchaos/pgchaos/history"
)

// ErrMismatch is returned by Compare when the runs are not comparable:
// their scenarios or their budgets and schedule differ.
var ErrMismatch = errors.New("the runs are not comparable")

// RunResults is one run directory's results.json, as Compare reads it.
type RunResults struct {
	// Label names the run in the comparison: its directory's base name, or
	// the directory as given when two runs share a base name.
	Label   string
	Dir     string
	Results *Results
	// Notes are problems met reading results.json that did not stop the
	// comparison (a newer version).
	Notes []string
}

// LoadRunResults reads results.json of each run directory, in order, and
// labels the runs.
func LoadRunResults(dirs []string) ([]RunResults, error) {
	out := make([]RunResults, 0, len(dirs))
	for _, d := range dirs {
		r, notes, err := LoadResults(d)
		if err != nil {
			return nil, err
		}
		out = append(out, RunResults{Dir: d, Results: r, Notes: notes})
	}
	labelRuns(out)
	return out, nil
}

// labelRuns names each run by its directory's base name, by the directory
// as given where base names collide, and numbers what still collides.
func labelRuns(runs []RunResults) {
	base := func(d string) string {
		if abs, err := filepath.Abs(d); err == nil {
			return filepath.Base(abs)
		}
		return filepath.Base(filepath.Clean(d))
	}
	count := map[string]int{}
	for _, r := range runs {
		count[base(r.Dir)]++
	}
	used := map[string]int{}
	for i := range runs {
		if runs[i].Label != "" {
			continue
		}
		l := base(runs[i].Dir)
		if count[l] > 1 {
			l = filepath.Clean(runs[i].Dir)
		}
		used[l]++
		if used[l] > 1 {
			l = fmt.Sprintf("%s (%d)", l, used[l])
		}
		runs[i].Label = l
	}
}

// CompareOptions configures Compare.
type CompareOptions struct {
	// AllowMismatch compares runs whose scenarios or budgets differ; the
	// differences are then listed in Comparison.Mismatches and shown as a
	// warning.
	AllowMismatch bool
}

// Comparison is the same scenarios across configurations (operator and
// replication mode of each run) side by side.
type Comparison struct {
	Runs    []RunResults
	Configs []Configuration
	// Scenarios are in the order first met; Checks in scorecard order.
	Scenarios []string
	Checks    []string
	// Mismatches are the differences in scenarios, budgets or schedule that
	// make the runs not comparable (only with AllowMismatch; otherwise
	// Compare fails with them).
	Mismatches []string
	// Unverified are settings some run did not record (results.json version
	// 1): whether they match cannot be told.
	Unverified []string
	// Notes are the runs' reading notes, each prefixed with its run.
	Notes []string
}

// Configuration is one column of a comparison: the trials of one operator
// and replication mode in one run.
type Configuration struct {
	// Run indexes Comparison.Runs.
	Run                   int
	RunLabel              string
	Operator, Replication string
	Cluster               ClusterInfo
	HasCluster            bool
	trials                map[string][]Result
}

// Label names the configuration: "run · cnpg · async".
func (c Configuration) Label() string {
	parts := []string{c.RunLabel}
	for _, p := range []string{c.Operator, c.Replication} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " · ")
}

// Trials returns the configuration's trials of a scenario (its
// replication prefix stripped), in the order they ran.
func (c Configuration) Trials(scenario string) []Result { return c.trials[scenario] }

// ScenarioName is the scenario of a trial without its replication mode: a
// trial named "async-primary-pod-delete" of replication async is
// "primary-pod-delete", so that it lines up with the sync one. It also
// returns the replication mode, taken from the prefix when the trial
// records none.
func ScenarioName(t Result) (scenario, replication string) {
	s, r := t.Scenario, t.Replication
	if r != "" {
		return strings.TrimPrefix(s, r+"-"), r
	}
	for _, m := range []string{"async", "sync"} {
		if rest, ok := strings.CutPrefix(s, m+"-"); ok {
			return rest, m
		}
	}
	return s, r
}

// Compare lines up the configurations of runs: one per operator and
// replication mode of each run, in the order met. Runs whose scenarios
// differ (between any two configurations) or whose budgets or schedule
// differ fail with ErrMismatch naming the differences, unless
// opts.AllowMismatch; the Comparison is returned either way.
func Compare(runs []RunResults, opts CompareOptions) (*Comparison, error) {
	labelRuns(runs)
	c := &Comparison{Runs: runs}
	for ri, run := range runs {
		for _, n := range run.Notes {
			c.Notes = append(c.Notes, run.Label+": "+n)
		}
		if run.Results == nil || len(run.Results.Trials) == 0 {
			return c, fmt.Errorf("comparing %s: results.json records no trial", run.Dir)
		}
		index := map[[2]string]int{}
		for _, t := range run.Results.Trials {
			scn, repl := ScenarioName(t)
			k := [2]string{t.Operator, repl}
			ci, ok := index[k]
			if !ok {
				ci = len(c.Configs)
				index[k] = ci
				cfg := Configuration{Run: ri, RunLabel: run.Label, Operator: t.Operator, Replication: repl, trials: map[string][]Result{}}
				cfg.Cluster, cfg.HasCluster = run.Results.Cluster(repl)
				c.Configs = append(c.Configs, cfg)
			}
			cfg := &c.Configs[ci]
			cfg.trials[scn] = append(cfg.trials[scn], t)
			if !slices.Contains(c.Scenarios, scn) {
				c.Scenarios = append(c.Scenarios, scn)
			}
		}
	}
	c.Checks = compareChecks(runs)
	c.Mismatches = append(c.scenarioMismatches(), c.settingMismatches()...)
	if len(c.Mismatches) > 0 && !opts.AllowMismatch {
		return c, fmt.Errorf("%w: %s", ErrMismatch, strings.Join(c.Mismatches, "; "))
	}
	return c, nil
}

// compareChecks returns the check names of every trial, in scorecard order.
func compareChecks(runs []RunResults) []string {
	var run Run
	for _, r := range runs {
		for _, t := range r.Results.Trials {
			run.Trials = append(run.Trials, Trial{Verdicts: t.Checks})
		}
	}
	return Checks(run)
}

// scenarioMismatches names the scenarios each configuration lacks.
func (c *Comparison) scenarioMismatches() []string {
	var out []string
	for _, cfg := range c.Configs {
		var lacks []string
		for _, s := range c.Scenarios {
			if len(cfg.trials[s]) == 0 {
				lacks = append(lacks, s)
			}
		}
		if len(lacks) > 0 {
			out = append(out, fmt.Sprintf("scenarios differ: %s lacks %s", cfg.Label(), listShort(lacks, 4)))
		}
	}
	return out
}

// settingMismatches names the budgets and schedule settings whose values
// differ between runs; settings some run did not record go to Unverified.
func (c *Comparison) settingMismatches() []string {
	if len(c.Runs) < 2 {
		return nil
	}
	var out []string
	per := make([][]Setting, len(c.Runs))
	for i, r := range c.Runs {
		per[i] = r.Results.Settings()
	}
	var unverified []string
	names := map[string][]string{} // by the runs that lack them
	for si, s := range per[0] {
		var vals, missing []string
		distinct := map[string]bool{}
		for ri, r := range c.Runs {
			v := per[ri][si].Value
			if v == "" {
				missing = append(missing, r.Label)
				continue
			}
			vals = append(vals, r.Label+" "+v)
			distinct[v] = true
		}
		if len(distinct) > 1 {
			out = append(out, fmt.Sprintf("%s differs: %s", s.Name, strings.Join(vals, ", ")))
		}
		if len(missing) > 0 {
			k := strings.Join(missing, ", ")
			if _, ok := names[k]; !ok {
				unverified = append(unverified, k)
			}
			names[k] = append(names[k], s.Name)
		}
	}
	for _, k := range unverified {
		c.Unverified = append(c.Unverified, fmt.Sprintf("%s not recorded by %s (results.json version 1): whether they match cannot be told",
			strings.Join(names[k], ", "), k))
	}
	return out
}

// listShort joins up to n items and says how many more there are.
func listShort(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// Measure is a figure of a verdict over a configuration's repeated trials.
type Measure struct {
	// Values are one per trial that recorded the figure.
	Values        []float64
	P50, P95, Max float64
}

// measure computes p50/p95/max of values (nearest rank).
func measure(values []float64) Measure {
	return Measure{Values: values, P50: Quantile(values, 50), P95: Quantile(values, 95), Max: Quantile(values, 100)}
}

// Lost is the lost acknowledged writes of a configuration's trials of a
// scenario (trials whose check did not record the figure are left out).
func (c Configuration) Lost(scenario string) Measure {
	var vs []float64
	for _, t := range c.trials[scenario] {
		if l := t.Lost(); l >= 0 {
			vs = append(vs, float64(l))
		}
	}
	return measure(vs)
}

// Unavailable is the longest unavailability window in seconds of each of a
// configuration's trials of a scenario (a trial without a decided
// unavailability check is left out).
func (c Configuration) Unavailable(scenario string) Measure {
	var vs []float64
	for _, t := range c.trials[scenario] {
		for _, v := range t.Checks {
			if v.Name == history.CheckUnavailability && v.Status != history.Undecided {
				vs = append(vs, t.MaxUnavailable())
			}
		}
	}
	return measure(vs)
}

// headline is the figure of a measure that a row compares: the worst lost
// count, the typical (p50) unavailability.
func headline(check string, m Measure) float64 {
	if check == history.CheckLostAckedWrites {
		return m.Max
	}
	return m.P50
}

// differs tells whether two headline figures of a check differ enough to
// point out: any lost write; unavailability by more than half a second and
// a tenth.
func differs(check string, lo, hi float64) bool {
	if check == history.CheckLostAckedWrites {
		return hi != lo
	}
	return hi-lo > math.Max(0.5, 0.1*hi)
}

// measured reports whether a check has a figure compared across
// configurations.
func measured(check string) bool {
	return check == history.CheckLostAckedWrites || check == history.CheckUnavailability
}

func (c Configuration) measure(check, scenario string) Measure {
	if check == history.CheckLostAckedWrites {
		return c.Lost(scenario)
	}
	return c.Unavailable(scenario)
}

// measureText writes a measure for a cell: "614 lost" for one trial,
// "p50 0 · p95 614 · max 614 lost" for several.
func measureText(check string, m Measure) string {
	if len(m.Values) == 0 {
		return "no figure"
	}
	f := func(v float64) string {
		if check == history.CheckLostAckedWrites {
			return fmtCount(int64(v))
		}
		return secs(v)
	}
	unit := " lost"
	if check == history.CheckUnavailability {
		unit = " unavailable"
		if len(m.Values) == 1 {
			if m.Max == 0 {
				return "no window"
			}
			return "max " + f(m.Max) + unit
		}
	}
	if len(m.Values) == 1 {
		return f(m.Max) + unit
	}
	return fmt.Sprintf("p50 %s · p95 %s · max %s%s", f(m.P50), f(m.P95), f(m.Max), unit)
}

// deltaText writes how much worse a headline figure is than the best.
func deltaText(check string, d float64) string {
	if check == history.CheckLostAckedWrites {
		return "+" + fmtCount(int64(d)) + " lost vs best"
	}
	return "+" + secs(d) + " vs best"
}

// tally is the statuses of one check over trials.
type tally struct{ trials, pass, fail, unknown, missing int }

func (t tally) status() history.Status {
	switch {
	case t.fail > 0:
		return history.Failed
	case t.unknown > 0 || t.missing > 0 || t.trials == 0:
		return history.Undecided
	}
	return history.Pass
}

func (t tally) word() string {
	w := statusWord(t.status())
	if t.trials > 1 {
		switch t.status() {
		case history.Failed:
			w += fmt.Sprintf(" %d of %d", t.fail, t.trials)
		case history.Undecided:
			w += fmt.Sprintf(" %d of %d", t.unknown+t.missing, t.trials)
		default:
			w += fmt.Sprintf(" %d of %d", t.pass, t.trials)
		}
	}
	return w
}

// tallyCheck counts the statuses of check in trials; keyed is the verdict
// of the worst trial (first failed, else first unknown, else first).
func tallyCheck(trials []Result, check string) (tally, history.Verdict, bool) {
	var t tally
	var key history.Verdict
	found, rank := false, -1
	for _, tr := range trials {
		t.trials++
		var v history.Verdict
		ok := false
		for _, c := range tr.Checks {
			if c.Name == check {
				v, ok = c, true
				break
			}
		}
		if !ok {
			t.missing++
			continue
		}
		r := 0
		switch v.Status {
		case history.Pass:
			t.pass++
		case history.Failed:
			t.fail++
			r = 2
		default:
			t.unknown++
			r = 1
		}
		if r > rank {
			key, found, rank = v, true, r
		}
	}
	return t, key, found
}
