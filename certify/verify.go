package certify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/history"
)

// Expecter gives the expectations a trial of fault in mode is held to
// (scenario.ExpectationFor with the certificate's operator).
type Expecter func(fault, mode string) (history.Expect, error)

// Verification is what `pgchaos certify verify` found.
type Verification struct {
	// Problems, one line each: a file altered or missing, a verdict or a
	// requirement that changed when re-judged. None: the certificate stands.
	Problems []string
	// Status is the certificate's status as re-judged now.
	Status string
	// Trials is the number of trials re-judged.
	Trials int
}

// Verify re-checks the certificate in dir: the embedded profile against
// its hash, every trial file against its SHA-256 (and no raw file added),
// every trial re-judged from its raw files by this binary's checkers with
// the certificate's budgets and expect's expectations, every requirement
// and the overall status re-evaluated. An error is returned only when the
// certificate cannot be read at all (bad input).
func Verify(dir string, expect Expecter) (*Verification, error) {
	c, err := Read(dir)
	if err != nil {
		return nil, err
	}
	v := &Verification{}
	bad := func(format string, a ...any) { v.Problems = append(v.Problems, fmt.Sprintf(format, a...)) }
	sum := sha256.Sum256([]byte(c.Profile.Text))
	if hex.EncodeToString(sum[:]) != c.Profile.SHA256 {
		bad("the profile text in %s does not match its SHA-256 %s", CertificateFile, c.Profile.SHA256)
	}
	p, err := ParseProfile([]byte(c.Profile.Text))
	if err != nil {
		bad("the certificate's profile does not parse: %v", err)
		v.Status = Undecided
		return v, nil
	}
	cfg := assert.DefaultConfig()
	if b := c.Budgets; b != nil {
		cfg.RTOBudget, cfg.ReplicationBudget = b.RTO, b.Replication
	}
	rejudged := make([]Trial, 0, len(c.Trials))
	for _, t := range c.Trials {
		if !inside(t.Dir) {
			bad("trial %s is outside the certificate's directory", t.Dir)
			continue
		}
		tdir := filepath.Join(dir, t.Dir)
		files, err := HashFiles(tdir)
		if err != nil {
			bad("trial %s: %v", t.Dir, err)
			continue
		}
		for _, name := range sortedFiles(t.Files) {
			got, ok := files[name]
			switch {
			case !ok:
				bad("trial %s: %s is missing", t.Dir, name)
			case got != t.Files[name]:
				bad("trial %s: %s was altered (SHA-256 %s, certified %s)", t.Dir, name, short(got), short(t.Files[name]))
			}
		}
		for _, name := range sortedFiles(files) {
			if _, ok := t.Files[name]; !ok {
				bad("trial %s: %s was added after the certificate", t.Dir, name)
			}
		}
		tr, err := history.Load(tdir)
		if err != nil {
			bad("trial %s no longer loads: %v", t.Dir, err)
			continue
		}
		tcfg := cfg
		if tcfg.Expect, err = expect(t.Scenario, t.Mode); err != nil {
			bad("trial %s: %v", t.Dir, err)
			continue
		}
		rep := assert.Run(tr, tcfg)
		v.Trials++
		for _, was := range t.Checks {
			now, ok := verdictOf(Trial{Checks: rep.Checks}, was.Name)
			switch {
			case !ok:
				bad("trial %s: verdict %s is no longer produced", t.Dir, was.Name)
			case now.Status != was.Status:
				bad("trial %s: %s is now %s, certified %s (%s)", t.Dir, was.Name, now.Status, was.Status, now.Summary)
			}
		}
		rt := t
		rt.Checks = rep.Checks
		rejudged = append(rejudged, rt)
	}
	results, status, _ := Evaluate(p, rejudged, c.Missing)
	v.Status = status
	for i, r := range results {
		if i >= len(c.Requirements) || c.Requirements[i].ID != r.ID {
			bad("requirement %s is not in the certificate", r.ID)
			continue
		}
		if was := c.Requirements[i].Status; was != r.Status {
			bad("requirement %s is now %s, certified %s", r.ID, r.Status, was)
		}
	}
	if status != c.Status {
		bad("the certificate says %s; re-judged it is %s", c.Status, status)
	}
	return v, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
