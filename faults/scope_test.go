package faults

import (
	"strings"
	"testing"
)

// Every fault declares its scope; node and operator faults and the ones
// needing the agent are refused on a foreign cluster unless allowed, and
// the refusal names the fault and the flag.
func TestScopes(t *testing.T) {
	want := map[string]Scope{
		"primary-node-drain": ScopeNode, "primary-node-stop": ScopeNode, "primary-node-isolate": ScopeNode,
		"operator-outage": ScopeOperator, "operator-down-primary-pod-delete": ScopeOperator,
		"primary-pod-delete": ScopeCluster, "primary-isolate": ScopeCluster, "primary-wal-full": ScopeCluster,
	}
	for _, f := range All() {
		sc := InfoOf(f).Scope
		if sc == "" {
			t.Errorf("fault %s declares no scope", f.Name())
		}
		if w, ok := want[f.Name()]; ok && sc != w {
			t.Errorf("fault %s: scope %s, want %s", f.Name(), sc, w)
		}
	}
	cases := []struct {
		f       Fault
		allowed string
		refuse  string
	}{
		{PrimaryPodDelete, "", ""},
		{PrimaryNodeDrain, "", "--allow-scope node"},
		{PrimaryNodeDrain, "node", ""},
		{OperatorOutage, "node", "--allow-scope operator"},
		{OperatorOutage, "operator", ""},
		{PrimaryIsolate, "node,operator", "--allow-scope agent"},
		{PrimaryIsolate, "agent", ""},
		{PrimaryWALSlow, "", "--allow-scope agent"},
	}
	for _, c := range cases {
		allowed, err := ParseScopes(c.allowed)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckScopes([]Fault{PrimaryPodDelete, c.f}, allowed)
		switch {
		case c.refuse == "" && err != nil:
			t.Errorf("%s with %q: refused: %v", c.f.Name(), c.allowed, err)
		case c.refuse != "" && (err == nil || !strings.Contains(err.Error(), c.refuse) || !strings.Contains(err.Error(), c.f.Name())):
			t.Errorf("%s with %q: want a refusal naming the fault and %s, got %v", c.f.Name(), c.allowed, c.refuse, err)
		}
	}
	if _, err := ParseScopes("node,cluster-admin"); err == nil || !strings.Contains(err.Error(), "cluster-admin") {
		t.Errorf("an unknown scope: %v", err)
	}
}
