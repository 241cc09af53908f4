package scenario

import (
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
)

func TestHitNodes(t *testing.T) {
	node := faults.Hit{Nodes: []string{"w2"}, Instances: []operators.Instance{{Name: "pg-1", Node: "w2"}}}
	if n, nf := hitNodes(node); !nf || len(n) != 1 || n[0] != "w2" {
		t.Fatalf("node fault: %v %v", n, nf)
	}
	// Two instances of one node count the node once; a pod fault is not a node fault.
	pods := faults.Hit{Instances: []operators.Instance{{Name: "pg-1", Node: "w1"}, {Name: "pg-2", Node: "w1"}, {Name: "pg-3", Node: "w3"}}}
	if n, nf := hitNodes(pods); nf || strings.Join(n, ",") != "w1,w3" {
		t.Fatalf("pod fault: %v %v", n, nf)
	}
	if n, nf := hitNodes(faults.Hit{Label: "operator"}); nf || len(n) != 0 {
		t.Fatalf("operator fault: %v %v", n, nf)
	}
}

func TestCheckPlacement(t *testing.T) {
	for _, p := range Placements() {
		if err := CheckPlacement(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, bad := range []string{"", "Apart", "near"} {
		if err := CheckPlacement(bad); err == nil || !strings.Contains(err.Error(), "apart") {
			t.Errorf("%q: want an error listing the policies, got %v", bad, err)
		}
	}
}

// The summary says whether the operator and the clients' path were hit,
// only for a node fault (a pod fault on the operator's node spares it).
func TestPlacementSummary(t *testing.T) {
	hit := history.Placement{Policy: PlacementTogether, HitNodes: []string{"w2"}, NodeFault: true, Operator: []string{"op-1@w2"},
		OperatorHit: true, Primary: "pg-1@w2", ClientsNode: "cp", Moved: "operator moved onto w2"}
	s := hit.Summary()
	for _, want := range []string{"hit w2 (node fault)", "operator op-1@w2 — hit too", "primary pg-1@w2", "clients via cp;", "policy together (operator moved onto w2)"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary %q lacks %q", s, want)
		}
	}
	pod := history.Placement{Policy: PlacementApart, HitNodes: []string{"w2"}, Operator: []string{"op-1@w2"}, Primary: "pg-1@w2"}
	if s := pod.Summary(); strings.Contains(s, "hit too") || strings.Contains(s, "spared") || strings.Contains(s, "node fault") {
		t.Errorf("a pod fault's summary speaks of the node: %q", s)
	}
	if s := (history.Placement{Policy: PlacementApart, NodeFault: true, HitNodes: []string{"w1"}, Operator: []string{"op@w3"}}).Summary(); !strings.Contains(s, "spared") {
		t.Errorf("an operator on another node is spared: %q", s)
	}
}

// The API server takes one value only in a node field selector (measured:
// "must be only one value when `operator` is 'In' or 'NotIn' for node
// field selector" for a fault on two nodes): apart selects on the hostname
// label, with every node hit; together prefers one node by name.
func TestPlacementAffinities(t *testing.T) {
	a := apartAffinity([]string{"w1", "w3"})
	terms := a.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchFields) != 0 || len(terms[0].MatchExpressions) != 1 {
		t.Fatalf("apart: %+v", terms)
	}
	if e := terms[0].MatchExpressions[0]; e.Key != "kubernetes.io/hostname" || e.Operator != "NotIn" || strings.Join(e.Values, ",") != "w1,w3" {
		t.Fatalf("apart: %+v", e)
	}
	g := togetherAffinity("w2").PreferredDuringSchedulingIgnoredDuringExecution
	if len(g) != 1 || len(g[0].Preference.MatchFields) != 1 || len(g[0].Preference.MatchFields[0].Values) != 1 {
		t.Fatalf("together: %+v", g)
	}
}
