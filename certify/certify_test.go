package certify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/reports"
)

const goodProfile = `format: pgchaos-profile
name: t
version: 1
modes:
  sync: {scenarios: [primary-pod-delete], repeat: 2}
  async: {scenarios: [replica-pod-delete]}
requirements:
  - {id: zero-loss, description: d, check: lost-acked-writes, modes: [sync], verdict: pass}
  - {id: no-split, description: d, check: split-brain, verdict: pass}
  - {id: rto-max, description: d, check: unavailability, figure: max_s, stat: max, at_most: 10}
  - {id: rto-p50, description: d, check: unavailability, figure: max_s, stat: p50, at_most: 5}
`

func mustProfile(t *testing.T, s string) *Profile {
	t.Helper()
	p, err := ParseProfile([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestShippedProfilesValidate(t *testing.T) {
	for _, name := range []string{"quick-v1.yaml", "full-v1.yaml"} {
		p, sum, err := LoadProfile(filepath.Join("..", "profiles", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(sum) != 64 || p.Trials() == 0 {
			t.Fatalf("%s: sum %q, %d trials", name, sum, p.Trials())
		}
	}
}

// Every kind of bad profile is refused with a line naming what is wrong.
func TestProfileErrors(t *testing.T) {
	cases := []struct{ edit, want string }{
		{"name: t\n", "name: t\nsurprise: 1\n"},
		{"check: split-brain", "check: split-brains"},
		{"[primary-pod-delete]", "[primary-pod-deleted]"},
		{"modes: [sync]", "modes: [semi]"},
		{"stat: p50", "stat: p99"},
		{"at_most: 10}", "at_most: -1}"},
		{"verdict: pass}\n  - {id: no-split", "verdict: fail}\n  - {id: no-split"},
		{"id: rto-p50", "id: rto-max"},
		{"format: pgchaos-profile", "format: other"},
	}
	wants := []string{"surprise", "split-brains", "primary-pod-deleted", "semi", "p99", "at_most", "want pass", "used twice", "format"}
	for i, c := range cases {
		bad := strings.Replace(goodProfile, c.edit, c.want, 1)
		if bad == goodProfile {
			t.Fatalf("case %d: edit %q not applied", i, c.edit)
		}
		_, err := ParseProfile([]byte(bad))
		if err == nil || !strings.Contains(err.Error(), wants[i]) {
			t.Errorf("case %d: want an error about %q, got %v", i, wants[i], err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("case %d: the error is not one line: %q", i, err)
		}
	}
	both := strings.Replace(goodProfile, "verdict: pass}\n  - {id: no-split", "verdict: pass, figure: lost, stat: max, at_most: 0}\n  - {id: no-split", 1)
	if _, err := ParseProfile([]byte(both)); err == nil || !strings.Contains(err.Error(), "exclusive") {
		t.Errorf("verdict and figure together: %v", err)
	}
	if _, err := ParseProfile(nil); err == nil {
		t.Error("an empty profile was accepted")
	}
}

func verdict(name string, st history.Status, figs map[string]any) history.Verdict {
	return history.Verdict{Name: name, Status: st, Summary: name + " " + string(st), Figures: figs}
}

func trial(dir, mode string, lost history.Status, maxS any) Trial {
	figs := map[string]any{}
	st := history.Pass
	if maxS == nil {
		st = history.Undecided
	} else {
		figs["max_s"] = maxS
	}
	return Trial{Dir: dir, Mode: mode, Scenario: "primary-pod-delete", Checks: []history.Verdict{
		verdict(history.CheckLostAckedWrites, lost, nil),
		verdict(history.CheckSplitBrain, history.Pass, nil),
		verdict(history.CheckUnavailability, st, figs),
	}}
}

func byID(rs []Result) map[string]Result {
	m := map[string]Result{}
	for _, r := range rs {
		m[r.ID] = r
	}
	return m
}

func TestEvaluate(t *testing.T) {
	p := mustProfile(t, goodProfile)
	// All good: PASS, whatever the order of the trials.
	good := []Trial{trial("a", "sync", history.Pass, 2.0), trial("b", "sync", history.Pass, 4.0), trial("c", "async", history.Failed, 3.0)}
	for _, order := range [][]Trial{good, {good[2], good[0], good[1]}} {
		rs, st, why := Evaluate(p, order, nil)
		if st != Pass || why != "" {
			t.Fatalf("status %s (%s): %+v", st, why, rs)
		}
		if v := byID(rs)["rto-p50"].Value; v == nil || *v != 3.0 {
			t.Fatalf("p50 of 2,3,4 = %v", v)
		}
	}
	// A synchronous loss fails zero-loss (the asynchronous one never counted).
	lost := []Trial{good[0], trial("b", "sync", history.Failed, 4.0), good[2]}
	rs, st, _ := Evaluate(p, lost, nil)
	if st != Fail || byID(rs)["zero-loss"].Status != Fail || !strings.Contains(byID(rs)["zero-loss"].Evidence[0], "b:") {
		t.Fatalf("sync loss: %s %+v", st, byID(rs)["zero-loss"])
	}
	// One trial without the figure: the max over the others is still
	// decided when it breaks the bound, the percentile is not.
	over := []Trial{trial("a", "sync", history.Pass, 12.0), trial("b", "sync", history.Pass, nil), good[2]}
	rs, st, _ = Evaluate(p, over, nil)
	if byID(rs)["rto-max"].Status != Fail || byID(rs)["rto-p50"].Status != Undecided || st != Fail {
		t.Fatalf("max over bound with an unknown trial: %s %+v", st, rs)
	}
	// Unknown only: UNDECIDED with the reason, never PASS.
	unk := []Trial{good[0], trial("b", "sync", history.Pass, nil), good[2]}
	rs, st, why := Evaluate(p, unk, nil)
	if st != Undecided || !strings.Contains(why, "rto-max") || byID(rs)["rto-max"].Status != Undecided {
		t.Fatalf("an unknown figure: %s %q %+v", st, why, rs)
	}
	// A trial that did not run: UNDECIDED, named.
	_, st, why = Evaluate(p, good, []Missing{{Scenario: "primary-pod-delete", Mode: "sync", Reason: "not available here"}})
	if st != Undecided || !strings.Contains(why, "did not run (not available here)") {
		t.Fatalf("a missing trial: %s %q", st, why)
	}
	// No trial of a requirement's mode: undecided.
	_, st, _ = Evaluate(p, []Trial{good[2]}, nil)
	if st != Undecided {
		t.Fatalf("no sync trial: %s", st)
	}
}

// copyTrial copies a saved trial of assert/testdata into dir/name.
func copyTrial(t *testing.T, name, dir string) string {
	t.Helper()
	src := filepath.Join("..", "assert", "testdata", name)
	dst := filepath.Join(dir, "sync-primary-pod-delete-"+name)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// A certificate built from real trials stands when verified; an altered
// ledger, a removed file, an added one or an edited certificate do not.
func TestBuildAndVerify(t *testing.T) {
	const prof = `format: pgchaos-profile
name: v
version: 1
modes:
  sync: {scenarios: [primary-pod-delete]}
requirements:
  - {id: zero-loss, description: d, check: lost-acked-writes, verdict: pass}
  - {id: rto, description: d, check: unavailability, figure: max_s, stat: max, at_most: 30}
`
	expect := func(string, string) (history.Expect, error) { return history.Expect{}, nil }
	setup := func(t *testing.T) string {
		dir := t.TempDir()
		tdir := copyTrial(t, "clean", dir)
		tr, err := history.Load(tdir)
		if err != nil {
			t.Fatal(err)
		}
		rep := assert.Run(tr, assert.DefaultConfig())
		res := &reports.Results{Budgets: &reports.Budgets{RTO: assert.DefaultRTOBudget, Replication: assert.DefaultReplicationBudget},
			Software: &reports.Software{Operator: "cnpg"},
			Trials:   []reports.Result{{Scenario: "primary-pod-delete", Operator: "cnpg", Replication: "sync", Dir: tdir, Seed: 7, Checks: rep.Checks}}}
		c, err := Build(dir, mustProfile(t, prof), "v.yaml", []byte(prof), res)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != Pass {
			t.Fatalf("the clean trial's certificate: %s %s %+v", c.Status, c.Reason, c.Requirements)
		}
		if err := c.Write(dir); err != nil {
			t.Fatal(err)
		}
		html, err := os.ReadFile(filepath.Join(dir, CertificateHTML))
		if err != nil || !strings.Contains(string(html), "PASS") || !strings.Contains(string(html), "zero-loss") {
			t.Fatalf("certificate.html: %v", err)
		}
		return dir
	}
	dir := setup(t)
	v, err := Verify(dir, expect)
	if err != nil || len(v.Problems) != 0 || v.Status != Pass || v.Trials != 1 {
		t.Fatalf("untouched: %+v %v", v, err)
	}

	tdir := filepath.Join(dir, "sync-primary-pod-delete-clean")
	ledger := filepath.Join(tdir, history.LedgerFile)
	b, _ := os.ReadFile(ledger)
	lines := strings.SplitAfter(string(b), "\n")
	// Drop an acknowledged write's line: the hash changes.
	for i, l := range lines {
		if strings.Contains(l, `"ok"`) {
			lines = append(lines[:i], lines[i+1:]...)
			break
		}
	}
	if err := os.WriteFile(ledger, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	v, _ = Verify(dir, expect)
	if !hasProblem(v, "ledger.jsonl was altered") {
		t.Fatalf("altered ledger: %+v", v.Problems)
	}

	dir = setup(t)
	tdir = filepath.Join(dir, "sync-primary-pod-delete-clean")
	if err := os.Remove(filepath.Join(tdir, history.MonitorFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tdir, "extra.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, _ = Verify(dir, expect)
	if !hasProblem(v, "monitor.jsonl is missing") || !hasProblem(v, "extra.txt was added") {
		t.Fatalf("removed and added files: %+v", v.Problems)
	}

	dir = setup(t)
	cb, _ := os.ReadFile(filepath.Join(dir, CertificateFile))
	edited := strings.Replace(string(cb), "at_most: 30", "at_most: 3000", 1)
	if edited == string(cb) {
		t.Fatal("the profile text was not found in certificate.json")
	}
	if err := os.WriteFile(filepath.Join(dir, CertificateFile), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	v, _ = Verify(dir, expect)
	if !hasProblem(v, "does not match its SHA-256") {
		t.Fatalf("edited profile: %+v", v.Problems)
	}
	if _, err := Verify(t.TempDir(), expect); err == nil {
		t.Fatal("a directory without certificate.json verified")
	}
}

func hasProblem(v *Verification, s string) bool {
	for _, p := range v.Problems {
		if strings.Contains(p, s) {
			return true
		}
	}
	return false
}

// A certificate whose verdicts were edited to PASS does not stand: verify
// re-judges the raw files (a trial that lost acknowledged writes).
func TestVerifyRejudges(t *testing.T) {
	const prof = `format: pgchaos-profile
name: v
version: 1
modes:
  sync: {scenarios: [primary-pod-delete]}
requirements:
  - {id: zero-loss, description: d, check: lost-acked-writes, verdict: pass}
`
	dir := t.TempDir()
	tdir := copyTrial(t, "async-failover-lost", dir)
	tr, err := history.Load(tdir)
	if err != nil {
		t.Fatal(err)
	}
	rep := assert.Run(tr, assert.DefaultConfig())
	res := &reports.Results{Trials: []reports.Result{{Scenario: "primary-pod-delete", Operator: "cnpg", Replication: "sync", Dir: tdir, Checks: rep.Checks}}}
	c, err := Build(dir, mustProfile(t, prof), "v.yaml", []byte(prof), res)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != Fail {
		t.Fatalf("a trial with lost writes certified %s", c.Status)
	}
	// Forge it: every verdict pass, the requirement and the status too.
	for i := range c.Trials[0].Checks {
		c.Trials[0].Checks[i].Status = history.Pass
	}
	c.Requirements[0].Status, c.Status = Pass, Pass
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
	expect := func(string, string) (history.Expect, error) { return history.Expect{}, nil }
	v, err := Verify(dir, expect)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"lost-acked-writes is now fail, certified pass", "requirement zero-loss is now FAIL", "the certificate says PASS; re-judged it is FAIL"} {
		if !hasProblem(v, want) {
			t.Errorf("forged certificate: no problem %q in %q", want, v.Problems)
		}
	}
}

func TestInside(t *testing.T) {
	for rel, want := range map[string]bool{"sync-a": true, "a/../b": true, "..": false, "../x": false, "a/../../x": false, "/abs": false, "..x": true} {
		if got := inside(rel); got != want {
			t.Errorf("inside(%q) = %v", rel, got)
		}
	}
}
