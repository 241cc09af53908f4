package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pgchaos/pgchaos/history"
)

// VerdictSchema is the newest verdict.json schema this package knows. Every
// verdict.json written so far carries no "schema" field and reads as schema
// 1; a newer one is still rendered, as far as its fields are known, with a
// note saying so.
const VerdictSchema = 1

// ErrNoTrial is returned by LoadRun for a directory that holds no trial.
var ErrNoTrial = errors.New("no trial")

// Run is what one report shows: the trials of a run directory.
type Run struct {
	// Dir is the directory the run was loaded from.
	Dir string
	// Trials are in the order they ran (by start time, then name).
	Trials []Trial
	// Results is the run's results.json (written by pgchaos run), nil when
	// it has none; ResultsNotes say what could not be read of it (a newer
	// version, an unreadable file: the report is rendered anyway).
	Results      *Results
	ResultsNotes []string
}

// readResults attaches DIR/results.json, if any, to the run. A file that
// cannot be read is a note, never a failure of the report.
func (run *Run) readResults() {
	r, notes, err := LoadResults(run.Dir)
	switch {
	case errors.Is(err, ErrNoResults):
		return
	case err != nil:
		run.ResultsNotes = append(run.ResultsNotes, fmt.Sprintf("%s could not be read (%v): the run's versions and budgets are not shown", ResultsFile, err))
		return
	}
	run.Results, run.ResultsNotes = r, notes
}

// Result returns the result results.json records for a trial (matched by
// its directory), if any.
func (run *Run) Result(t *Trial) (Result, bool) {
	if run.Results == nil {
		return Result{}, false
	}
	for _, r := range run.Results.Trials {
		if r.Dir != "" && (filepath.Base(filepath.Clean(r.Dir)) == filepath.Base(filepath.Clean(t.Dir)) || r.Dir == t.Dir) {
			return r, true
		}
	}
	return Result{}, false
}

// Trial is one trial directory and its verdicts.
type Trial struct {
	// Name is the trial directory's base name (the scenario, for a self-test).
	Name string
	Dir  string
	// History is the recorded trial; nil when Err is set. LoadRun releases
	// its Ops once they are binned into Timeline (a trial of ten million
	// writes holds half a gigabyte of them; a run holds many trials).
	History *history.Trial
	// Timeline is the ledger binned for the chart; Render computes it from
	// History.Ops when nil.
	Timeline *Timeline
	// Err says why the trial could not be read (in a run of several trials,
	// an unreadable one is shown as such rather than failing the report).
	Err string
	// Checked is false when the trial has no verdict.json: it is shown as
	// not checked, never given verdicts.
	Checked bool
	// Verdicts are the checks of verdict.json, in its order.
	Verdicts []history.Verdict
	// Notes are problems met reading verdict.json that did not stop the
	// report (a newer schema, a check that could not be decoded).
	Notes []string
}

// Worst returns the overall status of the trial: fail if any check failed,
// else unknown if any is unknown or the trial was not checked or read, else
// pass.
func (t *Trial) Worst() history.Status {
	if t.Err != "" || !t.Checked {
		return history.Undecided
	}
	st := history.Report{Checks: t.Verdicts}.Worst()
	if len(t.Verdicts) == 0 {
		return history.Undecided
	}
	return st
}

// Verdict returns the check of that name, if the trial has it.
func (t *Trial) Verdict(name string) (history.Verdict, bool) {
	for _, v := range t.Verdicts {
		if v.Name == name {
			return v, true
		}
	}
	return history.Verdict{}, false
}

// LoadRun reads a run: dir is either one trial directory (it holds a
// ledger) or a directory whose subdirectories are trial directories, or
// directories of them (scenario/trial; the trial is then named
// "scenario/trial"). A subdirectory without a ledger or trials is ignored; one whose trial cannot be read
// is kept, with Err set. A single trial directory that cannot be read is an
// error.
func LoadRun(dir string) (Run, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return Run{}, fmt.Errorf("reading run %s: %w", dir, err)
	}
	if !st.IsDir() {
		return Run{}, fmt.Errorf("reading run %s: not a directory", dir)
	}
	run := Run{Dir: dir}
	if isTrialDir(dir) {
		t, err := LoadTrial(dir)
		if err != nil {
			return Run{}, err
		}
		t.release()
		run.Trials = []Trial{t}
		run.readResults()
		return run, nil
	}
	if err := run.addTrials(dir, "", 2); err != nil {
		return Run{}, err
	}
	if len(run.Trials) == 0 {
		return Run{}, fmt.Errorf("reading run %s: %w (no %s in it or in its subdirectories)", dir, ErrNoTrial, history.LedgerFile)
	}
	slices.SortStableFunc(run.Trials, func(a, b Trial) int {
		if a.History != nil && b.History != nil {
			if c := a.History.Meta.Start.Compare(b.History.Meta.Start); c != 0 {
				return c
			}
		}
		return strings.Compare(a.Name, b.Name)
	})
	run.readResults()
	return run, nil
}

// addTrials loads the trial directories under dir, depth levels deep (a
// run of scenarios, each a directory of repeated trials, is two levels).
// A trial's name is its path below the run's directory.
func (run *Run) addTrials(dir, prefix string, depth int) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reading run %s: %w", dir, err)
	}
	for _, e := range ents {
		sub := filepath.Join(dir, e.Name())
		if !e.IsDir() {
			continue
		}
		name := prefix + e.Name()
		if !isTrialDir(sub) {
			if depth > 1 {
				if err := run.addTrials(sub, name+"/", depth-1); err != nil {
					return err
				}
			}
			continue
		}
		t, err := LoadTrial(sub)
		if err != nil {
			t = Trial{Dir: sub, Err: err.Error()}
		}
		t.Name = name
		t.release()
		run.Trials = append(run.Trials, t)
	}
	return nil
}

func isTrialDir(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, history.LedgerFile))
	return err == nil && !st.IsDir()
}

// LoadTrial reads one trial directory and its verdict.json, if any, keeping
// every write of its ledger in History.Ops.
func LoadTrial(dir string) (Trial, error) {
	name := filepath.Base(filepath.Clean(dir))
	if abs, err := filepath.Abs(dir); err == nil {
		name = filepath.Base(abs)
	}
	h, err := history.Load(dir)
	if err != nil {
		return Trial{}, err
	}
	t := Trial{Name: name, Dir: dir, History: h}
	vp := filepath.Join(dir, history.VerdictFile)
	b, err := os.ReadFile(vp)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return t, nil
	case err != nil:
		return Trial{}, fmt.Errorf("reading %s: %w", vp, err)
	}
	vs, notes, err := ReadVerdicts(b)
	if err != nil {
		return Trial{}, fmt.Errorf("reading %s: %w", vp, err)
	}
	t.Checked, t.Verdicts, t.Notes = true, vs, notes
	return t, nil
}

// release bins the trial's writes and lets go of them.
func (t *Trial) release() {
	if t.History == nil || t.Timeline != nil {
		return
	}
	t.Timeline = NewTimeline(t.History, lostFailed(t))
	t.History.Ops = nil
}

// ReadVerdicts decodes the content of a verdict.json of any schema written
// so far, tolerantly: unknown fields are ignored, a check that cannot be
// decoded is skipped with a note, and a schema newer than VerdictSchema is
// read as far as its fields are known, with a note. Only a file that is not
// a JSON object, or whose "checks" is not a list, is an error.
func ReadVerdicts(b []byte) ([]history.Verdict, []string, error) {
	var doc struct {
		Schema json.RawMessage   `json:"schema"`
		Checks []json.RawMessage `json:"checks"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, nil, fmt.Errorf("not a verdict file: %w", err)
	}
	var notes []string
	if len(doc.Schema) > 0 && !bytes.Equal(doc.Schema, []byte("null")) {
		var n int
		if err := json.Unmarshal(doc.Schema, &n); err != nil {
			notes = append(notes, fmt.Sprintf("verdict.json has a schema %s this pgchaos does not understand; shown as far as it can be read", doc.Schema))
		} else if n > VerdictSchema {
			notes = append(notes, fmt.Sprintf("verdict.json is schema %d, newer than this pgchaos reads (%d): fields it does not know are not shown", n, VerdictSchema))
		}
	}
	out := make([]history.Verdict, 0, len(doc.Checks))
	for i, raw := range doc.Checks {
		v, err := readVerdict(raw)
		if err != nil {
			notes = append(notes, fmt.Sprintf("check %d of verdict.json could not be read (%v); it is not shown", i+1, err))
			continue
		}
		out = append(out, v)
	}
	return out, notes, nil
}

// readVerdict decodes one check field by field, so that a field of an
// unexpected type loses only that field.
func readVerdict(raw json.RawMessage) (history.Verdict, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return history.Verdict{}, err
	}
	var v history.Verdict
	if err := json.Unmarshal(fields["name"], &v.Name); err != nil || v.Name == "" {
		return history.Verdict{}, errors.New("no name")
	}
	var status string
	_ = json.Unmarshal(fields["status"], &status)
	v.Status = history.Status(status)
	_ = json.Unmarshal(fields["summary"], &v.Summary)
	_ = json.Unmarshal(fields["reason"], &v.Reason)
	if err := json.Unmarshal(fields["figures"], &v.Figures); err != nil || v.Figures == nil {
		v.Figures = map[string]any{}
	}
	var evs []json.RawMessage
	_ = json.Unmarshal(fields["evidence"], &evs)
	for _, e := range evs {
		var ev history.Evidence
		if err := json.Unmarshal(e, &ev); err != nil {
			// Keep what can be said: the sentence.
			var loose struct {
				What string `json:"what"`
			}
			_ = json.Unmarshal(e, &loose)
			ev = history.Evidence{What: loose.What}
		}
		v.Evidence = append(v.Evidence, ev)
	}
	return v, nil
}
