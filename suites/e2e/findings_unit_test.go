package e2e_test

import (
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/history"
)

// operatorFindings is plain code: tested without a cluster.
func TestOperatorFindings(t *testing.T) {
	rep := history.Report{}
	for _, name := range allChecks {
		rep.Checks = append(rep.Checks, history.Verdict{Name: name, Status: history.Pass})
	}
	set := func(name string, st history.Status) history.Report {
		r := history.Report{Checks: append([]history.Verdict{}, rep.Checks...)}
		for i := range r.Checks {
			if r.Checks[i].Name == name {
				r.Checks[i].Status, r.Checks[i].Summary = st, name+" went wrong"
			}
		}
		return r
	}
	if f := operatorFindings(rep, true); len(f) != 0 {
		t.Fatalf("every check passed: findings %q", f)
	}
	if f := operatorFindings(set(history.CheckLostAckedWrites, history.Failed), false); len(f) != 0 {
		t.Fatalf("asynchronous lost writes are measured, not a finding: %q", f)
	}
	for _, c := range []struct {
		name string
		st   history.Status
	}{
		{history.CheckLostAckedWrites, history.Failed}, {history.CheckReplicationRecovery, history.Failed},
		{history.CheckReplicationRecovery, history.Undecided}, {history.CheckWALContinuity, history.Failed},
		{history.CheckUnavailability, history.Failed}, {history.CheckExpectations, history.Failed},
		{history.CheckSplitBrain, history.Undecided},
	} {
		f := operatorFindings(set(c.name, c.st), true)
		if len(f) != 1 || !strings.HasPrefix(f[0], c.name+" "+string(c.st)) {
			t.Errorf("%s %s with synchronous replication: findings %q, want exactly that one", c.name, c.st, f)
		}
	}
}
