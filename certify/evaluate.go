package certify

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/pgchaos/pgchaos/history"
)

// Statuses of a requirement and of a certificate. A requirement that
// could not be decided is Undecided, never Pass.
const (
	Pass      = "PASS"
	Fail      = "FAIL"
	Undecided = "UNDECIDED"
)

// Trial is one trial a certificate rests on.
type Trial struct {
	// Dir is the trial directory, relative to the certificate's.
	Dir      string `json:"dir"`
	Scenario string `json:"scenario"`
	Mode     string `json:"mode"`
	Seed     int64  `json:"seed"`
	// Checks are the verdicts as judged when the certificate was made.
	Checks []history.Verdict `json:"checks"`
	// Files maps each raw file of the trial (ledger, monitor, faults,
	// final state, placement) to its SHA-256.
	Files map[string]string `json:"files"`
}

// Missing is a trial the profile asked for that did not run.
type Missing struct {
	Scenario string `json:"scenario"`
	Mode     string `json:"mode"`
	Reason   string `json:"reason"`
}

// Result is a requirement judged over the trials.
type Result struct {
	Requirement
	Status string `json:"status"`
	// Value is the statistic of a figure requirement, when decided.
	Value *float64 `json:"value,omitempty"`
	// Trials is how many trials the requirement was judged over.
	Trials int `json:"trials"`
	// Evidence names the trials that decided it, with their figures.
	Evidence []string `json:"evidence,omitempty"`
	// Reason says why it is undecided.
	Reason string `json:"reason,omitempty"`
}

// Evaluate judges every requirement of p over trials; missing lists what
// the profile asked for and did not run. The overall status is Fail if a
// requirement failed, else Undecided if one could not be decided or a
// trial is missing (with the reason), else Pass.
func Evaluate(p *Profile, trials []Trial, missing []Missing) (results []Result, status, reason string) {
	for _, r := range p.Requirements {
		results = append(results, evaluate(p, r, trials))
	}
	status = Pass
	var undecided []string
	for _, res := range results {
		switch res.Status {
		case Fail:
			status = Fail
		case Undecided:
			undecided = append(undecided, res.ID)
		}
	}
	for _, m := range missing {
		undecided = append(undecided, fmt.Sprintf("%s on %s did not run (%s)", m.Scenario, m.Mode, m.Reason))
	}
	if status == Pass && len(undecided) > 0 {
		status = Undecided
		reason = "not decided: " + strings.Join(undecided, "; ")
	}
	return results, status, reason
}

func evaluate(p *Profile, r Requirement, trials []Trial) Result {
	res := Result{Requirement: r}
	modes := r.Modes
	if len(modes) == 0 {
		modes = p.ModeNames()
	}
	var sel []Trial
	for _, t := range trials {
		if slices.Contains(modes, t.Mode) {
			sel = append(sel, t)
		}
	}
	res.Trials = len(sel)
	if len(sel) == 0 {
		res.Status, res.Reason = Undecided, "no trial of mode "+strings.Join(modes, ", ")
		return res
	}
	if r.Verdict != "" {
		return verdictRequirement(res, sel)
	}
	return figureRequirement(res, sel)
}

func verdictOf(t Trial, check string) (history.Verdict, bool) {
	for _, c := range t.Checks {
		if c.Name == check {
			return c, true
		}
	}
	return history.Verdict{}, false
}

func verdictRequirement(res Result, sel []Trial) Result {
	var failed, undecided []string
	for _, t := range sel {
		v, ok := verdictOf(t, res.Check)
		switch {
		case !ok:
			undecided = append(undecided, fmt.Sprintf("%s: no %s verdict", t.Dir, res.Check))
		case v.Status == history.Failed:
			failed = append(failed, fmt.Sprintf("%s: %s", t.Dir, v.Summary))
		case v.Status != history.Pass:
			why := v.Reason
			if why == "" {
				why = v.Summary
			}
			undecided = append(undecided, fmt.Sprintf("%s: unknown (%s)", t.Dir, why))
		}
	}
	switch {
	case len(failed) > 0:
		res.Status, res.Evidence = Fail, failed
	case len(undecided) > 0:
		res.Status, res.Evidence = Undecided, undecided
		res.Reason = fmt.Sprintf("%d of %d trials left %s unknown", len(undecided), len(sel), res.Check)
	default:
		res.Status = Pass
		res.Evidence = []string{fmt.Sprintf("%s passed in all %d trials", res.Check, len(sel))}
	}
	return res
}

func figureRequirement(res Result, sel []Trial) Result {
	bound := *res.AtMost
	var vals []float64
	var over, undecided []string
	for _, t := range sel {
		v, ok := verdictOf(t, res.Check)
		if !ok || v.Status == history.Undecided {
			undecided = append(undecided, fmt.Sprintf("%s: %s unknown", t.Dir, res.Check))
			continue
		}
		x, ok := figure(v.Figures[res.Figure])
		if !ok {
			undecided = append(undecided, fmt.Sprintf("%s: %s has no figure %s", t.Dir, res.Check, res.Figure))
			continue
		}
		vals = append(vals, x)
		if x > bound {
			over = append(over, fmt.Sprintf("%s: %s = %s", t.Dir, res.Figure, fmtNum(x)))
		}
	}
	// A maximum over the bound is decided by one trial; a percentile needs
	// every trial's value.
	if res.Stat == "max" && len(over) > 0 {
		m := slices.Max(vals)
		res.Status, res.Value, res.Evidence = Fail, &m, over
		return res
	}
	if len(undecided) > 0 {
		res.Status, res.Evidence = Undecided, undecided
		res.Reason = fmt.Sprintf("%d of %d trials have no %s %s", len(undecided), len(sel), res.Check, res.Figure)
		return res
	}
	v := statistic(res.Stat, vals)
	res.Value = &v
	line := fmt.Sprintf("%s of %s over %d trials = %s (at most %s)", res.Stat, res.Figure, len(vals), fmtNum(v), fmtNum(bound))
	if v > bound {
		res.Status, res.Evidence = Fail, append([]string{line}, over...)
	} else {
		res.Status, res.Evidence = Pass, []string{line}
	}
	return res
}

// statistic is max, or the nearest-rank percentile p50 / p95.
func statistic(stat string, vals []float64) float64 {
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	switch stat {
	case "p50", "p95":
		q := 0.5
		if stat == "p95" {
			q = 0.95
		}
		i := int(math.Ceil(q*float64(len(s)))) - 1
		if i < 0 {
			i = 0
		}
		return s[i]
	}
	return s[len(s)-1]
}

// figure reads a numeric figure, in memory or decoded from JSON.
func figure(x any) (float64, bool) {
	switch n := x.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func fmtNum(x float64) string {
	if x == math.Trunc(x) {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.2f", x)
}
