package faults

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Scope is how far a fault reaches. On a cluster pgchaos did not create
// (anything but its own kind cluster), a fault whose scope leaves the
// labelled namespace is refused unless the run allows that scope
// explicitly (CheckScopes).
type Scope string

const (
	// ScopeCluster: only the Postgres cluster's own pods, in its namespace.
	ScopeCluster Scope = "cluster"
	// ScopeNode: a whole node — every pod on it, in every namespace.
	ScopeNode Scope = "node"
	// ScopeOperator: the operator, which may serve other teams' clusters.
	ScopeOperator Scope = "operator"
	// ScopeAgent is not a fault's scope but a consent: the node agent
	// (and the pgchaos-iofs storage driver) is a privileged DaemonSet on
	// every node.
	ScopeAgent Scope = "agent"
)

// Scopes lists what --allow-scope accepts.
func Scopes() []Scope { return []Scope{ScopeNode, ScopeOperator, ScopeAgent} }

// ParseScopes reads a comma-separated --allow-scope value.
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		sc := Scope(part)
		if !slices.Contains(Scopes(), sc) {
			return nil, fmt.Errorf("unknown scope %q (have: node, operator, agent)", part)
		}
		out = append(out, sc)
	}
	return out, nil
}

// NodeAllowLabel marks a node that node faults may hit on a cluster pgchaos
// did not create (value "true"), besides --allow-scope node.
const NodeAllowLabel = "pgchaos.io/allow-chaos"

// CheckScopes refuses, on a cluster pgchaos did not create, the first fault
// of chosen that reaches beyond the Postgres cluster's own pods without its
// scope in allowed, and a fault needing the node agent without "agent"
// allowed. The error names the fault, its scope and how to allow it.
func CheckScopes(chosen []Fault, allowed []Scope) error {
	for _, f := range chosen {
		in := InfoOf(f)
		switch in.Scope {
		case ScopeNode:
			if !slices.Contains(allowed, ScopeNode) {
				return fmt.Errorf("fault %s acts on a whole node (every pod on it, in every namespace): refused on a cluster pgchaos did not create; allow it with --allow-scope node and label the nodes it may hit %s=true",
					in.Name, NodeAllowLabel)
			}
		case ScopeOperator:
			if !slices.Contains(allowed, ScopeOperator) {
				return fmt.Errorf("fault %s stops the operator, which may serve other clusters: refused on a cluster pgchaos did not create; allow it with --allow-scope operator", in.Name)
			}
		}
		if (in.Needs.Agent || in.Needs.Storage) && !slices.Contains(allowed, ScopeAgent) {
			return fmt.Errorf("fault %s needs the pgchaos node agent, a privileged DaemonSet on every node: refused on a cluster pgchaos did not create; allow it with --allow-scope agent", in.Name)
		}
	}
	return nil
}

// CheckNodesAllowed refuses a hit on nodes not labelled NodeAllowLabel=true
// when env.Foreign (a cluster pgchaos did not create).
func CheckNodesAllowed(ctx context.Context, env Env, h Hit) error {
	if !env.Foreign || len(h.Nodes) == 0 {
		return nil
	}
	if env.Kube == nil {
		return errors.New("cannot read the nodes' labels: no Kubernetes client")
	}
	for _, n := range h.Nodes {
		node, err := env.Kube.CS.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading node %s: %w", n, err)
		}
		if node.Labels[NodeAllowLabel] != "true" {
			return fmt.Errorf("node %s is not labelled %s=true: refused to act on it on a cluster pgchaos did not create (kubectl label node %s %s=true)",
				n, NodeAllowLabel, n, NodeAllowLabel)
		}
	}
	return nil
}
