package chaosmesh

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func fakeClient(t *testing.T, objs ...client.Object) (*Client, client.Client) {
	t.Helper()
	s, err := Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
	cm := NewWithClient(c)
	cm.Poll = 5 * time.Millisecond
	return cm, c
}

func crds() []client.Object {
	var out []client.Object
	for _, n := range CRDs() {
		out = append(out, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
	return out
}

func controller(ready int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: ControllerDeployment, Namespace: "chaos-mesh"},
		Status:     appsv1.DeploymentStatus{ReadyReplicas: ready},
	}
}

func TestAvailable(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		objs []client.Object
		want string // "" means available
	}{
		{"nothing", nil, "Chaos Mesh CRDs not installed (no podchaos.chaos-mesh.org)"},
		{"one CRD", crds()[:1], "Chaos Mesh CRDs not installed (no networkchaos.chaos-mesh.org)"},
		{"CRDs only", crds(), "CRDs installed but no controller running: objects would never take effect"},
		{"controller not ready", append(crds(), controller(0)), "chaos-mesh/chaos-controller-manager has no ready replica"},
		{"running", append(crds(), controller(1)), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cm, _ := fakeClient(t, c.objs...)
			err := cm.Available(ctx)
			if c.want == "" {
				if err != nil {
					t.Fatalf("Available: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Available = %v, want ErrUnavailable with %q", err, c.want)
			}
		})
	}
}

func build(t *testing.T, name string) Object {
	t.Helper()
	obj, err := Build(validRequests()[name], Options{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestApplyRefusesWithoutController(t *testing.T) {
	cm, c := fakeClient(t, crds()...)
	obj := build(t, "pod-kill")
	err := cm.Apply(context.Background(), obj)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "applying PodChaos db/") {
		t.Fatalf("Apply = %v", err)
	}
	var list v1alpha1.PodChaosList
	if err := c.List(context.Background(), &list); err != nil || len(list.Items) != 0 {
		t.Fatalf("objects created anyway: %v %d", err, len(list.Items))
	}
}

// TestApplyWaitsForInjection plays Chaos Mesh's controller: it marks the
// object injected a little after creation.
func TestApplyWaitsForInjection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cm, c := fakeClient(t, append(crds(), controller(1))...)
	obj := build(t, "partition-both")
	key := client.ObjectKeyFromObject(obj)
	go func() {
		for ctx.Err() == nil {
			var nc v1alpha1.NetworkChaos
			if err := c.Get(ctx, key, &nc); err == nil {
				nc.Status.Conditions = []v1alpha1.ChaosCondition{
					{Type: v1alpha1.ConditionSelected, Status: corev1.ConditionTrue},
					{Type: v1alpha1.ConditionAllInjected, Status: corev1.ConditionTrue},
				}
				nc.Status.Experiment.Records = []*v1alpha1.Record{{Id: "db/pg-1", Phase: v1alpha1.Injected, InjectedCount: 1}}
				if err := c.Update(ctx, &nc); err == nil {
					return
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if err := cm.Apply(ctx, obj); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	st, err := cm.Status(ctx, obj)
	if err != nil || !st.Injected || !st.Selected || st.InjectedRecords != 1 {
		t.Fatalf("Status = %s, %v", st, err)
	}
	// Apply again (a retried inject): idempotent.
	if err := cm.Apply(ctx, build(t, "partition-both")); err != nil {
		t.Fatalf("second Apply: %v", err)
	}
}

func TestWaitInjectedTimesOutWithLastStatus(t *testing.T) {
	cm, c := fakeClient(t)
	obj := build(t, "io-fault")
	if err := cm.Create(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	var io v1alpha1.IOChaos
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), &io); err != nil {
		t.Fatal(err)
	}
	ts := metav1.Now()
	io.Status.Experiment.Records = []*v1alpha1.Record{{Id: "db/pg-1", Phase: v1alpha1.NotInjected, Events: []v1alpha1.RecordEvent{
		{Type: v1alpha1.TypeFailed, Operation: v1alpha1.Apply, Message: "toda not found", Timestamp: &ts},
	}}}
	if err := c.Update(context.Background(), &io); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := cm.WaitInjected(ctx, obj)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "Apply: toda not found") ||
		!strings.Contains(err.Error(), "records=0/1") {
		t.Fatalf("WaitInjected = %v", err)
	}
}

func TestCreateRefusesAnotherRunsObject(t *testing.T) {
	cm, _ := fakeClient(t)
	r := validRequests()["pod-kill"]
	r.Name = "shared"
	a, _ := Build(r, Options{})
	if err := cm.Create(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	r.RunID = "run-2"
	b, _ := Build(r, Options{})
	err := cm.Create(context.Background(), b)
	if err == nil || !strings.Contains(err.Error(), `exists with run id "run-1", not "run-2"`) {
		t.Fatalf("Create = %v", err)
	}
}

func TestDeleteIsIdempotent(t *testing.T) {
	ctx := context.Background()
	cm, _ := fakeClient(t)
	obj := build(t, "pod-failure")
	if err := cm.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := cm.Delete(ctx, build(t, "pod-failure")); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if st, err := cm.Status(ctx, obj); err != nil || st.Exists {
		t.Fatalf("Status after delete = %s, %v", st, err)
	}
}

// TestDeleteWaitsForRecovery: Chaos Mesh's finalizer holds the object until
// its targets are recovered; Delete returns only when it is gone.
func TestDeleteWaitsForRecovery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cm, c := fakeClient(t)
	obj := build(t, "io-latency")
	obj.SetFinalizers([]string{"chaos-mesh/records"})
	if err := cm.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		defer close(released)
		time.Sleep(50 * time.Millisecond)
		var io v1alpha1.IOChaos
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), &io); err != nil {
			t.Errorf("get: %v", err)
			return
		}
		io.Finalizers = nil
		if err := c.Update(ctx, &io); err != nil {
			t.Errorf("release: %v", err)
		}
	}()
	start := time.Now()
	if err := cm.Delete(ctx, obj); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	<-released
	if time.Since(start) < 40*time.Millisecond {
		t.Fatalf("Delete returned before the finalizer was released")
	}
}

func TestDeleteRun(t *testing.T) {
	ctx := context.Background()
	cm, c := fakeClient(t)
	for _, name := range []string{"pod-kill", "partition-to", "io-fault"} {
		if err := cm.Create(ctx, build(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	other := validRequests()["pod-failure"]
	other.RunID = "run-2"
	keep, _ := Build(other, Options{})
	if err := cm.Create(ctx, keep); err != nil {
		t.Fatal(err)
	}
	n, err := cm.DeleteRun(ctx, "run-1")
	if err != nil || n != 3 {
		t.Fatalf("DeleteRun = %d, %v", n, err)
	}
	var pods v1alpha1.PodChaosList
	if err := c.List(ctx, &pods); err != nil || len(pods.Items) != 1 || pods.Items[0].Labels["pgchaos.io/run-id"] != "run-2" {
		t.Fatalf("left: %v %+v", err, pods.Items)
	}
	// An empty run id is every run's (pgchaos cleanup without --run-id).
	if n, err := cm.DeleteRun(ctx, ""); err != nil || n != 1 {
		t.Fatalf("DeleteRun of every run = %d, %v", n, err)
	}
	if err := c.List(ctx, &pods); err != nil || len(pods.Items) != 0 {
		t.Fatalf("left after deleting every run's: %v %+v", err, pods.Items)
	}
}

func TestSummariseOneShot(t *testing.T) {
	// pod-kill: the records were injected once, AllInjected may be false
	// once the one-shot experiment has finished.
	st := summarise(&v1alpha1.ChaosStatus{Experiment: v1alpha1.ExperimentStatus{
		DesiredPhase: v1alpha1.StoppedPhase,
		Records:      []*v1alpha1.Record{{Id: "db/pg-1", Phase: v1alpha1.NotInjected, InjectedCount: 1}},
	}})
	if !st.Injected || st.InjectedRecords != 0 {
		t.Fatalf("summarise = %s", st)
	}
	if st := summarise(&v1alpha1.ChaosStatus{}); st.Injected {
		t.Fatalf("no records counted as injected: %s", st)
	}
}
