package reports

import (
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// Chart geometry, in SVG user units (pixels at 100 %).
const (
	chartW      = 1240.0
	chartLeft   = 150.0
	chartRight  = 24.0
	stripH      = 18.0
	throughputH = 140.0
	failH       = 64.0
	latencyH    = 110.0
	laneH       = 20.0
	laneGap     = 4.0
	panelGap    = 14.0
	axisH       = 34.0
	charW       = 6.1 // width of one character at font-size 11, roughly
	boldW       = 7.0 // the same, bold
)

// Colours: each is paired with a pattern, a dash or a text label so the
// chart also reads in black and white.
const (
	colOK       = "#2b6cb0"
	colFail     = "#c53030"
	colUnknown  = "#d69e2e"
	colLost     = "#822727"
	colP50      = "#1a202c"
	colP99      = "#6b46c1"
	colPrimary  = "#1a365d"
	colReplica  = "#bee3f8"
	colDown     = "#a0aec0"
	colFault    = "#ecc94b"
	colFaultRim = "#975a16"
	colGrid     = "#e2e8f0"
	colAxis     = "#4a5568"
)

// chartData is what a timeline chart draws, gathered from a trial.
type chartData struct {
	span      time.Duration
	width     time.Duration
	bins      []Bin
	spans     []RoleSpan
	instances []string
	faults    []history.FaultWindow
	events    []history.Event
	windows   []history.Window
	lostSpan  [2]float64 // seconds; zero when no lost write
	lost      int
}

// gather prepares the chart of one trial.
func gather(t *Trial) chartData {
	h := t.History
	tl := t.Timeline
	if tl == nil {
		tl = NewTimeline(h, lostFailed(t))
	}
	d := chartData{span: tl.Span, width: tl.Width, bins: tl.Bins, lost: tl.Lost, faults: h.Faults, events: h.Events}
	if v, ok := t.Verdict(history.CheckLostAckedWrites); ok && v.Status == history.Failed {
		if a, ok := num(v.Figures, "first_lost_s"); ok {
			b, _ := num(v.Figures, "last_lost_s")
			d.lostSpan = [2]float64{a, b}
		}
	}
	if d.lostSpan == [2]float64{} && d.lost > 0 {
		// No figures: the bins that hold lost writes bound them.
		first, last := -1, -1
		for i, b := range d.bins {
			if b.Lost > 0 {
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		d.lostSpan = [2]float64{d.bins[first].Start.Seconds(), (d.bins[last].Start + d.width).Seconds()}
	}
	d.spans = RoleSpans(h.Observations, d.span)
	for i, in := range h.Instances {
		name := in.Name
		if name == "" {
			name = fmt.Sprintf("instance %d", i)
		}
		d.instances = append(d.instances, name)
	}
	for _, s := range d.spans {
		for s.Instance >= len(d.instances) {
			d.instances = append(d.instances, fmt.Sprintf("instance %d", len(d.instances)))
		}
	}
	if v, ok := t.Verdict(history.CheckUnavailability); ok {
		d.windows = Windows(v)
	}
	return d
}

// lostFailed tells whether lost writes are to be marked: only when the
// trial's lost-acked-writes verdict failed (the report never judges by
// itself).
func lostFailed(t *Trial) bool {
	v, ok := t.Verdict(history.CheckLostAckedWrites)
	return ok && v.Status == history.Failed
}

// Windows decodes the "windows" figure of an unavailability verdict (as
// read back from JSON); nil when it has none or it cannot be read.
func Windows(v history.Verdict) []history.Window {
	raw, ok := v.Figures["windows"]
	if !ok {
		return nil
	}
	if ws, ok := raw.([]history.Window); ok {
		return ws
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil
	}
	var ws []history.Window
	if json.Unmarshal(b, &ws) != nil {
		return nil
	}
	return ws
}

// svgWriter accumulates SVG markup.
type svgWriter struct{ strings.Builder }

func (w *svgWriter) f(format string, args ...any) { fmt.Fprintf(&w.Builder, format, args...) }

// esc escapes text for SVG content and attribute values.
func esc(s string) string { return html.EscapeString(s) }

func px(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", v), "0"), ".")
}

// text writes a text element; anchor is start, middle or end.
func (w *svgWriter) text(x, y float64, anchor, class, s string) {
	w.f(`<text x="%s" y="%s" text-anchor="%s" class="%s">%s</text>`, px(x), px(y), anchor, class, esc(s))
}

// placeLabels puts labels [x, x+width) into the fewest rows where none
// overlaps; it returns the row of each and the number of rows.
func placeLabels(xs, widths []float64) ([]int, int) {
	var ends []float64
	rows := make([]int, len(xs))
	for i := range xs {
		r := 0
		for r < len(ends) && ends[r] > xs[i] {
			r++
		}
		if r == len(ends) {
			ends = append(ends, 0)
		}
		ends[r] = xs[i] + widths[i] + 6
		rows[i] = r
	}
	return rows, len(ends)
}

// Chart draws the timeline chart of a trial as inline SVG. id prefixes the
// chart's pattern ids (unique per document).
func Chart(t *Trial, id string) template.HTML {
	d := gather(t)
	return template.HTML(d.svg(id, t.Name))
}

func (d chartData) svg(id, name string) string {
	spanS := d.span.Seconds()
	x := linear{0, spanS, chartLeft, chartW - chartRight}
	plotR := chartW - chartRight
	clampX := func(s float64) float64 { return math.Min(math.Max(x.At(s), chartLeft), plotR) }

	// Labels of the top strips: faults (and events), unavailability.
	type label struct {
		x0, x1 float64
		text   string
		title  string
		kind   string
	}
	var faultLabels []label
	for _, f := range d.faults {
		end := f.Recovered
		txt := f.Name
		if f.Target != "" {
			txt += " (" + f.Target + ")"
		}
		title := fmt.Sprintf("fault %s injected at %.3f s", txt, f.Injected.Seconds())
		if end == 0 {
			end = d.span
			title += ", never recovered"
		} else {
			title += fmt.Sprintf(", recovered at %.3f s", f.Recovered.Seconds())
		}
		if f.Detail != "" {
			title += ": " + f.Detail
		}
		faultLabels = append(faultLabels, label{clampX(f.Injected.Seconds()), clampX(end.Seconds()), "⚡ " + txt, title, "fault"})
	}
	for _, e := range d.events {
		txt := e.Kind
		if e.Detail != "" {
			txt += " " + e.Detail
		}
		faultLabels = append(faultLabels, label{clampX(e.At.Seconds()), clampX(e.At.Seconds()), "◆ " + shorten(txt, eventLabelRunes),
			fmt.Sprintf("event %s at %.3f s", txt, e.At.Seconds()), "event"})
	}
	xs := make([]float64, len(faultLabels))
	ws := make([]float64, len(faultLabels))
	for i, l := range faultLabels {
		xs[i], ws[i] = l.x0, float64(len([]rune(l.text)))*charW+4
	}
	faultRows, nFaultRows := placeLabels(xs, ws)

	var unavLabels []label
	for _, w := range d.windows {
		txt := "unavailable " + secs(w.Seconds)
		if w.Open {
			txt = "unavailable " + secs(w.Seconds) + ", never came back"
		}
		title := fmt.Sprintf("no write acknowledged from %.3f s to %.3f s (%.3f s; %d failed, %d unknown)", w.StartS, w.EndS, w.Seconds, w.Failed, w.Unknown)
		if w.Fault != "" {
			title += " during fault " + w.Fault
		}
		unavLabels = append(unavLabels, label{clampX(w.StartS), clampX(w.EndS), txt, title, "unav"})
	}
	xs, ws = xs[:0], ws[:0]
	for _, l := range unavLabels {
		xs, ws = append(xs, l.x0), append(ws, math.Max(l.x1-l.x0, 0)+float64(len([]rune(l.text)))*boldW+8)
	}
	unavRows, nUnavRows := placeLabels(xs, ws)

	// Vertical layout.
	y := 8.0
	faultTop := y
	y += float64(max(nFaultRows, 1)) * stripH
	unavTop := y
	y += float64(max(nUnavRows, 1)) * stripH
	y += 6
	tpTop := y
	y += throughputH + panelGap
	failTop := y
	y += failH + panelGap
	lostTop := y
	y += stripH + panelGap
	latTop := y
	y += latencyH + panelGap
	lanesTop := y
	nLanes := len(d.instances)
	y += float64(max(nLanes, 1)) * (laneH + laneGap)
	bottom := y
	y += axisH
	height := y

	var w svgWriter
	w.f(`<svg class="timeline" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-label="%s">`,
		px(chartW), px(height), px(chartW), px(height), esc("timeline of trial "+name))
	w.f(`<defs>`)
	w.f(`<pattern id="%s-unk" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="%s"/><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern>`, id, colUnknown)
	w.f(`<pattern id="%s-unav" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><line x1="0" y1="0" x2="0" y2="8" stroke="%s" stroke-width="2" stroke-opacity="0.35"/></pattern>`, id, colFail)
	w.f(`<pattern id="%s-idle" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="%s" stroke-width="2.5"/></pattern>`, id, colReplica)
	w.f(`<pattern id="%s-down" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="%s"/><path d="M0,0 L6,6 M6,0 L0,6" stroke="#fff" stroke-width="1"/></pattern>`, id, colDown)
	w.f(`</defs>`)

	// Background shading across every panel: faults, then unavailability.
	for _, l := range faultLabels {
		if l.kind != "fault" {
			continue
		}
		w.f(`<rect class="fault-window" x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="0.22"><title>%s</title></rect>`,
			px(l.x0), px(tpTop), px(math.Max(l.x1-l.x0, 1)), px(bottom-tpTop), colFault, esc(l.title))
		for _, xx := range []float64{l.x0, l.x1} {
			w.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-dasharray="4 3"/>`, px(xx), px(faultTop), px(xx), px(bottom), colFaultRim)
		}
	}
	for _, l := range unavLabels {
		w.f(`<rect class="unavailable-window" x="%s" y="%s" width="%s" height="%s" fill="url(#%s-unav)"><title>%s</title></rect>`,
			px(l.x0), px(tpTop), px(math.Max(l.x1-l.x0, 2)), px(latTop+latencyH-tpTop), id, esc(l.title))
	}
	for _, l := range faultLabels {
		if l.kind == "event" {
			w.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-dasharray="1 3"/>`, px(l.x0), px(faultTop), px(l.x0), px(bottom), colAxis)
		}
	}

	// Strip labels on the left.
	w.text(chartLeft-8, faultTop+13, "end", "lab", "faults, events")
	w.text(chartLeft-8, unavTop+13, "end", "lab", "unavailable")
	for i, l := range faultLabels {
		ly := faultTop + float64(faultRows[i])*stripH
		w.f(`<g class="%s-label"><title>%s</title>`, l.kind, esc(l.title))
		if l.kind == "fault" {
			w.f(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="0.55"/>`, px(l.x0), px(ly+2), px(math.Max(l.x1-l.x0, 1)), px(stripH-4), colFault)
		}
		w.text(l.x0+2, ly+13, "start", "lab", l.text)
		w.f(`</g>`)
	}
	if len(d.windows) == 0 {
		w.text(chartLeft+4, unavTop+13, "start", "lab muted", "no window of unavailability")
	}
	for i, l := range unavLabels {
		ly := unavTop + float64(unavRows[i])*stripH
		w.f(`<g class="unav-label"><title>%s</title>`, esc(l.title))
		w.f(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`, px(l.x0), px(ly+3), px(math.Max(l.x1-l.x0, 2)), px(stripH-6), colFail)
		w.text(l.x0+math.Max(l.x1-l.x0, 2)+3, ly+13, "start", "lab bad", l.text)
		w.f(`</g>`)
	}

	// Throughput: acknowledged writes per second, as a step area.
	binS := d.width.Seconds()
	maxRate := 0.0
	maxBad := 0
	for _, b := range d.bins {
		maxRate = math.Max(maxRate, float64(b.OK)/binS)
		maxBad = max(maxBad, b.Failed+b.Unknown)
	}
	yTop := NiceMax(maxRate)
	ty := linear{0, yTop, tpTop + throughputH, tpTop}
	d.yAxis(&w, ty, NiceTicks(0, yTop, 4), tpTop, throughputH, "acked writes/s", func(v float64) string { return fmtCount(int64(v)) })
	var path strings.Builder
	fmt.Fprintf(&path, "M%s,%s", px(x.At(0)), px(ty.At(0)))
	for _, b := range d.bins {
		r := float64(b.OK) / binS
		x0, x1 := clampX(b.Start.Seconds()), clampX((b.Start + d.width).Seconds())
		fmt.Fprintf(&path, " L%s,%s L%s,%s", px(x0), px(ty.At(r)), px(x1), px(ty.At(r)))
	}
	fmt.Fprintf(&path, " L%s,%s Z", px(clampX(spanS)), px(ty.At(0)))
	w.f(`<path class="acked" d="%s" fill="%s" fill-opacity="0.35" stroke="%s" stroke-width="1.2"><title>acknowledged writes per second (bins of %s)</title></path>`,
		path.String(), colOK, colOK, d.width)

	// Failed and unknown writes per bin, stacked.
	fy := linear{0, NiceMax(float64(maxBad)), failTop + failH, failTop}
	d.yAxis(&w, fy, integers(NiceTicks(0, NiceMax(float64(maxBad)), 2)), failTop, failH, "failed ▮ / unknown ▨ per bin", func(v float64) string { return fmtCount(int64(v)) })
	if maxBad == 0 {
		w.text(chartLeft+4, failTop+failH/2+4, "start", "lab muted", "no failed or unknown write")
	}
	for _, b := range d.bins {
		if b.Failed+b.Unknown == 0 {
			continue
		}
		x0, x1 := clampX(b.Start.Seconds()), clampX((b.Start + d.width).Seconds())
		bw := math.Max(x1-x0-0.5, 1)
		title := fmt.Sprintf("%.2f–%.2f s: %d failed, %d unknown", b.Start.Seconds(), (b.Start + d.width).Seconds(), b.Failed, b.Unknown)
		w.f(`<g><title>%s</title>`, esc(title))
		if b.Failed > 0 {
			w.f(`<rect class="failed" x="%s" y="%s" width="%s" height="%s" fill="%s"/>`, px(x0), px(fy.At(float64(b.Failed))), px(bw), px(fy.At(0)-fy.At(float64(b.Failed))), colFail)
		}
		if b.Unknown > 0 {
			top := fy.At(float64(b.Failed + b.Unknown))
			w.f(`<rect class="unknown" x="%s" y="%s" width="%s" height="%s" fill="url(#%s-unk)" stroke="%s" stroke-width="0.5"/>`, px(x0), px(top), px(bw), px(fy.At(float64(b.Failed))-top), id, colUnknown)
		}
		w.f(`</g>`)
	}

	// Lost writes: a strip with a mark per bin that holds any.
	w.text(chartLeft-8, lostTop+13, "end", "lab", "lost writes")
	w.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, px(chartLeft), px(lostTop+stripH), px(plotR), px(lostTop+stripH), colGrid)
	if d.lost == 0 {
		w.text(chartLeft+4, lostTop+13, "start", "lab muted", "none marked (only when the lost-acked-writes check failed)")
	} else {
		for _, b := range d.bins {
			if b.Lost == 0 {
				continue
			}
			x0, x1 := clampX(b.Start.Seconds()), clampX((b.Start + d.width).Seconds())
			w.f(`<rect class="lost" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`, px(x0), px(lostTop+2), px(math.Max(x1-x0-0.5, 1.5)), px(stripH-4), colLost,
				esc(fmt.Sprintf("%d acknowledged writes of %.2f–%.2f s lost", b.Lost, b.Start.Seconds(), (b.Start+d.width).Seconds())))
		}
		txt := fmt.Sprintf("✖ %s lost acknowledged writes, acknowledged %.2f–%.2f s", fmtCount(int64(d.lost)), d.lostSpan[0], d.lostSpan[1])
		tw := float64(len([]rune(txt))) * boldW
		switch x0, x1 := clampX(d.lostSpan[0]), clampX(d.lostSpan[1]); {
		case x1+6+tw <= plotR: // right of the marks
			w.text(x1+6, lostTop+13, "start", "lab bad", txt)
		case x0-6-tw >= chartLeft: // left of them
			w.text(x0-6, lostTop+13, "end", "lab bad", txt)
		default: // on them, on a plate
			lx := math.Max(chartLeft+2, math.Min(x0+4, plotR-tw-4))
			w.f(`<rect x="%s" y="%s" width="%s" height="14" fill="#fff" fill-opacity="0.92" stroke="%s" stroke-width="0.5"/>`, px(lx-2), px(lostTop+2), px(tw+4), colLost)
			w.text(lx, lostTop+13, "start", "lab bad", txt)
		}
	}

	// Commit latency, log scale.
	lo, hi := math.Inf(1), 0.0
	for _, b := range d.bins {
		if b.OK == 0 {
			continue
		}
		lo = math.Min(lo, b.P50.Seconds())
		hi = math.Max(hi, b.P99.Seconds())
	}
	if hi == 0 {
		lo, hi = 1e-3, 1e-2
	}
	d0, d1 := LogDomain(lo, hi)
	ly := logScale{d0, d1, latTop + latencyH, latTop}
	d.yAxisLog(&w, ly, LogTicks(d0, d1), latTop, latencyH, "commit latency")
	var ends [][3]float64
	var names []string
	for _, s := range []struct {
		name, col, dash string
		get             func(Bin) time.Duration
	}{
		{"p50", colP50, "", func(b Bin) time.Duration { return b.P50 }},
		{"p99", colP99, ` stroke-dasharray="5 3"`, func(b Bin) time.Duration { return b.P99 }},
	} {
		var p strings.Builder
		pen := false
		lastX, lastY := 0.0, 0.0
		for _, b := range d.bins {
			if b.OK == 0 {
				pen = false
				continue
			}
			cx := clampX((b.Start + d.width/2).Seconds())
			cy := ly.At(math.Max(s.get(b).Seconds(), d0))
			if pen {
				fmt.Fprintf(&p, " L%s,%s", px(cx), px(cy))
			} else {
				fmt.Fprintf(&p, " M%s,%s l0,0", px(cx), px(cy)) // a lone point shows as a dot
				pen = true
			}
			lastX, lastY = cx, cy
		}
		if p.Len() == 0 {
			continue
		}
		w.f(`<path class="latency-%s" d="%s" fill="none" stroke="%s" stroke-width="1.5" stroke-linecap="round"%s><title>commit latency %s per bin</title></path>`,
			s.name, strings.TrimSpace(p.String()), s.col, s.dash, s.name)
		ends = append(ends, [3]float64{lastX, lastY, float64(len(ends))})
		names = append(names, s.name)
	}
	// Name each line at its end; p99 above p50 when they would touch.
	if len(ends) == 2 && ends[0][1]-ends[1][1] < 11 {
		mid := (ends[0][1] + ends[1][1]) / 2
		ends[0][1], ends[1][1] = mid+5.5, mid-5.5
	}
	for i, e := range ends {
		w.text(math.Min(e[0]+4, plotR-18), e[1]+4, "start", "lab", names[i])
	}

	// Roles of every instance.
	if nLanes == 0 {
		w.text(chartLeft+4, lanesTop+14, "start", "lab muted", "no monitor observations: roles unknown")
	}
	for i, name := range d.instances {
		top := lanesTop + float64(i)*(laneH+laneGap)
		w.text(chartLeft-8, top+14, "end", "lab", name)
		w.f(`<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="%s"/>`, px(chartLeft), px(top), px(plotR-chartLeft), px(laneH), colGrid)
	}
	for _, s := range d.spans {
		top := lanesTop + float64(s.Instance)*(laneH+laneGap)
		x0, x1 := clampX(s.Start.Seconds()), clampX(s.End.Seconds())
		fill, txtClass, label := colReplica, "lab", "replica"
		switch s.Role {
		case RolePrimary:
			fill, txtClass, label = colPrimary, "lab inv", "PRIMARY"
		case RoleReplicaIdle:
			fill, label = "url(#"+id+"-idle)", "replica, not streaming"
		case RoleDown:
			fill, label = "url(#"+id+"-down)", "DOWN"
		}
		if s.Timeline != 0 {
			label += fmt.Sprintf(" · tl %d", s.Timeline)
		}
		title := fmt.Sprintf("%s: %s from %.3f s to %.3f s", d.instances[s.Instance], s.Role, s.Start.Seconds(), s.End.Seconds())
		if s.Timeline != 0 {
			title += fmt.Sprintf(" on timeline %d", s.Timeline)
		}
		w.f(`<g class="role role-%s"><title>%s</title>`, strings.ReplaceAll(strings.Fields(s.Role.String())[0], ",", ""), esc(title))
		w.f(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="#fff" stroke-width="0.5"/>`, px(x0), px(top), px(math.Max(x1-x0, 0.8)), px(laneH), fill)
		if x1-x0 > float64(len([]rune(label)))*charW+8 {
			if s.Role == RoleDown || s.Role == RoleReplicaIdle {
				// Text on a patterned ground gets a plate to stay legible.
				tw := float64(len([]rune(label)))*charW + 4
				w.f(`<rect x="%s" y="%s" width="%s" height="12" fill="#fff" fill-opacity="0.9"/>`, px(x0+2), px(top+4), px(tw))
			}
			w.text(x0+4, top+14, "start", txtClass, label)
		}
		w.f(`</g>`)
	}

	// Time axis.
	w.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, px(chartLeft), px(bottom), px(plotR), px(bottom), colAxis)
	for _, tk := range NiceTicks(0, spanS, 12) {
		xx := x.At(tk)
		w.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, px(xx), px(bottom), px(xx), px(bottom+5), colAxis)
		w.text(xx, bottom+17, "middle", "lab", fmtSeconds(tk))
	}
	w.text(plotR, bottom+31, "end", "lab muted", fmt.Sprintf("seconds since the trial started · bins of %s", d.width))
	w.f(`</svg>`)
	return w.String()
}

// yAxis draws grid lines and labels of a linear panel.
func (d chartData) yAxis(w *svgWriter, s linear, ticks []float64, top, h float64, title string, f func(float64) string) {
	plotR := chartW - chartRight
	for _, tk := range ticks {
		yy := s.At(tk)
		w.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, px(chartLeft), px(yy), px(plotR), px(yy), colGrid)
		w.text(chartLeft-4, yy+4, "end", "tick", f(tk))
	}
	w.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, px(chartLeft), px(top+h), px(plotR), px(top+h), colAxis)
	w.text(chartLeft+4, top+11, "start", "lab title", title)
}

// yAxisLog draws grid lines and labels of the latency panel.
func (d chartData) yAxisLog(w *svgWriter, s logScale, ticks []float64, top, h float64, title string) {
	plotR := chartW - chartRight
	for _, tk := range ticks {
		yy := s.At(tk)
		w.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, px(chartLeft), px(yy), px(plotR), px(yy), colGrid)
		w.text(chartLeft-4, yy+4, "end", "tick", fmtLatency(tk))
	}
	w.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, px(chartLeft), px(top+h), px(plotR), px(top+h), colAxis)
	w.text(chartLeft+4, top+11, "start", "lab title", title+" (log scale): p50 solid, p99 dashed")
}

// integers keeps the whole ticks of a count axis.
func integers(ticks []float64) []float64 {
	out := ticks[:0:0]
	for _, t := range ticks {
		if t == math.Trunc(t) {
			out = append(out, t)
		}
	}
	return out
}

// eventLabelRunes bounds an event's label on the chart (a fault's effect can
// be a sentence); the whole text is its hover title and in the events table.
const eventLabelRunes = 48
