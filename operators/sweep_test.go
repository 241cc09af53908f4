package operators

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func svc(name string, labels map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: name, Labels: labels}}
}

func serviceNames(t *testing.T, kc *kube.Client) []string {
	t.Helper()
	l, err := kc.CS.CoreV1().Services("db").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range l.Items {
		out = append(out, s.Name)
	}
	slices.Sort(out)
	return out
}

// Services an operator left for the run are deleted after the grace; the
// operator's own objects and another run's are not.
func TestSweepRunDeletesWhatTheOperatorLeft(t *testing.T) {
	cs := fake.NewSimpleClientset(
		svc("pg", map[string]string{RunIDLabel: "r1"}),
		svc("pg-repl", map[string]string{RunIDLabel: "r1"}),
		svc("operator", map[string]string{RunIDLabel: "r1", OperatorLabel: "zalando"}),
		svc("other-run", map[string]string{RunIDLabel: "r2"}),
		svc("unlabelled", nil),
	)
	kc := kube.NewFake(cs, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	swept, err := SweepRun(ctx, kc, "db", "r1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(swept)
	if !slices.Equal(swept, []string{"service/pg", "service/pg-repl"}) {
		t.Errorf("swept %v, want the run's two services", swept)
	}
	if got := serviceNames(t, kc); !slices.Equal(got, []string{"operator", "other-run", "unlabelled"}) {
		t.Errorf("services left %v, want the operator's, the other run's and the unlabelled one", got)
	}
}

// An operator that removes its Services within the grace is left alone.
func TestSweepRunLeavesAPromptOperatorAlone(t *testing.T) {
	cs := fake.NewSimpleClientset(svc("pg", map[string]string{RunIDLabel: "r1"}))
	kc := kube.NewFake(cs, nil)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = cs.CoreV1().Services("db").Delete(context.Background(), "pg", metav1.DeleteOptions{})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	swept, err := SweepRun(ctx, kc, "db", "r1", time.Minute)
	if err != nil || len(swept) != 0 {
		t.Fatalf("SweepRun = %v, %v; want nothing swept", swept, err)
	}
	n := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == "delete" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d deletions, want the operator's one", n)
	}
}
