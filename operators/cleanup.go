package operators

import (
	"context"
	"errors"
	"fmt"

	"github.com/pgchaos/pgchaos/operators/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// RunSelector selects what a run created: one run's objects, or every
// run's when runID is empty.
func RunSelector(runID string) string {
	if runID == "" {
		return RunIDLabel
	}
	return RunIDLabel + "=" + runID
}

// Cleanup deletes, in every namespace, the objects labelled by a run (every
// run when runID is empty): first the operators' clusters of the given kinds
// (so their operators delete pods and volumes), then Services, then the
// namespaces pgchaos created. Operators themselves are left installed. It
// returns what it deleted, as "Kind namespace/name".
func Cleanup(ctx context.Context, kc *kube.Client, runID string, clusterKinds []schema.GroupVersionKind) ([]string, error) {
	sel := metav1.ListOptions{LabelSelector: RunSelector(runID)}
	var done []string
	var errs []error
	for _, gvk := range clusterKinds {
		ri, err := kc.Resource(gvk, metav1.NamespaceAll)
		if err != nil {
			// The operator (its CRD) is not installed: nothing of that kind to delete.
			continue
		}
		l, err := ri.List(ctx, sel)
		if err != nil {
			errs = append(errs, fmt.Errorf("listing %s: %w", gvk.Kind, err))
			continue
		}
		for _, o := range l.Items {
			r, err := kc.Resource(gvk, o.GetNamespace())
			if err == nil {
				err = r.Delete(ctx, o.GetName(), metav1.DeleteOptions{})
			}
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("deleting %s %s/%s: %w", gvk.Kind, o.GetNamespace(), o.GetName(), err))
				continue
			}
			done = append(done, fmt.Sprintf("%s %s/%s", gvk.Kind, o.GetNamespace(), o.GetName()))
		}
	}
	svcs, err := kc.CS.CoreV1().Services(metav1.NamespaceAll).List(ctx, sel)
	if err != nil {
		errs = append(errs, fmt.Errorf("listing services: %w", err))
	} else {
		for _, s := range svcs.Items {
			err := kc.CS.CoreV1().Services(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("deleting service %s/%s: %w", s.Namespace, s.Name, err))
				continue
			}
			done = append(done, "Service "+s.Namespace+"/"+s.Name)
		}
	}
	nss, err := kc.CS.CoreV1().Namespaces().List(ctx, sel)
	if err != nil {
		errs = append(errs, fmt.Errorf("listing namespaces: %w", err))
	} else {
		for _, n := range nss.Items {
			if n.Name == "default" || n.Name == "kube-system" {
				continue
			}
			// Operators' own namespaces carry a run id too (the run that
			// installed them); they are left alone with the operator.
			if n.Labels[OperatorLabel] != "" {
				continue
			}
			err := kc.CS.CoreV1().Namespaces().Delete(ctx, n.Name, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("deleting namespace %s: %w", n.Name, err))
				continue
			}
			done = append(done, "Namespace "+n.Name)
		}
	}
	return done, errors.Join(errs...)
}
