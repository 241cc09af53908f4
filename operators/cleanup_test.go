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

func TestCleanupOnlyTheRun(t *testing.T) {
	lab := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cs := fake.NewSimpleClientset(
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "mine", Namespace: "db", Labels: lab(RunIDLabel, "r1")}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "other-run", Namespace: "db", Labels: lab(RunIDLabel, "r2")}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "theirs", Namespace: "db"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "db", Labels: lab(RunIDLabel, "r1")}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cnpg-system", Labels: lab(RunIDLabel, "r1", OperatorLabel, "cnpg")}},
	)
	done, err := Cleanup(context.Background(), kube.NewFake(cs, nil), "r1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(done, ","); got != "Service db/mine,Namespace db" {
		t.Fatalf("deleted %s", got)
	}
	left, _ := cs.CoreV1().Services("db").List(context.Background(), metav1.ListOptions{})
	if len(left.Items) != 2 {
		t.Fatalf("%d services left, want 2", len(left.Items))
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "cnpg-system", metav1.GetOptions{}); err != nil {
		t.Fatalf("the operator's namespace was deleted: %v", err)
	}
}
