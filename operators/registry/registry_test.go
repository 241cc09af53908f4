package registry

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/scenario"
)

// TestAdaptersWellFormed holds every adapter to the registry's contract:
// unique names usable on a command line, a default version it accepts and
// lists first, a Deployment and cluster kinds to clean up.
func TestAdaptersWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range All() {
		n := a.Name()
		if n == "" || strings.ToLower(n) != n || strings.ContainsAny(n, " ,/") || seen[n] {
			t.Errorf("adapter name %q: empty, not lower case, with separators, or repeated", n)
		}
		seen[n] = true
		if a.Title() == "" || a.VersionKey() == "" {
			t.Errorf("%s: no title or version key", n)
		}
		vs := a.Versions()
		if len(vs) == 0 || vs[0] != a.DefaultVersion() {
			t.Errorf("%s: versions %v do not start with the default %s", n, vs, a.DefaultVersion())
		}
		for _, v := range vs {
			if err := a.CheckVersion(v); err != nil {
				t.Errorf("%s: listed version %s refused: %v", n, v, err)
			}
		}
		if err := a.CheckVersion("not-a-version"); err == nil {
			t.Errorf("%s: accepts version %q", n, "not-a-version")
		}
		if d := a.Deployment(); d.Namespace == "" || d.Name == "" {
			t.Errorf("%s: no operator Deployment", n)
		}
		if len(a.ClusterKinds()) == 0 {
			t.Errorf("%s: no cluster kinds", n)
		}
		got, err := ByName(n)
		if err != nil || got.Name() != n {
			t.Errorf("ByName(%q) = %v, %v", n, got, err)
		}
	}
	if _, err := ByName("crunchy"); err == nil || !strings.Contains(err.Error(), "cnpg") {
		t.Errorf("unknown name: %v", err)
	}
	if len(ClusterKinds()) < len(All()) || len(Deployments()) != len(All()) {
		t.Errorf("kinds %v, deployments %v", ClusterKinds(), Deployments())
	}
}

// The nightly workflow users copy names adapters and versions this
// registry accepts.
func TestNightlyWorkflowMatrix(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", ".github", "workflows", "nightly.yml"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^\s+- operator: (\S+)\n\s+version: (\S+)$`)
	rows := re.FindAllStringSubmatch(string(data), -1)
	if len(rows) < len(All()) {
		t.Fatalf("the matrix has %d rows, fewer than the %d adapters", len(rows), len(All()))
	}
	seen := map[string]bool{}
	for _, r := range rows {
		a, err := ByName(r[1])
		if err != nil {
			t.Errorf("nightly.yml: %v", err)
			continue
		}
		if err := a.CheckVersion(r[2]); err != nil {
			t.Errorf("nightly.yml: %v", err)
		}
		seen[r[1]] = true
	}
	for _, a := range All() {
		if !seen[a.Name()] {
			t.Errorf("nightly.yml does not certify adapter %s", a.Name())
		}
	}
}

// Every adapter's expectation override names a fault of the catalogue, a
// replication mode, a reason, and changes what it says it changes.
func TestExpectOverridesWellFormed(t *testing.T) {
	for _, a := range All() {
		o, ok := a.(operators.ExpectOverrider)
		if !ok {
			continue
		}
		for _, ov := range o.ExpectOverrides() {
			f, err := faults.ByName(ov.Fault)
			if err != nil {
				t.Errorf("%s: override of %v", a.Name(), err)
				continue
			}
			if ov.Mode != "" && faults.CheckMode(ov.Mode) != nil {
				t.Errorf("%s: override of %s: %v", a.Name(), ov.Fault, faults.CheckMode(ov.Mode))
			}
			if len(ov.Reason) < 40 || ov.Adjust == nil {
				t.Errorf("%s: override of %s needs an adjustment and a reason with its evidence", a.Name(), ov.Fault)
			}
			mode := ov.Mode
			if mode == "" {
				mode = faults.Sync
			}
			before, after := faults.ExpectOf(f, mode == faults.Sync), scenario.ExpectationFor(a, f, mode)
			if after.Expect == before || after.Override == "" {
				t.Errorf("%s: the override of %s (%s) changes nothing: %+v", a.Name(), ov.Fault, mode, after)
			}
		}
	}
	// Zalando's one synchronous standby: a replica's loss may stall
	// synchronous commits up to 15 s there, 5 s elsewhere; async unchanged.
	z, err := ByName("zalando")
	if err != nil {
		t.Fatal(err)
	}
	if got := scenario.ExpectationFor(z, faults.ReplicaPostmasterKill, faults.Sync).Expect.MaxWindow; got != 15*time.Second {
		t.Errorf("zalando sync replica-postmaster-kill: max window %s", got)
	}
	if got := scenario.ExpectationFor(z, faults.ReplicaPostmasterKill, faults.Async).Expect.MaxWindow; got != faults.SpareStall {
		t.Errorf("zalando async replica-postmaster-kill: max window %s", got)
	}
}
