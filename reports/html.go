package reports

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

//go:embed report.css
var reportCSS string

//go:embed report.html.tmpl
var reportTmpl string

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"secs3": func(s float64) string { return fmt.Sprintf("%.3f s", s) },
	"dur":   func(d time.Duration) string { return fmt.Sprintf("%.3f s", d.Seconds()) },
	"inc":   func(i int) int { return i + 1 },
	"num3": func(v any) string {
		if f, ok := v.(float64); ok {
			return fmt.Sprintf("%.3f", f)
		}
		return figureText(v)
	},
}).Parse(reportTmpl))

// maxEvidence is how many offending operations a verdict shows.
const maxEvidence = 10

// page is what the HTML template reads.
type page struct {
	Title  string
	Dir    string
	CSS    template.CSS
	Checks []string
	// Span is the number of verdict columns (at least one).
	Span    int
	Rows    []scoreRow
	Trials  []pageTrial
	Counts  map[string]int
	Overall cell
	// Software and Settings are the run's versions and budgets from
	// results.json (empty without one); ResultsNotes say what of it could
	// not be read.
	Software     [][2]string
	Settings     [][2]string
	ResultsNotes []string
	ResultsFile  string
	// Skipped lists the faults not run on the target, with the reason.
	Skipped []Skip
}

// cell is one scorecard cell.
type cell struct {
	Class, Word, Mark, Figure, Title string
}

func statusCell(st history.Status, figure, title string) cell {
	return cell{Class: statusClass(st), Word: statusWord(st), Mark: statusMark(st), Figure: figure, Title: title}
}

type scoreRow struct {
	ID, Name string
	Overall  cell
	// Cells has one entry per column; Missing marks a check the trial lacks.
	Cells []cell
	// NotChecked, when set, replaces the cells: why there are no verdicts.
	NotChecked string
}

type pageVerdict struct {
	Name     string
	Cell     cell
	Summary  string
	Reason   string
	Figures  [][2]string
	Evidence []history.Evidence
	More     int
}

type pageTrial struct {
	ID, Name, Dir string
	Overall       cell
	Err           string
	Checked       bool
	Notes         []string
	Chart         template.HTML
	Facts         string
	Verdicts      []pageVerdict
	Failed        []pageVerdict
	Windows       []history.Window
	Recoveries    []map[string]any
	Forks         []map[string]any
	Faults        []history.FaultWindow
	Events        []history.Event
	Final         *history.FinalState
	Authoritative string
	Meta          [][2]string
}

// Render writes the HTML report of a run: one self-contained file (inline
// CSS and SVG, no script, nothing fetched) with the scorecard, and for each
// trial its timeline chart, verdicts, evidence, faults, final state and the
// way it was run.
func Render(w io.Writer, run Run) error {
	p := page{Dir: run.Dir, CSS: template.CSS(reportCSS), Checks: Checks(run), Counts: map[string]int{}}
	p.Span = max(len(p.Checks), 1)
	p.Title = "pgchaos report: " + filepath.Base(filepath.Clean(run.Dir))
	p.ResultsNotes = run.ResultsNotes
	if r := run.Results; r != nil {
		p.ResultsFile = fmt.Sprintf("%s version %d", ResultsFile, r.Version)
		p.Skipped = r.Skipped
		p.Software = r.softwareRows()
		for _, s := range r.Settings() {
			v := s.Value
			if v == "" {
				v = fmt.Sprintf("not recorded (results.json version %d)", r.Version)
			}
			p.Settings = append(p.Settings, [2]string{s.Name, v})
		}
	}
	worst := history.Pass
	for i := range run.Trials {
		t := &run.Trials[i]
		id := fmt.Sprintf("trial-%d", i+1)
		st := t.Worst()
		p.Counts[statusClass(st)]++
		switch {
		case st == history.Failed:
			worst = st
		case st == history.Undecided && worst == history.Pass:
			worst = st
		}
		row := scoreRow{ID: id, Name: t.Name, Overall: overallCell(t)}
		switch {
		case t.Err != "":
			row.NotChecked = "unreadable: " + t.Err
		case !t.Checked:
			row.NotChecked = "not checked: no verdict.json (run pgchaos check on the trial directory)"
		default:
			for _, c := range p.Checks {
				v, ok := t.Verdict(c)
				if !ok {
					row.Cells = append(row.Cells, cell{Class: "missing", Word: "—", Figure: "not run"})
					continue
				}
				title := v.Summary
				if v.Reason != "" {
					title = v.Reason
				}
				row.Cells = append(row.Cells, statusCell(v.Status, KeyFigure(v), title))
			}
		}
		p.Rows = append(p.Rows, row)
		pt := buildTrial(t, id)
		if r, ok := run.Result(t); ok {
			pt.Meta = append(pt.Meta, resultMeta(run.Results, r)...)
		}
		p.Trials = append(p.Trials, pt)
	}
	p.Overall = statusCell(worst, "", "")
	if len(run.Trials) == 0 {
		p.Overall = statusCell(history.Undecided, "", "")
	}
	return pageTmpl.Execute(w, p)
}

func overallCell(t *Trial) cell {
	st := t.Worst()
	switch {
	case t.Err != "":
		return cell{Class: "unknown", Word: "UNREADABLE", Mark: "?"}
	case !t.Checked:
		return cell{Class: "unknown", Word: "NOT CHECKED", Mark: "?"}
	}
	return statusCell(st, "", "")
}

func buildTrial(t *Trial, id string) pageTrial {
	pt := pageTrial{ID: id, Name: t.Name, Dir: t.Dir, Overall: overallCell(t), Err: t.Err, Checked: t.Checked, Notes: t.Notes}
	if t.History == nil {
		return pt
	}
	h := t.History
	pt.Chart = Chart(t, id)
	tl := t.Timeline
	if tl == nil {
		tl = NewTimeline(h, lostFailed(t))
	}
	facts := fmt.Sprintf("%s writes over %.1f s: %s acknowledged, %s failed, %s unknown; %d instance%s observed %s times; %d fault%s",
		fmtCount(int64(tl.Writes)), h.End.Seconds(), fmtCount(int64(tl.OK)), fmtCount(int64(tl.Failed)), fmtCount(int64(tl.Unknown)),
		len(h.Instances), plural(len(h.Instances)), fmtCount(int64(len(h.Observations))), len(h.Faults), plural(len(h.Faults)))
	if h.Truncated {
		facts += "; the ledger is truncated (the harness stopped abruptly): it is a prefix"
	}
	pt.Facts = facts
	for _, v := range t.Verdicts {
		pv := pageVerdict{Name: v.Name, Cell: statusCell(v.Status, KeyFigure(v), ""), Summary: v.Summary, Reason: v.Reason, Figures: figureRows(v.Figures)}
		ev := v.Evidence
		if len(ev) > maxEvidence {
			pv.More = len(ev) - maxEvidence
			ev = ev[:maxEvidence]
		}
		pv.Evidence = ev
		pt.Verdicts = append(pt.Verdicts, pv)
		if v.Status == history.Failed {
			pt.Failed = append(pt.Failed, pv)
		}
		switch v.Name {
		case history.CheckUnavailability:
			pt.Windows = Windows(v)
		case history.CheckReplicationRecovery:
			pt.Recoveries = maps(v.Figures["events"])
		case history.CheckWALContinuity:
			pt.Forks = maps(v.Figures["forks"])
		}
	}
	pt.Faults, pt.Events, pt.Final = h.Faults, h.Events, h.Final
	if a := h.Final.Authoritative(); a >= 0 {
		pt.Authoritative = h.Final.Instances[a].Name
	}
	m := h.Meta
	or := func(s, dflt string) string {
		if s == "" {
			return dflt
		}
		return s
	}
	pt.Meta = [][2]string{
		{"pgchaos version", or(m.PGChaos, "not recorded")},
		{"command line", or(m.Command, "not recorded")},
		{"seed", seedText(m.Seed)},
		{"target (passwords redacted)", or(m.Target, "not recorded")},
		{"started", m.Start.UTC().Format(time.RFC3339Nano)},
		{"clients", fmt.Sprint(m.Clients)},
		{"rate", rateText(m.Rate)},
		{"table, run tag", fmt.Sprintf("%s, %d", or(m.Table, "—"), m.Run)},
		{"ledger format", fmt.Sprintf("%s version %d", m.Format, m.Version)},
		{"trial directory", t.Dir},
	}
	for _, in := range h.Instances {
		pt.Meta = append(pt.Meta, [2]string{"instance " + in.Name, or(in.Target, "—")})
	}
	for i, n := range h.Nodes {
		pt.Meta = append(pt.Meta, [2]string{fmt.Sprintf("node %d", i), strings.TrimSpace(h.NodeName(history.NodeID(i)) + " sysid " + or(n.SystemID, "—"))})
	}
	return pt
}

// resultMeta is what results.json says of a trial's run: operator,
// replication, the cluster and its PostgreSQL version.
func resultMeta(rs *Results, r Result) [][2]string {
	out := [][2]string{{"operator, replication", r.Operator + ", " + r.Replication}}
	if s := rs.Software; s != nil && s.OperatorVersion != "" {
		out[0][1] = r.Operator + " " + s.OperatorVersion + ", " + r.Replication
	}
	if c, ok := rs.Cluster(r.Replication); ok {
		out = append(out, [2]string{"cluster", c.Summary()})
	}
	if s := rs.Software; s != nil && s.Kubernetes != "" {
		out = append(out, [2]string{"Kubernetes", s.Kubernetes})
	}
	if r.Expectation != "" {
		out = append(out, [2]string{"expected of this fault", r.Expectation})
	}
	if r.Placement != nil {
		out = append(out, [2]string{"placement", r.Placement.Summary()})
	}
	return out
}

func seedText(s int64) string {
	if s == 0 {
		return "not recorded"
	}
	return fmt.Sprint(s)
}

func rateText(r float64) string {
	if r == 0 {
		return "unlimited (each client writes as fast as it can)"
	}
	return fmt.Sprintf("%g writes/s", r)
}

// maps reads a figure that is a list of objects.
func maps(v any) []map[string]any {
	l, _ := v.([]any)
	var out []map[string]any
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	if out == nil {
		if ms, ok := v.([]map[string]any); ok {
			return ms
		}
	}
	return out
}
