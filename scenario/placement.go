package scenario

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// Operator placement policies: where the operator's pod runs relative to
// the nodes a node fault hits (Plan.Placement).
const (
	// PlacementApart keeps the operator off the nodes a node fault will
	// hit (moved before the trial if it runs there): every operator is
	// judged on the same fault. The default.
	PlacementApart = "apart"
	// PlacementTogether puts the operator on the node a node fault will hit
	// (preferred, not required: once that node is lost the operator's pod
	// can be rescheduled elsewhere, as in production).
	PlacementTogether = "together"
	// PlacementAsScheduled leaves the operator where the scheduler put it.
	PlacementAsScheduled = "as-scheduled"
)

// Placements lists the policies.
func Placements() []string {
	return []string{PlacementApart, PlacementTogether, PlacementAsScheduled}
}

// CheckPlacement says why s is not a placement policy.
func CheckPlacement(s string) error {
	if slices.Contains(Placements(), s) {
		return nil
	}
	return fmt.Errorf("operator placement %q: want one of %s", s, strings.Join(Placements(), ", "))
}

// hitNodes returns the nodes a hit acts on: a node fault's nodes, else the
// nodes of the instances it hits (what else runs there is not hit).
func hitNodes(h faults.Hit) (nodes []string, nodeFault bool) {
	if len(h.Nodes) > 0 {
		return append([]string(nil), h.Nodes...), true
	}
	for _, in := range h.Instances {
		if in.Node != "" && !slices.Contains(nodes, in.Node) {
			nodes = append(nodes, in.Node)
		}
	}
	return nodes, false
}

// operatorPods lists the running pods of the operator's Deployment dep.
func operatorPods(ctx context.Context, kc *kube.Client, dep operators.Ref) ([]corev1.Pod, error) {
	d, err := kc.CS.AppsV1().Deployments(dep.Namespace).Get(ctx, dep.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading the operator's Deployment %s: %w", dep, err)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("the selector of Deployment %s: %w", dep, err)
	}
	pods, err := kc.CS.CoreV1().Pods(dep.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("listing the pods of Deployment %s: %w", dep, err)
	}
	var out []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out, nil
}

// placeOperator honours policy for a node fault that will hit nodes:
// it sets the node affinity of the operator's Deployment dep (apart: off
// those nodes, required; together: on the first, preferred) and waits for
// the rollout, when the operator does not run where policy wants it
// already. It returns what it did ("" when nothing) and a restore that
// puts the Deployment's node affinity back as it was (a no-op when nothing
// was changed). The move happens before the trial starts: the operator's
// restart is not part of what the trial measures.
func placeOperator(ctx context.Context, kc *kube.Client, dep operators.Ref, policy string, nodes []string,
	say func(string)) (string, func(context.Context) error, error) {
	noop := func(context.Context) error { return nil }
	if policy == PlacementAsScheduled || len(nodes) == 0 || dep.Name == "" {
		return "", noop, nil
	}
	pods, err := operatorPods(ctx, kc, dep)
	if err != nil {
		return "", noop, err
	}
	on := 0
	for _, p := range pods {
		if slices.Contains(nodes, p.Spec.NodeName) {
			on++
		}
	}
	switch {
	case policy == PlacementApart && on == 0, policy == PlacementTogether && on == len(pods) && len(pods) > 0:
		return "", noop, nil
	}
	var affinity *corev1.NodeAffinity
	var moved string
	if policy == PlacementApart {
		hostnames, err := hostnamesOf(ctx, kc, nodes)
		if err != nil {
			return "", noop, err
		}
		affinity = apartAffinity(hostnames)
		moved = "operator moved off " + strings.Join(nodes, "+")
	} else {
		affinity = togetherAffinity(nodes[0])
		moved = "operator moved onto " + nodes[0]
	}
	say(fmt.Sprintf("placement %s: %s (Deployment %s)", policy, moved, dep))
	orig, err := setNodeAffinity(ctx, kc, dep, affinity)
	if err != nil {
		return "", noop, err
	}
	restore := func(ctx context.Context) error {
		if _, err := setNodeAffinity(ctx, kc, dep, orig); err != nil {
			return err
		}
		return waitRollout(ctx, kc, dep, 3*time.Minute)
	}
	if err := waitRollout(ctx, kc, dep, 3*time.Minute); err != nil {
		return moved, restore, err
	}
	return moved, restore, nil
}

// setNodeAffinity sets the node affinity of dep's pod template and returns
// the one it replaced.
func setNodeAffinity(ctx context.Context, kc *kube.Client, dep operators.Ref, na *corev1.NodeAffinity) (*corev1.NodeAffinity, error) {
	var orig *corev1.NodeAffinity
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := kc.CS.AppsV1().Deployments(dep.Namespace).Get(ctx, dep.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		spec := &d.Spec.Template.Spec
		if spec.Affinity == nil {
			spec.Affinity = &corev1.Affinity{}
		}
		orig = spec.Affinity.NodeAffinity
		spec.Affinity.NodeAffinity = na
		_, err = kc.CS.AppsV1().Deployments(dep.Namespace).Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("setting the node affinity of Deployment %s: %w", dep, err)
	}
	return orig, nil
}

// waitRollout waits until every replica of dep runs its latest template
// and is ready, and no pod of an older one is left, at most d.
func waitRollout(ctx context.Context, kc *kube.Client, dep operators.Ref, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	last := ""
	for {
		dp, err := kc.CS.AppsV1().Deployments(dep.Namespace).Get(ctx, dep.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return fmt.Errorf("the operator's Deployment %s is gone", dep)
		case err != nil:
			last = err.Error()
		default:
			want := int32(1)
			if dp.Spec.Replicas != nil {
				want = *dp.Spec.Replicas
			}
			st := dp.Status
			if st.ObservedGeneration >= dp.Generation && st.UpdatedReplicas == want && st.ReadyReplicas == want &&
				st.AvailableReplicas == want && st.Replicas == want {
				return nil
			}
			last = fmt.Sprintf("%d of %d updated, %d ready, %d in all", st.UpdatedReplicas, want, st.ReadyReplicas, st.Replicas)
		}
		if !Sleep(ctx, time.Second) {
			return fmt.Errorf("the operator's Deployment %s did not roll out within %s: %s", dep, d, last)
		}
	}
}

// recordPlacement reads where the fault struck at injection: the nodes hit,
// the operator's pods, the primary, the node the clients go through
// (clientsHost is the workload's address, a node's when it reaches the
// cluster through a NodePort).
func recordPlacement(ctx context.Context, kc *kube.Client, c operators.Cluster, dep operators.Ref, policy string,
	h faults.Hit, clientsHost, moved string) history.Placement {
	pl := history.Placement{Policy: policy, Moved: moved}
	pl.HitNodes, pl.NodeFault = hitNodes(h)
	var notes []string
	if dep.Name != "" && kc != nil {
		pods, err := operatorPods(ctx, kc, dep)
		if err != nil {
			notes = append(notes, err.Error())
		}
		for _, p := range pods {
			pl.Operator = append(pl.Operator, p.Name+"@"+p.Spec.NodeName)
			if pl.NodeFault && slices.Contains(pl.HitNodes, p.Spec.NodeName) {
				pl.OperatorHit = true
			}
		}
	}
	if c != nil {
		if pr, err := operators.Primary(ctx, c); err == nil {
			pl.Primary = pr.Name + "@" + pr.Node
		} else {
			notes = append(notes, "primary: "+err.Error())
		}
	}
	if kc != nil && net.ParseIP(clientsHost) != nil {
		if n, err := nodeByAddress(ctx, kc, clientsHost); err == nil {
			pl.ClientsNode = n
			pl.ClientsHit = pl.NodeFault && slices.Contains(pl.HitNodes, n)
		}
	}
	if policy == PlacementApart && pl.OperatorHit {
		notes = append(notes, "the operator runs on a node the fault hits although the policy is apart")
	}
	pl.Note = strings.Join(notes, "; ")
	return pl
}

// nodeByAddress names the node with address ip.
func nodeByAddress(ctx context.Context, kc *kube.Client, ip string) (string, error) {
	nodes, err := kc.CS.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("listing nodes: %w", err)
	}
	for _, n := range nodes.Items {
		for _, a := range n.Status.Addresses {
			if a.Address == ip {
				return n.Name, nil
			}
		}
	}
	return "", fmt.Errorf("no node has address %s", ip)
}

// hostnameLabel is the well-known node label the apart affinity selects on
// (a node field selector takes one value only).
const hostnameLabel = "kubernetes.io/hostname"

// hostnamesOf reads the hostname label of each node (its name when absent).
func hostnamesOf(ctx context.Context, kc *kube.Client, nodes []string) ([]string, error) {
	var out []string
	for _, n := range nodes {
		node, err := kc.CS.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading node %s: %w", n, err)
		}
		h := node.Labels[hostnameLabel]
		if h == "" {
			h = n
		}
		out = append(out, h)
	}
	return out, nil
}

// apartAffinity keeps pods off the nodes with these hostnames (required).
func apartAffinity(hostnames []string) *corev1.NodeAffinity {
	return &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
			{Key: hostnameLabel, Operator: corev1.NodeSelectorOpNotIn, Values: hostnames}}}}}}
}

// togetherAffinity prefers the node named node (one value: a field selector).
func togetherAffinity(node string) *corev1.NodeAffinity {
	return &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.PreferredSchedulingTerm{{
		Weight: 100, Preference: corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
			{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}}}}}}
}
