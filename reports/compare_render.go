package reports

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

//go:embed compare.html.tmpl
var compareTmpl string

var comparePageTmpl = template.Must(template.New("compare").Parse(compareTmpl))

// comparePage is what the comparison template reads.
type comparePage struct {
	Title       string
	CSS         template.CSS
	Overall     cell
	Configs     []compareHead
	Rows        []compareRow
	Differences []string
	Mismatches  []string
	Unverified  []string
	Notes       []string
	Versions    []compareLine
	Settings    []compareLine
	Runs        []compareRun
	// Key is the lost writes and unavailability of every scenario side by
	// side: the table read first.
	Key []keyRow
	// Width is the number of columns of the table.
	Width int
}

type compareHead struct {
	Label  string
	Trials int
	// Held is the configuration's summary: did it hold every expectation.
	Held cell
}

type compareRow struct {
	Scenario string
	// Span is the rowspan of the scenario's cell on its first row (0 on
	// the others).
	Span    int
	Check   string
	Differs bool
	Cells   []compareCell
}

type compareCell struct {
	Class, Mark, Word, Figure, Title string
	// Delta says how much worse than the best configuration ("" when not,
	// or when the row does not differ).
	Delta string
	// Bar is the width of the figure's bar (nil: no bar).
	Bar *template.CSS
	// Value is the bar's figure in words.
	Value string
}

// keyRow is one scenario's headline figures: Lost and Unavailable have a
// cell per configuration (nil when the run has no such check).
type keyRow struct {
	Scenario          string
	Lost, Unavailable []compareCell
	Differs           bool
}

type compareLine struct {
	Name   string
	Values []string
	Differ bool
}

type compareRun struct {
	Label, Dir, Started string
	Version             int
}

// view builds what both the HTML and the Markdown comparison show.
func (c *Comparison) view() comparePage {
	p := comparePage{Title: "pgchaos comparison", CSS: template.CSS(reportCSS), Mismatches: c.Mismatches,
		Unverified: c.Unverified, Notes: c.Notes, Width: len(c.Configs) + 2}
	var labels []string
	for _, r := range c.Runs {
		labels = append(labels, r.Label)
		p.Runs = append(p.Runs, compareRun{Label: r.Label, Dir: r.Dir, Version: r.Results.Version,
			Started: r.Results.Started.UTC().Format(time.RFC3339)})
	}
	p.Title += ": " + strings.Join(labels, " vs ")
	worst := history.Pass
	for _, cfg := range c.Configs {
		h := compareHead{Label: cfg.Label(), Held: c.held(cfg)}
		for _, s := range c.Scenarios {
			h.Trials += len(cfg.trials[s])
		}
		switch {
		case h.Held.Class == "fail":
			worst = history.Failed
		case h.Held.Class == "unknown" && worst == history.Pass:
			worst = history.Undecided
		}
		p.Configs = append(p.Configs, h)
	}
	p.Overall = statusCell(worst, "", "")
	for _, s := range c.Scenarios {
		first := len(p.Rows)
		k := keyRow{Scenario: s}
		for _, check := range c.Checks {
			r := c.row(s, check, &p.Differences)
			p.Rows = append(p.Rows, r)
			switch check {
			case history.CheckLostAckedWrites:
				k.Lost = r.Cells
			case history.CheckUnavailability:
				k.Unavailable = r.Cells
			}
			k.Differs = k.Differs || r.Differs
		}
		p.Key = append(p.Key, k)
		if len(p.Rows) > first {
			p.Rows[first].Span = len(p.Rows) - first
		}
	}
	p.Versions, p.Settings = c.lines()
	return p
}

// held summarises a configuration: every verdict of every scenario passed,
// or how many failed or are unknown, or which scenarios it lacks.
func (c *Comparison) held(cfg Configuration) cell {
	var fail, unknown, total int
	var failed []string
	var lacks int
	for _, s := range c.Scenarios {
		if len(cfg.trials[s]) == 0 {
			lacks++
			continue
		}
		for _, check := range c.Checks {
			t, _, _ := tallyCheck(cfg.trials[s], check)
			total += t.trials
			fail += t.fail
			unknown += t.unknown + t.missing
			if t.fail > 0 {
				failed = append(failed, s+" "+check)
			}
		}
	}
	switch {
	case fail > 0:
		return cell{Class: "fail", Mark: "✗", Word: "DID NOT HOLD",
			Figure: fmt.Sprintf("%d of %d verdicts failed: %s", fail, total, listShort(failed, 3))}
	case unknown > 0 || lacks > 0:
		var parts []string
		if unknown > 0 {
			parts = append(parts, fmt.Sprintf("%d of %d verdicts unknown", unknown, total))
		}
		if lacks > 0 {
			parts = append(parts, fmt.Sprintf("%d scenario%s not run", lacks, plural(lacks)))
		}
		return cell{Class: "unknown", Mark: "?", Word: "NOT PROVEN", Figure: strings.Join(parts, "; ")}
	}
	return cell{Class: "pass", Mark: "✓", Word: "HELD EVERY EXPECTATION", Figure: fmt.Sprintf("all %d verdicts passed", total)}
}

// row builds one scenario × check row and, when the configurations'
// figures differ notably, adds a sentence to diffs.
func (c *Comparison) row(scenario, check string, diffs *[]string) compareRow {
	r := compareRow{Scenario: scenario, Check: check}
	heads := make([]float64, len(c.Configs))
	has := make([]bool, len(c.Configs))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, cfg := range c.Configs {
		trials := cfg.trials[scenario]
		if len(trials) == 0 {
			r.Cells = append(r.Cells, compareCell{Class: "missing", Word: "—", Figure: "not run"})
			continue
		}
		t, key, found := tallyCheck(trials, check)
		cl := compareCell{Class: statusClass(t.status()), Mark: statusMark(t.status()), Word: t.word()}
		if found {
			cl.Title = key.Summary
			if key.Reason != "" {
				cl.Title = key.Reason
			}
		}
		if t.missing == t.trials {
			cl = compareCell{Class: "missing", Word: "—", Figure: "not run"}
		} else if measured(check) {
			m := cfg.measure(check, scenario)
			cl.Figure = measureText(check, m)
			if len(m.Values) > 0 {
				heads[i], has[i] = headline(check, m), true
				lo, hi = min(lo, heads[i]), max(hi, heads[i])
			}
			if len(m.Values) > 1 {
				cl.Figure += fmt.Sprintf(" (%d trials)", len(m.Values))
			}
		} else if found {
			cl.Figure = KeyFigure(key)
		}
		r.Cells = append(r.Cells, cl)
	}
	if !measured(check) {
		return r
	}
	n := 0
	for _, h := range has {
		if h {
			n++
		}
	}
	r.Differs = n > 1 && differs(check, lo, hi)
	var parts []string
	for i := range r.Cells {
		if !has[i] {
			continue
		}
		cl := &r.Cells[i]
		w := 0.0
		if hi > 0 {
			w = heads[i] / hi * 100
		}
		bar := template.CSS(fmt.Sprintf("width: %.1f%%", w))
		cl.Bar = &bar
		which := " (p50)"
		if check == history.CheckLostAckedWrites {
			cl.Value, which = fmtCount(int64(heads[i]))+" lost", " (max)"
		} else {
			cl.Value = secs(heads[i])
		}
		if r.Differs && differs(check, lo, heads[i]) {
			cl.Delta = deltaText(check, heads[i]-lo)
			cl.Class += " worse"
		}
		parts = append(parts, c.Configs[i].Label()+" "+cl.Value+which)
	}
	if r.Differs {
		what := "lost acknowledged writes"
		if check == history.CheckUnavailability {
			what = "unavailability"
		}
		*diffs = append(*diffs, fmt.Sprintf("%s, %s: %s", scenario, what, strings.Join(parts, "; ")))
	}
	return r
}

// lines lists versions and settings per configuration.
func (c *Comparison) lines() (versions, settings []compareLine) {
	or := func(s string) string {
		if s == "" {
			return "not recorded"
		}
		return s
	}
	get := []struct {
		name string
		f    func(*Results, Configuration) string
	}{
		{"pgchaos", func(r *Results, _ Configuration) string { return r.Software.PGChaos }},
		{"Kubernetes", func(r *Results, _ Configuration) string { return r.Software.Kubernetes }},
		{"operator", func(r *Results, _ Configuration) string {
			return strings.TrimSpace(r.Software.Operator + " " + r.Software.OperatorVersion)
		}},
		{"operator image", func(r *Results, _ Configuration) string { return r.Software.OperatorImage }},
		{"PostgreSQL", func(_ *Results, cfg Configuration) string { return cfg.Cluster.PostgreSQL }},
		{"PostgreSQL image", func(r *Results, _ Configuration) string { return r.Software.PostgresImage }},
		{"cluster", func(_ *Results, cfg Configuration) string {
			if !cfg.HasCluster {
				return ""
			}
			return cfg.Cluster.Summary()
		}},
	}
	line := func(name string, vals []string) compareLine {
		l := compareLine{Name: name}
		seen := map[string]bool{}
		for _, v := range vals {
			if v != "" {
				seen[v] = true
			}
			l.Values = append(l.Values, or(v))
		}
		l.Differ = len(seen) > 1
		return l
	}
	for _, g := range get {
		var vals []string
		for _, cfg := range c.Configs {
			r := *c.Runs[cfg.Run].Results
			if r.Software == nil {
				r.Software = softwareFromVersions(r.Versions)
			}
			vals = append(vals, g.f(&r, cfg))
		}
		versions = append(versions, line(g.name, vals))
	}
	// The operators' own settings: the union of their names, "not
	// recorded" where one operator has no such setting.
	keys := map[string]bool{}
	for _, cfg := range c.Configs {
		if sw := c.Runs[cfg.Run].Results.Software; sw != nil {
			for k := range sw.OperatorSettings {
				keys[k] = true
			}
		}
	}
	for _, k := range sortedKeys(keys) {
		var vals []string
		for _, cfg := range c.Configs {
			v := ""
			if sw := c.Runs[cfg.Run].Results.Software; sw != nil {
				v = sw.OperatorSettings[k]
			}
			vals = append(vals, v)
		}
		versions = append(versions, line("operator setting "+k, vals))
	}
	per := make([][]Setting, len(c.Configs))
	for i, cfg := range c.Configs {
		per[i] = c.Runs[cfg.Run].Results.Settings()
	}
	if len(per) > 0 {
		for si, s := range per[0] {
			var vals []string
			for i := range c.Configs {
				vals = append(vals, per[i][si].Value)
			}
			settings = append(settings, line(s.Name, vals))
		}
	}
	return versions, settings
}

// HTML writes the comparison as one self-contained HTML file (inline CSS,
// no script, nothing fetched): a warning listing any mismatch, the
// differences at a glance, the table of scenario × verdict with one column
// per configuration, the summary of which held every expectation, and the
// versions and settings of each.
func (c *Comparison) HTML(w io.Writer) error {
	if err := comparePageTmpl.Execute(w, c.view()); err != nil {
		return fmt.Errorf("rendering the comparison: %w", err)
	}
	return nil
}

// Markdown writes the comparison for CI job summaries and pull requests:
// the same table, status word and figures per cell, differences marked.
func (c *Comparison) Markdown(w io.Writer) error {
	p := c.view()
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "## %s\n\n", mdCell(p.Title))
	if len(p.Mismatches) > 0 {
		bw.WriteString("> **Warning: these runs are not comparable as they stand** (compared anyway, --allow-mismatch):\n")
		for _, m := range p.Mismatches {
			fmt.Fprintf(bw, "> - %s\n", mdCell(m))
		}
		bw.WriteString("\n")
	}
	for _, n := range append(append([]string(nil), p.Unverified...), p.Notes...) {
		fmt.Fprintf(bw, "- Note: %s\n", mdCell(n))
	}
	if len(p.Differences) > 0 {
		bw.WriteString("\n**Where the configurations differ:**\n\n")
		for _, d := range p.Differences {
			fmt.Fprintf(bw, "- %s\n", mdCell(d))
		}
	} else {
		bw.WriteString("\nNo notable difference in lost writes or unavailability.\n")
	}
	bw.WriteString("\n| scenario | verdict |")
	for _, h := range p.Configs {
		fmt.Fprintf(bw, " %s (%d trial%s) |", mdCell(h.Label), h.Trials, plural(h.Trials))
	}
	bw.WriteString("\n|---|---|" + strings.Repeat("---|", len(p.Configs)) + "\n")
	bw.WriteString("| **every scenario** | **held every expectation?** |")
	for _, h := range p.Configs {
		bw.WriteString(" " + mdStatus(h.Held.Mark, h.Held.Word, h.Held.Figure) + " |")
	}
	bw.WriteString("\n")
	for _, r := range p.Rows {
		fmt.Fprintf(bw, "| %s | %s |", mdCell(r.Scenario), mdCell(r.Check))
		for _, cl := range r.Cells {
			s := mdStatus(cl.Mark, cl.Word, cl.Figure)
			if cl.Mark == "" {
				s = mdCell(cl.Word + " " + cl.Figure)
			}
			if cl.Delta != "" {
				s += " **▲ " + mdCell(cl.Delta) + "**"
			}
			bw.WriteString(" " + s + " |")
		}
		bw.WriteString("\n")
	}
	bw.WriteString("\n")
	for _, l := range append(append([]compareLine(nil), p.Versions...), p.Settings...) {
		fmt.Fprintf(bw, "- %s: ", mdCell(l.Name))
		for i, v := range l.Values {
			if i > 0 {
				bw.WriteString("; ")
			}
			fmt.Fprintf(bw, "%s `%s`", mdCell(p.Configs[i].Label), mdCode(v))
		}
		if l.Differ {
			bw.WriteString(" (**differs**)")
		}
		bw.WriteString("\n")
	}
	return bw.Flush()
}
