package certify

import (
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/pgchaos/pgchaos/history"
)

var page = template.Must(template.New("certificate").Funcs(template.FuncMap{
	"short":  short,
	"files":  sortedFiles,
	"status": func(s string) string { return strings.ToLower(s) },
	"verdicts": func(cs []history.Verdict) string {
		var parts []string
		for _, c := range cs {
			parts = append(parts, c.Name+" "+string(c.Status))
		}
		return strings.Join(parts, ", ")
	},
	"num": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return fmtNum(*p)
	},
	"bound": func(r Result) string {
		if r.Verdict != "" {
			return "verdict " + r.Verdict + " in every trial"
		}
		return fmt.Sprintf("%s of %s ≤ %s", r.Stat, r.Figure, fmtNum(*r.AtMost))
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>pgchaos certificate: {{.Operator}} — {{.Status}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222}
h1{font-size:1.5em} h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;width:100%} td,th{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3} code{font-size:12px}
.badge{display:inline-block;padding:.15em .6em;border-radius:.3em;color:#fff;font-weight:600}
.pass{background:#1a7f37} .fail{background:#cf222e} .undecided{background:#9a6700}
</style></head><body>
<h1>pgchaos certificate — <span class="badge {{status .Status}}">{{.Status}}</span></h1>
{{if .Reason}}<p><b>Why not PASS:</b> {{.Reason}}</p>{{end}}
<p>Profile <b>{{.Profile.Name}}</b> version {{.Profile.Version}} ({{.Profile.File}}, SHA-256 <code>{{.Profile.SHA256}}</code>);
issued {{.Issued.Format "2006-01-02 15:04:05 UTC"}}; operator adapter <b>{{.Operator}}</b>.
Verify with <code>pgchaos certify verify DIR</code>: it re-judges every trial from its raw files and re-checks every hash.</p>
<h2>Requirements</h2>
<table><tr><th>id</th><th>requirement</th><th>check</th><th>bound</th><th>modes</th><th>value</th><th>status</th><th>evidence</th></tr>
{{range .Requirements}}<tr><td>{{.ID}}</td><td>{{.Description}}</td><td>{{.Check}}</td><td>{{bound .}}</td><td>{{if .Modes}}{{range .Modes}}{{.}} {{end}}{{else}}all{{end}}</td>
<td>{{num .Value}}</td><td><span class="badge {{status .Status}}">{{.Status}}</span>{{if .Reason}}<br>{{.Reason}}{{end}}</td>
<td>{{range .Evidence}}{{.}}<br>{{end}}</td></tr>
{{end}}</table>
{{if .Missing}}<h2>Asked for and not run</h2><table><tr><th>scenario</th><th>mode</th><th>why</th></tr>
{{range .Missing}}<tr><td>{{.Scenario}}</td><td>{{.Mode}}</td><td>{{.Reason}}</td></tr>{{end}}</table>{{end}}
<h2>Software</h2>
{{with .Software}}<table>
<tr><th>pgchaos</th><td>{{.PGChaos}}</td></tr>
<tr><th>Kubernetes</th><td>{{.Kubernetes}}</td></tr>
<tr><th>operator</th><td>{{.Operator}} {{.OperatorVersion}}</td></tr>
<tr><th>operator image</th><td>{{.OperatorImage}}</td></tr>
<tr><th>PostgreSQL image</th><td>{{.PostgresImage}}</td></tr>
{{range $k, $v := .OperatorSettings}}<tr><th>{{$k}}</th><td>{{$v}}</td></tr>{{end}}
</table>{{else}}<p>not recorded</p>{{end}}
{{if .Clusters}}<table><tr><th>mode</th><th>cluster</th><th>instances</th><th>PostgreSQL</th><th>synchronous</th></tr>
{{range .Clusters}}<tr><td>{{.Replication}}</td><td>{{.Namespace}}/{{.Name}}</td><td>{{.Instances}}</td><td>{{.PostgreSQL}}</td><td>{{.Synchronous}}</td></tr>{{end}}</table>{{end}}
{{with .Budgets}}<p>Budgets: RTO {{.RTO}}, replication {{.Replication}}; schedule warm-up {{.WarmUp}}, hold {{.Hold}}, cool-down {{.CoolDown}}; {{.Clients}} clients at {{.Rate}} writes/s.</p>{{end}}
<h2>Trials</h2>
<table><tr><th>trial</th><th>scenario</th><th>mode</th><th>seed</th><th>verdicts</th><th>raw files (SHA-256)</th></tr>
{{range .Trials}}{{$t := .}}<tr><td>{{.Dir}}</td><td>{{.Scenario}}</td><td>{{.Mode}}</td><td>{{.Seed}}</td><td>{{verdicts .Checks}}</td>
<td>{{range files .Files}}<code>{{.}} {{short (index $t.Files .)}}</code><br>{{end}}</td></tr>
{{end}}</table>
<h2>Profile</h2><pre>{{.Profile.Text}}</pre>
</body></html>
`))

// HTML writes the certificate as one self-contained page.
func (c *Certificate) HTML(w io.Writer) error {
	if err := page.Execute(w, c); err != nil {
		return fmt.Errorf("rendering the certificate: %w", err)
	}
	return nil
}
