package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Annotations pgchaos leaves on what it changed in place, so that cleanup
// can put it back after the harness was killed.
const (
	// ScaledFromAnnotation on a Deployment: the replicas it had before an
	// operator outage.
	ScaledFromAnnotation = "pgchaos.io/scaled-from"
	// CordonedByAnnotation on a Node: the run that cordoned it.
	CordonedByAnnotation = "pgchaos.io/cordoned-by"
)

// operatorOutage scales the operator to zero, waits until it is gone, then
// injects the inner mechanism (the primary fails while nobody can react);
// recovery scales the operator back.
type operatorOutage struct {
	then mechanism
}

func (operatorOutage) scope() Scope { return ScopeOperator }

func (m operatorOutage) kind() string {
	if m.then == nil {
		return "operator scaled to zero (Kubernetes API)"
	}
	return "operator scaled to zero, then " + m.then.kind()
}
func (m operatorOutage) needs() Needs {
	if m.then == nil {
		return Needs{}
	}
	return m.then.needs()
}
func (m operatorOutage) available(ctx context.Context, env Env) error {
	if env.Operator.Name == "" {
		return errors.New("the adapter does not name its operator's Deployment")
	}
	if env.Kube == nil {
		return errors.New("needs the Kubernetes API")
	}
	if m.then == nil {
		return nil
	}
	return m.then.available(ctx, env)
}
func (m operatorOutage) describe(h Hit) string {
	if m.then == nil {
		return "scale the operator to 0 for the hold (the data plane must carry on)"
	}
	return "scale the operator to 0, then " + m.then.describe(h)
}

func (m operatorOutage) inject(ctx context.Context, env Env, h Hit) (Recover, error) {
	back, err := ScaleOperatorDown(ctx, env.Kube, env.Operator, env.RunID)
	if err != nil || m.then == nil {
		return back, err
	}
	r, err := m.then.inject(ctx, env, h)
	return both(back, r), err
}

// ScaleOperatorDown scales an operator's Deployment to zero (remembering its
// replicas in an annotation) and waits until its pods are gone; the Recover
// scales it back and waits until it is available.
func ScaleOperatorDown(ctx context.Context, kc *kube.Client, dep operators.Ref, runID string) (Recover, error) {
	dc := kc.CS.AppsV1().Deployments(dep.Namespace)
	d, err := dc.Get(ctx, dep.Name, metav1.GetOptions{})
	if err != nil {
		return noRecover, fmt.Errorf("reading operator deployment %s: %w", dep, err)
	}
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	if prev, ok := d.Annotations[ScaledFromAnnotation]; ok {
		// A previous outage was never recovered: keep its record.
		if n, err := strconv.Atoi(prev); err == nil {
			replicas = int32(n)
		}
	}
	back := func(ctx context.Context) error { return ScaleOperatorBack(ctx, kc, dep) }
	patch, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{ScaledFromAnnotation: strconv.Itoa(int(replicas)), "pgchaos.io/scaled-by": runID}},
		"spec":     map[string]any{"replicas": 0},
	})
	if _, err := dc.Patch(ctx, dep.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return back, fmt.Errorf("scaling operator %s to 0: %w", dep, err)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return back, fmt.Errorf("operator %s selector: %w", dep, err)
	}
	err = kube.Poll(ctx, 500*time.Millisecond, "operator "+dep.String()+" pods gone", func(ctx context.Context) (bool, string, error) {
		l, err := kc.CS.CoreV1().Pods(dep.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
		if err != nil {
			return false, err.Error(), nil
		}
		return len(l.Items) == 0, fmt.Sprintf("%d operator pods left", len(l.Items)), nil
	})
	return back, err
}

// ScaleOperatorBack restores the replicas recorded by ScaleOperatorDown (a
// Deployment without the record is left alone) and waits until available.
func ScaleOperatorBack(ctx context.Context, kc *kube.Client, dep operators.Ref) error {
	dc := kc.CS.AppsV1().Deployments(dep.Namespace)
	d, err := dc.Get(ctx, dep.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading operator deployment %s: %w", dep, err)
	}
	prev, ok := d.Annotations[ScaledFromAnnotation]
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(prev)
	if err != nil || n < 0 {
		n = 1
	}
	patch, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{ScaledFromAnnotation: nil, "pgchaos.io/scaled-by": nil}},
		"spec":     map[string]any{"replicas": n},
	})
	if _, err := dc.Patch(ctx, dep.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("scaling operator %s back to %d: %w", dep, n, err)
	}
	return kc.WaitDeploymentAvailable(ctx, dep.Namespace, dep.Name)
}

// drain cordons the hit node and evicts its pods through the Eviction API
// (so disruption budgets are respected: a refused eviction is retried)
// until recovered; recovery uncordons the node.
type drain struct{}

func (drain) scope() Scope { return ScopeNode }

func (drain) kind() string { return "cordon and evict (Kubernetes API)" }
func (drain) needs() Needs { return Needs{} }
func (drain) available(ctx context.Context, env Env) error {
	if env.Kube == nil {
		return errors.New("needs the Kubernetes API")
	}
	return nil
}
func (drain) describe(h Hit) string {
	return "drain node " + h.Name() + " (cordon, then evict every pod but DaemonSets', respecting disruption budgets)"
}

func (drain) inject(ctx context.Context, env Env, h Hit) (Recover, error) {
	node := h.Nodes[0]
	uncordon := func(ctx context.Context) error { return Uncordon(ctx, env.Kube, node) }
	if err := cordon(ctx, env.Kube, node, env.RunID); err != nil {
		return uncordon, err
	}
	// The eviction loop runs until recovery (or the deadline).
	lctx, stop := context.WithDeadline(context.WithoutCancel(ctx), env.deadline())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		evictLoop(lctx, env, node)
	}()
	var once sync.Once
	return func(ctx context.Context) error {
		once.Do(func() { stop(); wg.Wait() })
		return uncordon(ctx)
	}, nil
}

func cordon(ctx context.Context, kc *kube.Client, node, runID string) error {
	patch, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]string{CordonedByAnnotation: runID}},
		"spec":     map[string]any{"unschedulable": true},
	})
	if _, err := kc.CS.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("cordoning node %s: %w", node, err)
	}
	return nil
}

// Uncordon makes a node schedulable again if pgchaos cordoned it.
func Uncordon(ctx context.Context, kc *kube.Client, node string) error {
	n, err := kc.CS.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading node %s: %w", node, err)
	}
	if _, ok := n.Annotations[CordonedByAnnotation]; !ok {
		return nil
	}
	patch, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{CordonedByAnnotation: nil}},
		"spec":     map[string]any{"unschedulable": false},
	})
	if _, err := kc.CS.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("uncordoning node %s: %w", node, err)
	}
	return nil
}

// evictLoop evicts every evictable pod of node every 2 s until ctx ends.
func evictLoop(ctx context.Context, env Env, node string) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		l, err := env.Kube.CS.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
		if err == nil {
			for _, p := range l.Items {
				if !evictable(p) {
					continue
				}
				// 429: a disruption budget refuses for now; retried next round.
				_ = env.Kube.CS.CoreV1().Pods(p.Namespace).EvictV1(ctx, &policyv1.Eviction{
					ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// evictable: what kubectl drain evicts (not DaemonSet pods, not mirror pods,
// not finished or already terminating pods).
func evictable(p corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return false
	}
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return false
	}
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return false
		}
	}
	return true
}
