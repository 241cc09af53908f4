package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// dryRun prints what each chosen fault would touch on the target without
// applying anything: its scope, for node faults the nodes it may hit and
// the pods of other namespaces on them, for operator faults the operator
// and the clusters it serves elsewhere, and the node agent's DaemonSet.
// kc is nil when the target does not exist yet (a kind cluster to create).
func dryRun(ctx context.Context, w io.Writer, kc *kube.Client, a operators.Adapter, namespace string, chosen []faults.Fault, foreign bool) error {
	fmt.Fprintln(w, "dry run: nothing is installed, created or applied")
	if kc == nil {
		fmt.Fprintln(w, "the kind cluster does not exist yet: pgchaos would create it (every node is pgchaos's)")
	}
	var nodes []corev1.Node
	var pods []corev1.Pod
	if kc != nil {
		nl, err := kc.CS.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing nodes: %w", err)
		}
		nodes = nl.Items
		pl, err := kc.CS.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing pods: %w", err)
		}
		pods = pl.Items
	}
	needAgent := []string{}
	for _, f := range chosen {
		in := faults.InfoOf(f)
		switch in.Scope {
		case faults.ScopeNode:
			fmt.Fprintf(w, "fault %s: scope node — %s, and every pod on it\n", in.Name, in.Target)
			allowed := candidateNodes(nodes, foreign)
			for _, n := range candidateNodes(nodes, false) {
				mark := ""
				if foreign && !slices.Contains(allowed, n) {
					mark = fmt.Sprintf(" (not labelled %s=true: refused there)", faults.NodeAllowLabel)
				}
				fmt.Fprintf(w, "  node %s%s: %s\n", n, mark, othersOn(pods, n, namespace))
			}
			if foreign && len(allowed) == 0 {
				fmt.Fprintf(w, "  no node is labelled %s=true: the fault would be refused on every node\n", faults.NodeAllowLabel)
			}
		case faults.ScopeOperator:
			dep := a.Deployment()
			fmt.Fprintf(w, "fault %s: scope operator — Deployment %s scaled to zero; %s\n", in.Name, dep, clustersElsewhere(ctx, kc, a, namespace))
		default:
			fmt.Fprintf(w, "fault %s: scope cluster — pods of the Postgres cluster in namespace %s only\n", in.Name, namespace)
		}
		if in.Needs.Agent || in.Needs.Storage {
			needAgent = append(needAgent, in.Name)
		}
	}
	if len(needAgent) > 0 {
		fmt.Fprintf(w, "node agent: DaemonSet %s/%s (privileged) on each of %d node(s), for %s\n", agent.Namespace, agent.Name, len(nodes), strings.Join(needAgent, ", "))
	}
	return nil
}

// candidateNodes are the nodes a node fault may hit: schedulable ones
// (not the control plane's tainted node), and on a foreign cluster only
// those labelled NodeAllowLabel=true.
func candidateNodes(nodes []corev1.Node, foreign bool) []string {
	var out []string
	for _, n := range nodes {
		if n.Spec.Unschedulable || slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Effect == corev1.TaintEffectNoSchedule }) {
			continue
		}
		if foreign && n.Labels[faults.NodeAllowLabel] != "true" {
			continue
		}
		out = append(out, n.Name)
	}
	sort.Strings(out)
	return out
}

// othersOn summarises the pods of namespaces other than ns on node.
func othersOn(pods []corev1.Pod, node, ns string) string {
	byNS := map[string][]string{}
	for _, p := range pods {
		if p.Spec.NodeName == node && p.Namespace != ns {
			byNS[p.Namespace] = append(byNS[p.Namespace], p.Name)
		}
	}
	if len(byNS) == 0 {
		return "no pod of another namespace"
	}
	var names []string
	n := 0
	for k, v := range byNS {
		names = append(names, fmt.Sprintf("%s (%d)", k, len(v)))
		n += len(v)
	}
	sort.Strings(names)
	return fmt.Sprintf("%d pod(s) of %d other namespace(s) would be hit too: %s", n, len(byNS), strings.Join(names, ", "))
}

// clustersElsewhere lists the operator's clusters outside ns.
func clustersElsewhere(ctx context.Context, kc *kube.Client, a operators.Adapter, ns string) string {
	if kc == nil {
		return "no other cluster (the kind cluster does not exist yet)"
	}
	var others []string
	for _, gvk := range a.ClusterKinds() {
		ri, err := kc.Resource(gvk, "")
		if err != nil {
			continue // the operator is not installed: nothing it serves
		}
		l, err := ri.List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for _, it := range l.Items {
			if it.GetNamespace() != ns {
				others = append(others, it.GetNamespace()+"/"+it.GetName())
			}
		}
	}
	if len(others) == 0 {
		return "it serves no cluster in another namespace"
	}
	sort.Strings(others)
	return fmt.Sprintf("it also serves %d cluster(s) elsewhere, stalled meanwhile: %s", len(others), strings.Join(others, ", "))
}
