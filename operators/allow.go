package operators

import (
	"context"
	"fmt"

	"github.com/pgchaos/pgchaos/operators/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AllowChaosLabel marks a namespace pgchaos may inject faults into on a
// cluster it did not create (value "true"). Namespaces pgchaos creates
// itself carry it.
const AllowChaosLabel = "pgchaos.io/allow-chaos"

// CheckChaosAllowed refuses an existing namespace not labelled
// pgchaos.io/allow-chaos=true; an absent one is fine (pgchaos will create it,
// labelled).
func CheckChaosAllowed(ctx context.Context, kc *kube.Client, namespace string) error {
	ns, err := kc.CS.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading namespace %s: %w", namespace, err)
	}
	if ns.Labels[AllowChaosLabel] != "true" {
		return fmt.Errorf("namespace %s is not labelled %s=true: outside kind, pgchaos only injects faults into namespaces so labelled (kubectl label namespace %s %s=true)",
			namespace, AllowChaosLabel, namespace, AllowChaosLabel)
	}
	return nil
}
