package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

const testRun = "testdata/run"

func loadTestRun(t *testing.T) Run {
	t.Helper()
	run, err := LoadRun(testRun)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestLoadRun(t *testing.T) {
	run := loadTestRun(t)
	var names []string
	for _, tr := range run.Trials {
		names = append(names, tr.Name)
	}
	// In the order they ran, not by name.
	if got := strings.Join(names, " "); got != "async-failover split-brain known-outage" {
		t.Fatalf("trials %q", got)
	}
	af, sb, ko := &run.Trials[0], &run.Trials[1], &run.Trials[2]
	if !af.Checked || len(af.Verdicts) != 6 || af.Worst() != history.Failed || len(af.Notes) != 0 {
		t.Errorf("async-failover: checked %v, %d verdicts, worst %s, notes %q", af.Checked, len(af.Verdicts), af.Worst(), af.Notes)
	}
	if v, _ := af.Verdict(history.CheckLostAckedWrites); v.Status != history.Failed || v.Figures["lost"] != 73.0 || len(v.Evidence) == 0 {
		t.Errorf("async-failover lost-acked-writes: %s, lost %v, %d evidence", v.Status, v.Figures["lost"], len(v.Evidence))
	}
	if ko.Checked || ko.Verdicts != nil || ko.Worst() != history.Undecided || ko.History == nil {
		t.Errorf("known-outage has no verdict.json: checked %v, %d verdicts", ko.Checked, len(ko.Verdicts))
	}
	if sb.Worst() != history.Failed {
		t.Errorf("split-brain: worst %s", sb.Worst())
	}

	// A single trial directory is a run of one.
	one, err := LoadRun(filepath.Join(testRun, "async-failover"))
	if err != nil || len(one.Trials) != 1 || one.Trials[0].Name != "async-failover" {
		t.Errorf("LoadRun(trial dir) = %d trials, %v", len(one.Trials), err)
	}
	// A directory without any trial, and a missing one, are errors.
	if _, err := LoadRun(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no trial") {
		t.Errorf("LoadRun(empty dir) error %v", err)
	}
	if _, err := LoadRun(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Error("LoadRun(absent dir) gave no error")
	}
}

func TestLoadRunKeepsUnreadableTrial(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, filepath.Join(testRun, "async-failover"), filepath.Join(dir, "good"))
	bad := filepath.Join(dir, "bad")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(bad, history.LedgerFile), `{"t":"header","format":"something-else","version":1}`+"\n")
	writeFile(t, filepath.Join(dir, "notes.txt"), "not a trial")
	// Repeated trials of a scenario, one level down; three levels down is
	// too deep.
	copyDir(t, filepath.Join(testRun, "known-outage"), filepath.Join(dir, "repeated", "1"))
	copyDir(t, filepath.Join(testRun, "known-outage"), filepath.Join(dir, "repeated", "2"))
	copyDir(t, filepath.Join(testRun, "known-outage"), filepath.Join(dir, "a", "b", "c"))
	run, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range run.Trials {
		names = append(names, tr.Name)
	}
	slices.Sort(names)
	if got := strings.Join(names, " "); got != "bad good repeated/1 repeated/2" {
		t.Fatalf("trials %q, want bad, good, repeated/1, repeated/2", got)
	}
	var badT *Trial
	for i := range run.Trials {
		if run.Trials[i].Name == "bad" {
			badT = &run.Trials[i]
		}
	}
	if badT == nil || badT.Err == "" || badT.Worst() != history.Undecided {
		t.Fatalf("unreadable trial not kept with its error: %+v", badT)
	}
	var buf bytes.Buffer
	if err := Render(&buf, run); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "UNREADABLE") || !strings.Contains(buf.String(), "could not be read") {
		t.Error("the report does not show the unreadable trial as such")
	}
	// A single unreadable trial directory is an error.
	if _, err := LoadRun(bad); err == nil {
		t.Error("LoadRun(unreadable trial dir) gave no error")
	}
}

func TestReadVerdictsOfANewerSchema(t *testing.T) {
	b, err := os.ReadFile("testdata/verdict-schema2.json")
	if err != nil {
		t.Fatal(err)
	}
	vs, notes, err := ReadVerdicts(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 {
		t.Fatalf("%d checks read, want 3 (two are unreadable): %+v", len(vs), vs)
	}
	lost := vs[0]
	if lost.Name != history.CheckLostAckedWrites || lost.Status != history.Failed || lost.Figures["lost"] != 3.0 {
		t.Errorf("lost-acked-writes read as %+v", lost)
	}
	// An evidence entry with a field of the wrong type keeps its sentence.
	if len(lost.Evidence) != 2 || lost.Evidence[0].What == "" || lost.Evidence[1].ID != 5 || lost.Evidence[1].ReturnS != 1.1 {
		t.Errorf("evidence read as %+v", lost.Evidence)
	}
	if vs[2].Name != "quorum-loss" || vs[2].Status != "degraded" {
		t.Errorf("unknown check read as %+v", vs[2])
	}
	joined := strings.Join(notes, "\n")
	for _, want := range []string{"schema 2", "check 4", "check 5"} {
		if !strings.Contains(joined, want) {
			t.Errorf("notes %q do not mention %q", joined, want)
		}
	}
	for _, bad := range []string{"", "[]", `{"checks": 3}`, "not json"} {
		if _, _, err := ReadVerdicts([]byte(bad)); err == nil {
			t.Errorf("ReadVerdicts(%q) gave no error", bad)
		}
	}
	// Schema 1 (no field) gives no note.
	if _, notes, err := ReadVerdicts([]byte(`{"checks":[]}`)); err != nil || len(notes) != 0 {
		t.Errorf("schema 1: notes %q, error %v", notes, err)
	}

	// Rendered: the unknown check gets a column, its status is shown as
	// written, and the notes are on the page.
	dir := t.TempDir()
	copyDir(t, filepath.Join(testRun, "async-failover"), dir)
	writeFile(t, filepath.Join(dir, history.VerdictFile), string(b))
	run, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Render(&buf, run); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{">quorum-loss</th>", "DEGRADED", "schema 2, newer than this pgchaos reads"} {
		if !strings.Contains(page, want) {
			t.Errorf("report of a schema 2 verdict lacks %q", want)
		}
	}
}

// cellRe finds the scorecard cells of a row: status word and key figure.
var cellRe = regexp.MustCompile(`<td class="(pass|fail|unknown|missing)"[^>]*><span class="word">([^<]*)</span><span class="fig">([^<]*)</span></td>`)

// scoreRow returns the scorecard row of a trial: the overall cell, then the
// cells of every check.
func scorecardRow(t *testing.T, page, trial string) string {
	t.Helper()
	i := strings.Index(page, `">`+trial+`</a></th>`)
	if i < 0 {
		t.Fatalf("no scorecard row for %s", trial)
	}
	row := page[i:]
	row = row[:strings.Index(row, "</tr>")]
	return row
}

func TestRenderTestRun(t *testing.T) {
	run := loadTestRun(t)
	var buf bytes.Buffer
	if err := Render(&buf, run); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if dir := os.Getenv("PGCHAOS_ARTIFACTS"); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "report-testdata.html"), buf.Bytes(), 0o644)
	}

	// The scorecard: a column per check, in DESIGN.md's order.
	head := page[strings.Index(page, `<table class="scorecard">`):]
	head = head[:strings.Index(head, "</thead>")]
	order := []string{"trial", "overall", "lost-acked-writes", "unavailability", "split-brain", "wal-continuity", "replication-recovery", "phantom-writes"}
	last := -1
	for _, c := range order {
		j := strings.Index(head, ">"+c+"</th>")
		if j < 0 || j < last {
			t.Errorf("scorecard header: %q missing or out of order", c)
		}
		last = j
	}

	// async-failover: lost-acked-writes fails with its figure, the rest pass.
	row := scorecardRow(t, page, "async-failover")
	if !strings.Contains(row, `class="fail"><span class="word">✗ FAIL</span>`) {
		t.Errorf("async-failover overall is not FAIL: %s", row)
	}
	cells := cellRe.FindAllStringSubmatch(row, -1)
	want := [][3]string{
		{"fail", "✗ FAIL", "73 lost of 924 acked, 183 KiB of WAL"},
		{"pass", "✓ PASS", "max 1.67 s unavailable"},
		{"pass", "✓ PASS", "one primary at a time"},
		{"pass", "✓ PASS", "timeline 2, 1 fork"},
		{"pass", "✓ PASS", "streaming again within 4.79 s"},
		{"pass", "✓ PASS", "0 phantoms"},
	}
	if len(cells) != len(want) {
		t.Fatalf("async-failover row has %d verdict cells, want %d: %s", len(cells), len(want), row)
	}
	for i, w := range want {
		if cells[i][1] != w[0] || cells[i][2] != w[1] || cells[i][3] != w[2] {
			t.Errorf("async-failover cell %s: %q %q %q, want %q", order[i+2], cells[i][1], cells[i][2], cells[i][3], w)
		}
	}
	// split-brain: four checks fail.
	sb := cellRe.FindAllStringSubmatch(scorecardRow(t, page, "split-brain"), -1)
	var fails []string
	for i, c := range sb {
		if c[1] == "fail" {
			fails = append(fails, order[i+2])
		}
	}
	if got := strings.Join(fails, " "); got != "lost-acked-writes split-brain wal-continuity replication-recovery" {
		t.Errorf("split-brain fails %q", got)
	}
	// known-outage was never checked: no invented verdict.
	ko := scorecardRow(t, page, "known-outage")
	if !strings.Contains(ko, "NOT CHECKED") || !strings.Contains(ko, "no verdict.json") || cellRe.MatchString(ko) {
		t.Errorf("known-outage row: %s", ko)
	}

	// One chart per trial, with its parts.
	if n := strings.Count(page, `<svg class="timeline"`); n != 3 {
		t.Errorf("%d timeline charts, want 3", n)
	}
	for _, want := range []string{
		`class="fault-window"`, ">⚡ kill-primary (pg0)<", ">⚡ replica-lag (pg0)<", ">⚡ stop-primary (pg0)<", // fault shading, named
		`class="unavailable-window"`, "unavailable 1.67 s", // unavailability marked
		`class="lost"`, "73 lost acknowledged writes", // lost writes marked
		`class="acked"`, `class="failed"`, `class="latency-p50"`, `class="latency-p99"`,
		"PRIMARY · tl 1", "PRIMARY · tl 2", "DOWN", // roles
		"◆ new-primary-elected pg1",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Evidence of failed verdicts, final state, meta.
	for _, want := range []string{
		"lost-acked-writes: first offending operations", "absent from pg1", "0/40A6C40",
		"split-brain: first offending operations",
		"Final state and timeline history", "1 → 0/40702E0",
		"pgchaos selftest (scenario async-failover)", "sslmode=disable",
		"Not checked: this trial has no verdict.json",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	assertSelfContained(t, page)
}

// assertSelfContained fails on anything a browser would fetch.
func assertSelfContained(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []string{"http://", "https://", "<script", "<link", "@import", "<img", "<iframe"} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("report contains %q: it must be self-contained", bad)
		}
	}
	// Every src/href/url() refers into the page itself.
	ref := regexp.MustCompile(`(?i)(?:src|href)\s*=\s*"([^"]*)"|url\(([^)]*)\)`)
	for _, m := range ref.FindAllStringSubmatch(page, -1) {
		u := m[1] + m[2]
		if !strings.HasPrefix(u, "#") {
			t.Errorf("reference %q leaves the page", u)
		}
	}
}

func TestRenderEscapes(t *testing.T) {
	dir := t.TempDir()
	trial := filepath.Join(dir, `<b>x&"y`)
	copyDir(t, filepath.Join(testRun, "async-failover"), trial)
	writeFile(t, filepath.Join(trial, history.FaultsFile), `{"t":"inject","at":1000000000,"name":"<script>alert(1)</script>","target":"a\"b"}`+"\n")
	run, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Render(&buf, run); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if strings.Contains(page, "<script>") || strings.Contains(page, "<b>x") {
		t.Error("names are not escaped")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the escaped fault name is missing")
	}
	if !strings.Contains(page, "&lt;b&gt;x&amp;&#34;y") {
		t.Error("the escaped trial name is missing")
	}
}

func TestMarkdown(t *testing.T) {
	run := loadTestRun(t)
	var buf bytes.Buffer
	if err := Markdown(&buf, run); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, want := range []string{
		"## pgchaos: ✗ FAIL",
		"3 trials in `testdata/run`: 0 passed, 2 failed, 1 unknown or not checked.",
		"| trial | overall | lost-acked-writes | unavailability | split-brain | wal-continuity | replication-recovery | phantom-writes |",
		"|---|---|---|---|---|---|---|---|",
		"| async-failover | ✗ **FAIL** | ✗ **FAIL** 73 lost of 924 acked, 183 KiB of WAL | ✓ **PASS** max 1.67 s unavailable |",
		"| known-outage | ? **NOT CHECKED** | not checked (no verdict.json) | | | | | |",
		"- ✗ **split-brain / split-brain**: split brain: pg0",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// Every table row has the header's number of cells.
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "| ") {
			if n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"); n != 9 {
				t.Errorf("row with %d pipes, want 9: %s", n, l)
			}
		}
	}
	if got := mdCell("a|b\n<c> *d*"); got != `a\|b &lt;c&gt; \*d\*` {
		t.Errorf("mdCell = %q", got)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(to, e.Name()), string(b))
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRenderSparseTrials(t *testing.T) {
	dir := t.TempDir()
	hdr := `{"t":"header","format":"pgchaos-ledger","version":1,"start":"2026-11-22T00:00:00Z"}` + "\n"
	// A ledger with nothing but its header.
	empty := filepath.Join(dir, "empty")
	_ = os.MkdirAll(empty, 0o755)
	writeFile(t, filepath.Join(empty, history.LedgerFile), hdr)
	// A truncated ledger, one write acknowledged, a fault never recovered,
	// no monitor and no final state; its verdict.json says unknown.
	cut := filepath.Join(dir, "cut")
	_ = os.MkdirAll(cut, 0o755)
	writeFile(t, filepath.Join(cut, history.LedgerFile), hdr+
		`{"t":"node","node":0,"server":"127.0.0.1:5432","instance":"pg0"}`+"\n"+
		`{"t":"inv","id":1,"c":0,"at":1000000}`+"\n"+
		`{"t":"ok","id":1,"at":3000000,"n":0,"lsn":"0/3000148","tl":1}`+"\n"+
		`{"t":"inv","id":2,"c":0,"at":2000000000}`+"\n"+
		`{"t":"in`)
	writeFile(t, filepath.Join(cut, history.FaultsFile), `{"t":"inject","at":1500000000,"name":"kill-primary","target":"pg0"}`+"\n")
	writeFile(t, filepath.Join(cut, history.VerdictFile), `{"checks":[{"name":"lost-acked-writes","status":"unknown","summary":"","reason":"no final state: nothing to compare the acknowledged writes with","figures":{"lost":0}}]}`)
	run, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Render(&buf, run); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"no monitor observations: roles unknown",
		"no failed or unknown write",
		"never recovered",
		"the ledger is truncated",
		"? UNKNOWN",
		"no final state: nothing to compare",
		"No final state was read",
		"NOT CHECKED",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report of sparse trials lacks %q", want)
		}
	}
	if n := strings.Count(page, `<svg class="timeline"`); n != 2 {
		t.Errorf("%d charts, want 2", n)
	}
	if strings.Contains(page, "NaN") || strings.Contains(page, "Inf") {
		t.Error("the report holds NaN or Inf")
	}
	assertSelfContained(t, page)
	var md bytes.Buffer
	if err := Markdown(&md, run); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "? **UNKNOWN** no final state") {
		t.Errorf("markdown: %s", md.String())
	}
}

func TestRenderListsSkippedFaults(t *testing.T) {
	run := loadTestRun(t)
	run.Results = NewResults(time.Now(), nil, nil)
	run.Results.Skipped = []Skip{{Scenario: "sync-standby-pod-delete", Replication: "async", Reason: "no synchronous standby <here>"}}
	var buf bytes.Buffer
	if err := Render(&buf, run); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if !strings.Contains(page, "Not run here") || !strings.Contains(page, "async-sync-standby-pod-delete</strong>: no synchronous standby &lt;here&gt;") {
		t.Error("the skipped fault and its reason are not listed")
	}
	run.Results.Skipped = nil
	buf.Reset()
	if err := Render(&buf, run); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Not run here") {
		t.Error("a run without skipped faults lists some")
	}
}
