package reports

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// Result is one judged trial of a run.
type Result struct {
	Scenario    string            `json:"scenario"`
	Operator    string            `json:"operator"`
	Replication string            `json:"replication"`
	Dir         string            `json:"dir"`
	Seed        int64             `json:"seed"`
	Target      string            `json:"target,omitempty"`
	Elapsed     time.Duration     `json:"elapsed_ns"`
	Checks      []history.Verdict `json:"checks"`
	// Expectation is what the expectations checker held the trial to:
	// the table's line and the operator's override, in words.
	Expectation string `json:"expectation,omitempty"`
	// Placement is where the fault struck (the operator's and the
	// clients' nodes relative to it).
	Placement *history.Placement `json:"placement,omitempty"`
}

// Status is the trial's overall status.
func (t Result) Status() history.Status { return history.Report{Checks: t.Checks}.Worst() }

// figure reads a numeric figure of a check (in memory or decoded from JSON).
func (t Result) figure(check, name string) (float64, bool) {
	for _, c := range t.Checks {
		if c.Name != check {
			continue
		}
		switch v := c.Figures[name].(type) {
		case float64:
			return v, true
		case int:
			return float64(v), true
		case int64:
			return float64(v), true
		}
	}
	return 0, false
}

// MaxUnavailable is the longest unavailability window in seconds (0 when none).
func (t Result) MaxUnavailable() float64 {
	v, _ := t.figure(history.CheckUnavailability, "max_s")
	return v
}

// Lost is the number of lost acknowledged writes (-1 when unknown).
func (t Result) Lost() int {
	v, ok := t.figure(history.CheckLostAckedWrites, "lost")
	if !ok {
		return -1
	}
	return int(v)
}

// Summary aggregates the trials of one scenario and replication mode.
type Summary struct {
	Scenario    string  `json:"scenario"`
	Replication string  `json:"replication"`
	Trials      int     `json:"trials"`
	Failed      int     `json:"failed"`
	LostTotal   int     `json:"lost_total"`
	UnavailP50  float64 `json:"unavailable_p50_s"`
	UnavailP95  float64 `json:"unavailable_p95_s"`
	UnavailMax  float64 `json:"unavailable_max_s"`
}

// ResultsFormat is the "format" of every results.json.
const ResultsFormat = "pgchaos-results"

// ResultsVersion is the results.json version this package writes, and the
// newest it reads. Version 1 had Environment, Versions (a flat map), Trials
// and Summaries; version 2 adds Budgets, Software and Clusters. A newer
// version is read as far as its fields are known, with a note.
const ResultsVersion = 2

// Results is the content of results.json.
type Results struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Started time.Time `json:"started"`
	// Environment and Versions describe where and with what the run happened.
	Environment map[string]string `json:"environment"`
	Versions    map[string]string `json:"versions"`
	// Budgets are the budgets and schedule every trial ran and was judged
	// with (version 2; nil in version 1).
	Budgets *Budgets `json:"budgets,omitempty"`
	// Software names the version of everything involved (version 2; read
	// from Versions for version 1).
	Software *Software `json:"software,omitempty"`
	// Clusters summarises the Postgres cluster of each replication mode
	// (version 2).
	Clusters  []ClusterInfo `json:"clusters,omitempty"`
	Trials    []Result      `json:"trials"`
	Summaries []Summary     `json:"summaries"`
	// Skipped are the faults asked for that could not run on the target,
	// with the reason (version 2; absent when none).
	Skipped []Skip `json:"skipped,omitempty"`
}

// Skip is a fault that was asked for and not run, and why.
type Skip struct {
	Scenario    string `json:"scenario"`
	Replication string `json:"replication"`
	Reason      string `json:"reason"`
}

// Budgets are what a run's trials were driven and judged by: two runs are
// comparable only when these are equal.
type Budgets struct {
	// RTO: an unavailability window longer than this fails.
	RTO time.Duration `json:"rto_budget_ns"`
	// Replication: replicas must stream again within this.
	Replication time.Duration `json:"replication_budget_ns"`
	// WarmUp, Hold and CoolDown are the fault schedule: workload time before
	// the fault, time the fault stays applied, workload time after the
	// cluster is ready again.
	WarmUp   time.Duration `json:"warm_up_ns"`
	Hold     time.Duration `json:"hold_ns"`
	CoolDown time.Duration `json:"cool_down_ns"`
	// Clients and Rate are the workload's (Rate 0: unlimited).
	Clients int     `json:"clients"`
	Rate    float64 `json:"rate"`
}

// Software is the version of everything a run involved; empty fields were
// not known.
type Software struct {
	PGChaos string `json:"pgchaos"`
	// Kubernetes is the API server's version (discovery).
	Kubernetes      string `json:"kubernetes,omitempty"`
	Operator        string `json:"operator,omitempty"`
	OperatorVersion string `json:"operator_version,omitempty"`
	OperatorImage   string `json:"operator_image,omitempty"`
	PostgresImage   string `json:"postgres_image,omitempty"`
	// OperatorSettings are the operator's settings that matter when
	// comparing operators (failover timings, grace periods), as installed.
	OperatorSettings map[string]string `json:"operator_settings,omitempty"`
}

// ClusterInfo summarises the Postgres cluster one replication mode ran on.
type ClusterInfo struct {
	Replication string `json:"replication"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name"`
	Instances   int    `json:"instances"`
	// Synchronous describes the synchronous replication ("" when async).
	Synchronous string `json:"synchronous,omitempty"`
	Storage     string `json:"storage,omitempty"`
	// PostgreSQL is the server's version (SHOW server_version), or the
	// image tag's with "(image tag)" when the server could not be asked.
	PostgreSQL string `json:"postgresql,omitempty"`
}

// NewResults starts the results of a run (version ResultsVersion).
func NewResults(started time.Time, env, versions map[string]string) *Results {
	return &Results{Format: ResultsFormat, Version: ResultsVersion, Started: started, Environment: env, Versions: versions}
}

// Cluster returns the cluster of a replication mode, if recorded.
func (r *Results) Cluster(replication string) (ClusterInfo, bool) {
	for _, c := range r.Clusters {
		if c.Replication == replication {
			return c, true
		}
	}
	return ClusterInfo{}, false
}

// SetCluster records (or replaces) the cluster of c.Replication.
func (r *Results) SetCluster(c ClusterInfo) {
	for i := range r.Clusters {
		if r.Clusters[i].Replication == c.Replication {
			r.Clusters[i] = c
			return
		}
	}
	r.Clusters = append(r.Clusters, c)
}

// Add records a trial and refreshes the summaries.
func (r *Results) Add(t Result) {
	r.Trials = append(r.Trials, t)
	r.Summaries = Summarize(r.Trials)
}

// Summarize groups trials by scenario and replication, in first-seen order.
func Summarize(trials []Result) []Summary {
	type key struct{ s, r string }
	var order []key
	groups := map[key][]Result{}
	for _, t := range trials {
		k := key{t.Scenario, t.Replication}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], t)
	}
	var out []Summary
	for _, k := range order {
		ts := groups[k]
		s := Summary{Scenario: k.s, Replication: k.r, Trials: len(ts)}
		var un []float64
		for _, t := range ts {
			if t.Status() == history.Failed {
				s.Failed++
			}
			if l := t.Lost(); l > 0 {
				s.LostTotal += l
			}
			un = append(un, t.MaxUnavailable())
		}
		s.UnavailP50, s.UnavailP95, s.UnavailMax = Quantile(un, 50), Quantile(un, 95), Quantile(un, 100)
		out = append(out, s)
	}
	return out
}

// Quantile is the nearest-rank percentile p (0–100] of xs (0 when empty).
func Quantile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	rank = min(max(rank, 1), len(s))
	return s[rank-1]
}

// WriteJSON writes the results to path.
func WriteJSON(path string, r *Results) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding results: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes one test suite per scenario and replication, one test
// case per check of each trial: a failed check fails its case, an unknown
// one is skipped with its reason.
func WriteJUnit(w io.Writer, r *Results) error {
	var out junitSuites
	index := map[string]int{}
	for i, t := range r.Trials {
		name := fmt.Sprintf("%s/%s/%s", t.Operator, t.Replication, t.Scenario)
		si, ok := index[name]
		if !ok {
			si = len(out.Suites)
			index[name] = si
			out.Suites = append(out.Suites, junitSuite{Name: name})
		}
		s := &out.Suites[si]
		for _, c := range t.Checks {
			jc := junitCase{Name: fmt.Sprintf("trial %d: %s", i+1, c.Name), ClassName: name,
				Time: t.Elapsed.Seconds(), SystemOut: fmt.Sprintf("%s\nseed %d, trial %s", c.Summary, t.Seed, t.Dir)}
			switch c.Status {
			case history.Failed:
				jc.Failure = &junitMessage{Message: c.Summary, Text: evidence(c)}
				s.Failures++
			case history.Undecided:
				jc.Skipped = &junitMessage{Message: c.Reason}
				s.Skipped++
			}
			s.Tests++
			s.Cases = append(s.Cases, jc)
		}
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("writing JUnit XML: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("writing JUnit XML: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func evidence(c history.Verdict) string {
	var b strings.Builder
	for _, e := range c.Evidence {
		fmt.Fprintln(&b, e.What)
	}
	return b.String()
}

// WriteTable prints the per-scenario summary for people.
func WriteTable(w io.Writer, r *Results) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tREPLICATION\tTRIALS\tFAILED\tLOST\tUNAVAIL p50\tp95\tmax")
	for _, s := range r.Summaries {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1fs\t%.1fs\t%.1fs\n", s.Scenario, s.Replication, s.Trials, s.Failed,
			s.LostTotal, s.UnavailP50, s.UnavailP95, s.UnavailMax)
	}
	return tw.Flush()
}
