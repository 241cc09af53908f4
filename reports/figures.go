package reports

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pgchaos/pgchaos/history"
)

// checkOrder is the order of the scorecard's columns: the checks of
// DESIGN.md, then any other check in the order met.
var checkOrder = []string{
	history.CheckLostAckedWrites,
	history.CheckUnavailability,
	history.CheckSplitBrain,
	history.CheckWALContinuity,
	history.CheckReplicationRecovery,
	history.CheckPhantomWrites,
}

// Checks returns the names of the checks of a run, in column order: the
// known checks any trial has, then unknown ones in the order met.
func Checks(run Run) []string {
	seen := map[string]bool{}
	for _, t := range run.Trials {
		for _, v := range t.Verdicts {
			seen[v.Name] = true
		}
	}
	var out []string
	for _, n := range checkOrder {
		if seen[n] {
			out = append(out, n)
		}
	}
	for _, t := range run.Trials {
		for _, v := range t.Verdicts {
			if !slices.Contains(out, v.Name) {
				out = append(out, v.Name)
			}
		}
	}
	return out
}

// num reads a number figure (float64 once read back from JSON, an int or a
// float when fresh from a checker).
func num(f map[string]any, k string) (float64, bool) {
	switch v := f[k].(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	case uint32:
		return float64(v), true
	}
	return 0, false
}

func flag(f map[string]any, k string) bool {
	b, _ := f[k].(bool)
	return b
}

// secs formats seconds for a scorecard: "1.64 s", "0.003 s", "12 s".
func secs(s float64) string {
	switch {
	case s == 0:
		return "0 s"
	case s < 0.1:
		return fmt.Sprintf("%.3f s", s)
	case s < 10:
		return fmt.Sprintf("%.2f s", s)
	default:
		return fmt.Sprintf("%.0f s", s)
	}
}

// bytesText formats a byte count: "183 KiB".
func bytesText(b float64) string {
	switch {
	case b < 1024:
		return fmt.Sprintf("%.0f B", b)
	case b < 1<<20:
		return fmt.Sprintf("%.0f KiB", b/1024)
	case b < 1<<30:
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	default:
		return fmt.Sprintf("%.1f GiB", b/(1<<30))
	}
}

// KeyFigure returns the few words a scorecard cell shows for a verdict: its
// key figure ("1,460 lost of 18,493", "max 3.41 s unavailable"), or for an
// unknown verdict its reason, shortened.
func KeyFigure(v history.Verdict) string {
	f := v.Figures
	if v.Status == history.Undecided {
		r := v.Reason
		if r == "" {
			r = v.Summary
		}
		return shorten(r, 60)
	}
	switch v.Name {
	case history.CheckLostAckedWrites:
		lost, _ := num(f, "lost")
		acked, ok := num(f, "acked")
		s := fmtCount(int64(lost)) + " lost"
		if ok {
			s += " of " + fmtCount(int64(acked)) + " acked"
		}
		if wb, ok := num(f, "wal_bytes"); ok && lost > 0 {
			s += ", " + bytesText(wb) + " of WAL"
		}
		return s
	case history.CheckUnavailability:
		n, _ := num(f, "count")
		if n == 0 {
			return "no window"
		}
		mx, _ := num(f, "max_s")
		s := fmt.Sprintf("max %s unavailable", secs(mx))
		if n > 1 {
			s += fmt.Sprintf(" (%d windows)", int(n))
		}
		for _, w := range Windows(v) {
			if w.Open {
				return s + "; writes never came back"
			}
		}
		if b, ok := num(f, "budget_s"); ok && mx > b {
			s += fmt.Sprintf(" > budget %s", secs(b))
		}
		return s
	case history.CheckSplitBrain:
		cs, ss := flag(f, "client_side"), flag(f, "server_side")
		switch {
		case cs && ss:
			o, _ := num(f, "server_side_overlap_s")
			return fmt.Sprintf("two primaries (clients and monitor), %s overlap", secs(o))
		case cs:
			return "two primaries acknowledged writes (clients)"
		case ss:
			o, _ := num(f, "server_side_overlap_s")
			return fmt.Sprintf("monitor saw two primaries for %s", secs(o))
		}
		return "one primary at a time"
	case history.CheckWALContinuity:
		if v.Status == history.Failed {
			return shorten(v.Summary, 60)
		}
		nw, _ := num(f, "newest")
		forks := 0
		if l, ok := f["forks"].([]any); ok {
			forks = len(l)
		}
		return fmt.Sprintf("timeline %d, %d fork%s", int(nw), forks, plural(forks))
	case history.CheckReplicationRecovery:
		mx, _ := num(f, "max_s")
		if v.Status == history.Failed {
			if !flag(f, "end_streaming") {
				return "replicas not streaming at the end"
			}
			return fmt.Sprintf("slowest recovery %s", secs(mx))
		}
		if mx == 0 {
			return "streaming throughout"
		}
		return fmt.Sprintf("streaming again within %s", secs(mx))
	case history.CheckPhantomWrites:
		var parts []string
		for _, k := range []struct{ key, word string }{{"phantoms", "phantom"}, {"duplicates", "duplicate"}, {"failed_but_present", "failed but present"}} {
			if n, _ := num(f, k.key); n > 0 || v.Status == history.Pass && k.key == "phantoms" {
				w := k.word
				if k.key != "failed_but_present" {
					w += plural(int(n))
				}
				parts = append(parts, fmt.Sprintf("%s %s", fmtCount(int64(n)), w))
			}
		}
		if len(parts) == 0 {
			return shorten(v.Summary, 60)
		}
		return strings.Join(parts, ", ")
	}
	return shorten(v.Summary, 60)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// shorten cuts s to at most n runes at a word boundary, with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:") + "…"
}

// statusWord is the status of a verdict as a scorecard writes it.
func statusWord(st history.Status) string {
	switch st {
	case history.Pass:
		return "PASS"
	case history.Failed:
		return "FAIL"
	case history.Undecided:
		return "UNKNOWN"
	}
	if st == "" {
		return "NO STATUS"
	}
	return strings.ToUpper(string(st))
}

// statusMark is a glyph that tells the status apart without colour.
func statusMark(st history.Status) string {
	switch st {
	case history.Pass:
		return "✓"
	case history.Failed:
		return "✗"
	default:
		return "?"
	}
}

// statusClass is the CSS class of a status.
func statusClass(st history.Status) string {
	switch st {
	case history.Pass:
		return "pass"
	case history.Failed:
		return "fail"
	default:
		return "unknown"
	}
}

// figureRows flattens a verdict's figures into sorted name/value pairs for
// people (windows, events and forks have tables of their own).
func figureRows(f map[string]any) [][2]string {
	keys := make([]string, 0, len(f))
	for k := range f {
		switch k {
		case "windows", "events", "forks":
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][2]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, [2]string{k, figureText(f[k])})
	}
	return out
}

func figureText(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case float64:
		if x == float64(int64(x)) && (x >= 1e4 || x <= -1e4) {
			return fmtCount(int64(x))
		}
		return fmt.Sprint(x)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+figureText(x[k]))
		}
		if len(parts) == 0 {
			return "—"
		}
		return strings.Join(parts, ", ")
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, figureText(e))
		}
		return "[" + strings.Join(parts, "; ") + "]"
	}
	return fmt.Sprint(v)
}
