package reports

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/pgchaos/pgchaos/history"
)

// Markdown writes a summary of a run for CI job summaries and pull request
// comments: a headline, the scorecard as a table (status word and key figure
// per verdict) and one line per failed or unknown verdict.
func Markdown(w io.Writer, run Run) error {
	bw := bufio.NewWriter(w)
	checks := Checks(run)
	worst := history.Pass
	var failed, unknown int
	for i := range run.Trials {
		switch run.Trials[i].Worst() {
		case history.Failed:
			failed++
			worst = history.Failed
		case history.Undecided:
			unknown++
			if worst == history.Pass {
				worst = history.Undecided
			}
		}
	}
	n := len(run.Trials)
	fmt.Fprintf(bw, "## pgchaos: %s %s\n\n", statusMark(worst), statusWord(worst))
	fmt.Fprintf(bw, "%d trial%s in `%s`: %d passed, %d failed, %d unknown or not checked.\n\n",
		n, plural(n), mdCode(run.Dir), n-failed-unknown, failed, unknown)
	bw.WriteString("| trial | overall |")
	for _, c := range checks {
		bw.WriteString(" " + mdCell(c) + " |")
	}
	bw.WriteString("\n|---|---|")
	for range checks {
		bw.WriteString("---|")
	}
	bw.WriteString("\n")
	for i := range run.Trials {
		t := &run.Trials[i]
		oc := overallCell(t)
		fmt.Fprintf(bw, "| %s | %s |", mdCell(t.Name), mdStatus(oc.Mark, oc.Word, ""))
		switch {
		case t.Err != "":
			bw.WriteString(" unreadable: " + mdCell(shorten(t.Err, 80)) + " |")
			for range max(len(checks)-1, 0) {
				bw.WriteString(" |")
			}
		case !t.Checked:
			bw.WriteString(" not checked (no verdict.json) |")
			for range max(len(checks)-1, 0) {
				bw.WriteString(" |")
			}
		default:
			for _, c := range checks {
				v, ok := t.Verdict(c)
				if !ok {
					bw.WriteString(" — |")
					continue
				}
				bw.WriteString(" " + mdStatus(statusMark(v.Status), statusWord(v.Status), KeyFigure(v)) + " |")
			}
		}
		bw.WriteString("\n")
	}
	var notes []string
	for i := range run.Trials {
		t := &run.Trials[i]
		for _, v := range t.Verdicts {
			switch v.Status {
			case history.Failed:
				notes = append(notes, fmt.Sprintf("- ✗ **%s / %s**: %s", mdCell(t.Name), mdCell(v.Name), mdCell(v.Summary)))
			case history.Undecided:
				r := v.Reason
				if r == "" {
					r = v.Summary
				}
				notes = append(notes, fmt.Sprintf("- ? **%s / %s** (unknown): %s", mdCell(t.Name), mdCell(v.Name), mdCell(r)))
			}
		}
	}
	if len(notes) > 0 {
		bw.WriteString("\n" + strings.Join(notes, "\n") + "\n")
	}
	return bw.Flush()
}

func mdStatus(mark, word, figure string) string {
	s := mark + " **" + word + "**"
	if figure != "" {
		s += " " + mdCell(figure)
	}
	return s
}

// mdCell makes text safe inside a Markdown table cell: one line, pipes and
// markup escaped.
func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	r := strings.NewReplacer(`\`, `\\`, "|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

// mdCode makes text safe inside a code span.
func mdCode(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "`", "'")
}
