package operators

import (
	"context"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestCheckChaosAllowed(t *testing.T) {
	cs := fake.NewSimpleClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "half", Labels: map[string]string{AllowChaosLabel: "yes"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "chaos", Labels: map[string]string{AllowChaosLabel: "true"}}},
	)
	kc := kube.NewFake(cs, nil)
	ctx := context.Background()
	for ns, ok := range map[string]bool{"prod": false, "half": false, "chaos": true, "absent": true} {
		err := CheckChaosAllowed(ctx, kc, ns)
		if ok != (err == nil) {
			t.Errorf("namespace %s: %v", ns, err)
		}
		if err != nil && !strings.Contains(err.Error(), "kubectl label namespace "+ns) {
			t.Errorf("namespace %s: the error does not say how to allow it: %v", ns, err)
		}
	}
}
