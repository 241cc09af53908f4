package faults

import (
	"context"
	"errors"
	"fmt"

	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/faults/chaosmesh"
	"github.com/pgchaos/pgchaos/faults/iofsclass"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Cleanup reverts every fault a run left applied (every run's when runID is
// empty), after a kill of the harness: actions on kind node containers
// (first: the nodes must be back for the rest), the node agents' actions
// and the agent itself, operators scaled to zero, nodes cordoned. host may
// be nil (not on kind); operatorDeps are the operators' Deployments. It
// returns what it did.
func Cleanup(ctx context.Context, kc *kube.Client, host *Host, runID string, operatorDeps []operators.Ref) ([]string, error) {
	var done []string
	var errs []error
	if host != nil {
		ids, err := host.Exec.RevertRun(ctx, runID)
		for _, id := range ids {
			done = append(done, "reverted host action "+id)
		}
		errs = append(errs, err)
	}
	if kc.Config != nil {
		if cm, err := chaosmesh.New(kc.Config); err == nil {
			n, err := cm.DeleteRun(ctx, runID)
			if err != nil && !errors.Is(err, chaosmesh.ErrUnavailable) {
				errs = append(errs, err)
			}
			if n > 0 {
				done = append(done, fmt.Sprintf("deleted %d Chaos Mesh objects", n))
			}
		}
	}
	ac := agent.Client{Kube: kc}
	ids, err := ac.RevertRun(ctx, runID)
	done = append(done, ids...)
	errs = append(errs, err)
	ds, err := kc.CS.AppsV1().DaemonSets(agent.Namespace).Get(ctx, agent.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		// No agent: its service account and role, if a kill left them
		// between their creation and the DaemonSet's, belong to no one.
		errs = append(errs, agent.Uninstall(ctx, kc))
	case err != nil:
		errs = append(errs, fmt.Errorf("reading the node agent: %w", err))
	case runID == "" || ds.Labels[operators.RunIDLabel] == runID:
		if err := agent.Uninstall(ctx, kc); err != nil {
			errs = append(errs, err)
		} else {
			done = append(done, "deleted DaemonSet "+agent.Namespace+"/"+agent.Name)
		}
	}
	for _, dep := range operatorDeps {
		d, err := kc.CS.AppsV1().Deployments(dep.Namespace).Get(ctx, dep.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reading operator %s: %w", dep, err))
			continue
		}
		by, scaled := d.Annotations[ScaledFromAnnotation]
		if !scaled || (runID != "" && d.Annotations["pgchaos.io/scaled-by"] != runID) {
			continue
		}
		if err := ScaleOperatorBack(ctx, kc, dep); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, "scaled operator "+dep.String()+" back to "+by)
	}
	nodes, err := kc.CS.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		errs = append(errs, fmt.Errorf("listing nodes: %w", err))
	} else {
		for _, n := range nodes.Items {
			by, ok := n.Annotations[CordonedByAnnotation]
			if !ok || (runID != "" && by != runID) {
				continue
			}
			if err := Uncordon(ctx, kc, n.Name); err != nil {
				errs = append(errs, err)
				continue
			}
			done = append(done, "uncordoned node "+n.Name)
		}
	}
	// The storage class last, and only when no volume uses it any more (the
	// clusters are deleted after this, so a second cleanup removes it).
	removed, err := iofsclass.Uninstall(ctx, kc)
	switch {
	case errors.Is(err, iofsclass.ErrInUse):
		done = append(done, err.Error())
	case err != nil:
		errs = append(errs, err)
	case removed:
		done = append(done, "removed storage class "+iofsclass.ClassName+" and its filesystem servers")
	}
	return done, errors.Join(errs...)
}
