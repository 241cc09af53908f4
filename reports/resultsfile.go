package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// ResultsFile is the name of a run's results in its directory.
const ResultsFile = "results.json"

// ErrNoResults is returned by LoadResults for a directory without
// results.json.
var ErrNoResults = errors.New("no " + ResultsFile)

// LoadResults reads DIR/results.json of any version written so far (see
// ReadResults). A directory without one gives ErrNoResults.
func LoadResults(dir string) (*Results, []string, error) {
	p := filepath.Join(dir, ResultsFile)
	b, err := os.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("reading run %s: %w", dir, ErrNoResults)
	case err != nil:
		return nil, nil, fmt.Errorf("reading %s: %w", p, err)
	}
	r, notes, err := ReadResults(b)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return r, notes, nil
}

// ReadResults decodes a results.json of any version written so far. Unknown
// fields are ignored; a version newer than ResultsVersion is read as far as
// its fields are known, with a note. A version 1 file gets Software from its
// Versions map and the budgets its checks recorded (the RTO and
// replication budgets); its schedule and workload stay unknown (Budgets
// nil: see Settings). Only a file that is not a JSON object of format
// pgchaos-results is an error.
func ReadResults(b []byte) (*Results, []string, error) {
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		// A field of an unexpected type (a newer version may change one)
		// must not hide the rest: read the parts that do decode.
		var loose map[string]json.RawMessage
		if err2 := json.Unmarshal(b, &loose); err2 != nil {
			return nil, nil, fmt.Errorf("not a results file: %w", err)
		}
		r = Results{}
		for k, dst := range map[string]any{"format": &r.Format, "version": &r.Version, "started": &r.Started,
			"environment": &r.Environment, "versions": &r.Versions, "budgets": &r.Budgets, "software": &r.Software,
			"clusters": &r.Clusters, "trials": &r.Trials, "summaries": &r.Summaries} {
			if raw, ok := loose[k]; ok {
				_ = json.Unmarshal(raw, dst)
			}
		}
		if r.Format != ResultsFormat {
			return nil, nil, fmt.Errorf("not a results file: %w", err)
		}
	}
	if r.Format != ResultsFormat {
		return nil, nil, fmt.Errorf("not a results file: format %q, want %q", r.Format, ResultsFormat)
	}
	var notes []string
	switch {
	case r.Version > ResultsVersion:
		notes = append(notes, fmt.Sprintf("results.json is version %d, newer than this pgchaos reads (%d): fields it does not know are not shown", r.Version, ResultsVersion))
	case r.Version < 1:
		notes = append(notes, fmt.Sprintf("results.json has version %d, which no pgchaos writes; read as version 1", r.Version))
	}
	if r.Software == nil {
		r.Software = softwareFromVersions(r.Versions)
	}
	if len(r.Summaries) == 0 && len(r.Trials) > 0 {
		r.Summaries = Summarize(r.Trials)
	}
	return &r, notes, nil
}

// softwareFromVersions reads the flat versions map of a version 1 file.
// Version 1 predates the operator registry: CloudNativePG was the only
// operator then, recorded under its module name; later files carry
// Software, written from the adapter.
func softwareFromVersions(v map[string]string) *Software {
	s := &Software{PGChaos: v["pgchaos"], OperatorImage: v["operator_image"], PostgresImage: v["postgres_image"], Kubernetes: v["kubernetes"]}
	for _, op := range []struct{ key, name string }{{"cloudnative-pg", "cnpg"}} {
		if ver, ok := v[op.key]; ok {
			s.Operator, s.OperatorVersion = op.name, ver
		}
	}
	return s
}

// Setting is one budget or schedule value of a run, for people and for
// deciding whether two runs are comparable.
type Setting struct {
	Name string
	// Value is "" when the run did not record it (a version 1 file).
	Value string
}

// Settings returns the budgets and schedule of a run, in a fixed order:
// from Budgets when recorded (version 2), else the RTO and replication
// budgets its checks recorded (figure budget_s; the same in every trial,
// else "varies") and the rest unknown.
func (r *Results) Settings() []Setting {
	names := []string{"RTO budget", "replication budget", "warm-up", "hold", "cool-down", "clients", "rate"}
	vals := make([]string, len(names))
	if b := r.Budgets; b != nil {
		vals = []string{durText(b.RTO), durText(b.Replication), durText(b.WarmUp), durText(b.Hold), durText(b.CoolDown),
			fmt.Sprint(b.Clients), rateShort(b.Rate)}
	} else {
		vals[0] = r.figureBudget(history.CheckUnavailability)
		vals[1] = r.figureBudget(history.CheckReplicationRecovery)
	}
	out := make([]Setting, len(names))
	for i := range names {
		out[i] = Setting{Name: names[i], Value: vals[i]}
	}
	return out
}

// figureBudget reads the budget_s figure every trial's check of that name
// recorded ("" when none did).
func (r *Results) figureBudget(check string) string {
	seen := ""
	for _, t := range r.Trials {
		v, ok := t.figure(check, "budget_s")
		if !ok {
			continue
		}
		s := durText(time.Duration(v * float64(time.Second)))
		if seen != "" && seen != s {
			return "varies"
		}
		seen = s
	}
	return seen
}

// durText writes a budget: "30s", "1m30s", "2.5s".
func durText(d time.Duration) string {
	if d%time.Second == 0 && d < 2*time.Minute {
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	return d.String()
}

func rateShort(r float64) string {
	if r == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%g/s", r)
}

// softwareRows lists the versions of a run for people ("not recorded" for
// what is unknown), with the cluster of each replication mode.
func (r *Results) softwareRows() [][2]string {
	s := r.Software
	if s == nil {
		s = softwareFromVersions(r.Versions)
	}
	or := func(v string) string {
		if v == "" {
			return "not recorded"
		}
		return v
	}
	op := strings.TrimSpace(s.Operator + " " + s.OperatorVersion)
	rows := [][2]string{
		{"pgchaos", or(s.PGChaos)},
		{"Kubernetes (API server)", or(s.Kubernetes)},
		{"operator", or(op)},
		{"operator image", or(s.OperatorImage)},
		{"PostgreSQL image", or(s.PostgresImage)},
	}
	for _, k := range sortedKeys(s.OperatorSettings) {
		rows = append(rows, [2]string{"operator setting " + k, s.OperatorSettings[k]})
	}
	for _, c := range r.Clusters {
		rows = append(rows, [2]string{"cluster (" + c.Replication + ")", c.Summary()})
	}
	if len(r.Clusters) == 0 {
		rows = append(rows, [2]string{"clusters", "not recorded (results.json version " + fmt.Sprint(r.Version) + ")"})
	}
	for _, k := range sortedKeys(r.Environment) {
		rows = append(rows, [2]string{"environment: " + k, r.Environment[k]})
	}
	return rows
}

// Summary describes the cluster in one line: "pg-sync in pgchaos, 3
// instances, synchronous quorum ANY 1, 1Gi each, PostgreSQL 15.10".
func (c ClusterInfo) Summary() string {
	parts := []string{c.Name}
	if c.Namespace != "" {
		parts[0] += " in " + c.Namespace
	}
	if c.Instances > 0 {
		parts = append(parts, fmt.Sprintf("%d instance%s", c.Instances, plural(c.Instances)))
	}
	if c.Synchronous != "" {
		parts = append(parts, "synchronous "+c.Synchronous)
	} else {
		parts = append(parts, "asynchronous")
	}
	if c.Storage != "" {
		parts = append(parts, c.Storage+" each")
	}
	if c.PostgreSQL != "" {
		parts = append(parts, "PostgreSQL "+c.PostgreSQL)
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
