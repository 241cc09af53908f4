package reports

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// TrendOptions tune what counts as a regression.
type TrendOptions struct {
	// Margin: the newest night's unavailability p50 regressed when it is
	// worse than the previous night's by more than this fraction (default
	// 0.5) ...
	Margin float64
	// ... and by at least MinDelta seconds (default 1): a 0.2 s → 0.4 s
	// change is noise on a shared machine, not a regression.
	MinDelta float64
}

// Trend is the history of several nights' runs: per configuration
// (operator, version, replication mode) and scenario, each night's status,
// unavailability p50 and lost writes, the regressions of the newest night
// first.
type Trend struct {
	Nights      []Night
	Rows        []TrendRow
	Regressions []Regression
	Options     TrendOptions
}

// Night is one run directory of the trend, oldest first.
type Night struct {
	Label   string
	Dir     string
	Started time.Time
}

// TrendRow is one scenario of one configuration across the nights.
type TrendRow struct {
	Operator, Version, Replication, Scenario string
	// Points has one entry per night; nil where the night did not run it.
	Points []*TrendPoint
}

// Key names the row.
func (r TrendRow) Key() string {
	op := r.Operator
	if r.Version != "" {
		op += " " + r.Version
	}
	return fmt.Sprintf("%s · %s · %s", op, r.Replication, r.Scenario)
}

// TrendPoint is one night of one row.
type TrendPoint struct {
	Status history.Status
	// P50 is the median over the night's trials of the longest
	// unavailability window, in seconds (NaN when no trial decided it).
	P50    float64
	Lost   int
	Trials int
}

// Regression is what got worse on the newest night.
type Regression struct {
	Row  string
	What string
}

// BuildTrend orders runs by start (the order given does not matter) and
// builds the trend.
func BuildTrend(runs []RunResults, opts TrendOptions) *Trend {
	if opts.Margin <= 0 {
		opts.Margin = 0.5
	}
	if opts.MinDelta <= 0 {
		opts.MinDelta = 1
	}
	rs := append([]RunResults(nil), runs...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Results.Started.Before(rs[j].Results.Started) })
	t := &Trend{Options: opts}
	idx := map[string]int{}
	for n, run := range rs {
		t.Nights = append(t.Nights, Night{Label: run.Label, Dir: run.Dir, Started: run.Results.Started})
		op, ver := "", ""
		if s := run.Results.Software; s != nil {
			op, ver = s.Operator, s.OperatorVersion
		}
		groups := map[string][]Result{}
		var order []string
		for _, tr := range run.Results.Trials {
			o := op
			if o == "" {
				o = tr.Operator
			}
			row := TrendRow{Operator: o, Version: ver, Replication: tr.Replication, Scenario: tr.Scenario}
			k := row.Key()
			if _, ok := idx[k]; !ok {
				idx[k] = len(t.Rows)
				t.Rows = append(t.Rows, row)
			}
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], tr)
		}
		for _, k := range order {
			row := &t.Rows[idx[k]]
			for len(row.Points) < len(rs) {
				row.Points = append(row.Points, nil)
			}
			row.Points[n] = point(groups[k])
		}
	}
	for i := range t.Rows {
		for len(t.Rows[i].Points) < len(rs) {
			t.Rows[i].Points = append(t.Rows[i].Points, nil)
		}
	}
	t.Regressions = regressions(t)
	// Rows that regressed first, then in the order first seen.
	bad := map[string]bool{}
	for _, r := range t.Regressions {
		bad[r.Row] = true
	}
	sort.SliceStable(t.Rows, func(i, j int) bool { return bad[t.Rows[i].Key()] && !bad[t.Rows[j].Key()] })
	return t
}

func point(trials []Result) *TrendPoint {
	p := &TrendPoint{Status: history.Pass, Trials: len(trials), P50: math.NaN()}
	var unav []float64
	for _, tr := range trials {
		switch st := tr.Status(); {
		case st == history.Failed:
			p.Status = history.Failed
		case st == history.Undecided && p.Status == history.Pass:
			p.Status = history.Undecided
		}
		if v, ok := tr.figure(history.CheckUnavailability, "max_s"); ok {
			unav = append(unav, v)
		}
		if v, ok := tr.figure(history.CheckLostAckedWrites, "lost"); ok {
			p.Lost += int(v)
		}
	}
	if len(unav) > 0 {
		sort.Float64s(unav)
		p.P50 = unav[(len(unav)-1)/2]
	}
	return p
}

// regressions compares each row's newest night with its latest earlier
// night that ran it.
func regressions(t *Trend) []Regression {
	var out []Regression
	last := len(t.Nights) - 1
	if last < 1 {
		return nil
	}
	for _, r := range t.Rows {
		now := r.Points[last]
		if now == nil {
			continue
		}
		var prev *TrendPoint
		prevNight := ""
		for i := last - 1; i >= 0; i-- {
			if r.Points[i] != nil {
				prev, prevNight = r.Points[i], t.Nights[i].Label
				break
			}
		}
		if prev == nil {
			continue
		}
		if prev.Status == history.Pass && now.Status == history.Failed {
			out = append(out, Regression{Row: r.Key(), What: fmt.Sprintf("passed on %s, fails now", prevNight)})
		}
		if !math.IsNaN(prev.P50) && !math.IsNaN(now.P50) && now.P50 > prev.P50*(1+t.Options.Margin) && now.P50-prev.P50 >= t.Options.MinDelta {
			out = append(out, Regression{Row: r.Key(), What: fmt.Sprintf("unavailability p50 %.1fs on %s, %.1fs now (more than %.0f%% and %.1fs worse)",
				prev.P50, prevNight, now.P50, t.Options.Margin*100, t.Options.MinDelta)})
		}
		if prev.Lost == 0 && now.Lost > 0 && prev.Status != history.Failed && now.Status != history.Failed {
			out = append(out, Regression{Row: r.Key(), What: fmt.Sprintf("%d acknowledged writes lost now, none on %s", now.Lost, prevNight)})
		}
	}
	return out
}

// Text writes the trend as plain lines: regressions first, then one line
// per row with each night's status and p50.
func (t *Trend) Text(w io.Writer) error {
	var b strings.Builder
	if len(t.Regressions) == 0 {
		fmt.Fprintf(&b, "no regression on the newest night (%s)\n", t.newest())
	} else {
		fmt.Fprintf(&b, "%d regression(s) on the newest night (%s):\n", len(t.Regressions), t.newest())
		for _, r := range t.Regressions {
			fmt.Fprintf(&b, "  REGRESSION %s: %s\n", r.Row, r.What)
		}
	}
	for _, r := range t.Rows {
		fmt.Fprintf(&b, "%s:", r.Key())
		for _, p := range r.Points {
			b.WriteString(" " + pointText(p))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (t *Trend) newest() string {
	if len(t.Nights) == 0 {
		return "none"
	}
	return t.Nights[len(t.Nights)-1].Label
}

func pointText(p *TrendPoint) string {
	if p == nil {
		return "—"
	}
	s := string(p.Status)
	if !math.IsNaN(p.P50) {
		s += fmt.Sprintf("/%.1fs", p.P50)
	}
	if p.Lost > 0 {
		s += fmt.Sprintf("/%dlost", p.Lost)
	}
	return s
}

// sparkline draws a row's p50 over the nights as a small SVG polyline.
func sparkline(r TrendRow) template.HTML {
	const w, h = 160.0, 28.0
	var vals []float64
	mx := 0.0
	for _, p := range r.Points {
		if p != nil && !math.IsNaN(p.P50) {
			mx = math.Max(mx, p.P50)
		}
	}
	if mx == 0 {
		mx = 1
	}
	var pts, dots []string
	n := len(r.Points)
	for i, p := range r.Points {
		if p == nil || math.IsNaN(p.P50) {
			continue
		}
		x := 4 + (w-8)*float64(i)/math.Max(1, float64(n-1))
		y := h - 4 - (h-8)*p.P50/mx
		vals = append(vals, p.P50)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
		color := "#1a7f37"
		if p.Status == history.Failed {
			color = "#cf222e"
		} else if p.Status == history.Undecided {
			color = "#9a6700"
		}
		dots = append(dots, fmt.Sprintf(`<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`, x, y, color))
	}
	if len(vals) == 0 {
		return template.HTML(`<span class="muted">no figure</span>`)
	}
	return template.HTML(fmt.Sprintf(`<svg width="%.0f" height="%.0f" role="img" aria-label="unavailability p50 per night"><polyline fill="none" stroke="#555" stroke-width="1.2" points="%s"/>%s</svg>`,
		w, h, strings.Join(pts, " "), strings.Join(dots, "")))
}

var trendPage = template.Must(template.New("trend").Funcs(template.FuncMap{
	"spark": sparkline,
	"cell": func(p *TrendPoint) template.HTML {
		if p == nil {
			return template.HTML(`<td class="muted">—</td>`)
		}
		return template.HTML(fmt.Sprintf(`<td class="%s">%s</td>`, strings.ToLower(string(p.Status)), template.HTMLEscapeString(pointText(p))))
	},
	"date":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
	"mul100": func(x float64) float64 { return x * 100 },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pgchaos trend</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:80em;color:#222}
table{border-collapse:collapse} td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}
th{background:#f3f3f3} .pass{background:#e6f4ea} .fail{background:#fde7e9} .unknown{background:#fff4d6}
.muted{color:#888} .reg{color:#cf222e;font-weight:600}
</style></head><body>
<h1>pgchaos trend over {{len .Nights}} nights</h1>
{{if .Regressions}}<h2 class="reg">{{len .Regressions}} regression(s) on the newest night</h2><ul>
{{range .Regressions}}<li class="reg">{{.Row}}: {{.What}}</li>{{end}}</ul>
{{else}}<p>No regression on the newest night.</p>{{end}}
<p>A cell is the night's status / unavailability p50 (median over its trials of the longest window) / lost acknowledged writes.
Regression: passed before and fails now; p50 worse by more than {{printf "%.0f" (mul100 .Options.Margin)}}% and {{.Options.MinDelta}} s; writes lost where none were.</p>
<table><tr><th>operator · replication · scenario</th>{{range .Nights}}<th>{{.Label}}<br><span class="muted">{{date .Started}}</span></th>{{end}}<th>p50 per night</th></tr>
{{range .Rows}}<tr><td>{{.Key}}</td>{{range .Points}}{{cell .}}{{end}}<td>{{spark .}}</td></tr>
{{end}}</table></body></html>
`))

// HTML writes the trend as one self-contained page.
func (t *Trend) HTML(w io.Writer) error {
	if err := trendPage.Execute(w, t); err != nil {
		return fmt.Errorf("rendering the trend: %w", err)
	}
	return nil
}
