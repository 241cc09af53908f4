package faults

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/operators"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestEveryFaultDescribesItself(t *testing.T) {
	for _, f := range All() {
		in := InfoOf(f)
		if in.Name != f.Name() || in.Target == "" || in.Mechanism == "" || in.Summary == "" {
			t.Errorf("fault %s: incomplete info %+v", f.Name(), in)
		}
		d := f.Describe(Hit{Instances: []operators.Instance{{Name: "pg-1", Pod: "pg-1", Node: "w1"}}, Nodes: []string{"w1"}})
		if d == "" {
			t.Errorf("fault %s: empty description", f.Name())
		}
	}
	for _, f := range Default() {
		if _, err := ByName(f.Name()); err != nil {
			t.Errorf("default fault %s is not in All: %v", f.Name(), err)
		}
	}
}

// TestAvailabilitySaysWhy: every fault whose mechanism needs something the
// environment lacks is unavailable, with the reason.
func TestAvailabilitySaysWhy(t *testing.T) {
	ctx := context.Background()
	e, _ := env(1)
	for _, f := range All() {
		in := InfoOf(f)
		err := f.Available(ctx, e)
		switch {
		case in.Needs.Agent:
			if err == nil || !strings.Contains(err.Error(), "node agent") {
				t.Errorf("%s without an agent: %v", f.Name(), err)
			}
		case in.Needs.Kind:
			if err == nil || !strings.Contains(err.Error(), "kind cluster") {
				t.Errorf("%s without kind: %v", f.Name(), err)
			}
		}
	}
	if err := OperatorDownPrimaryPodDelete.Available(ctx, e); err == nil || !strings.Contains(err.Error(), "Deployment") {
		t.Errorf("operator outage without the operator's Deployment: %v", err)
	}
	e.Agent, e.Host = &agent.Client{Kube: e.Kube}, NewHost("kind", "/bin/true")
	for _, f := range []Fault{PrimaryIsolate, PrimaryFreeze, PrimaryNodeStop, PrimaryNodeIsolate, ReplicaPodRestart} {
		if err := f.Available(ctx, e); err != nil {
			t.Errorf("%s with agent and kind: %v", f.Name(), err)
		}
	}
}

func TestCorrelatedTargets(t *testing.T) {
	ctx := context.Background()
	e, _ := env(3)
	c := e.Cluster.(fakeCluster)
	c.ins[0].Node, c.ins[1].Node, c.ins[2].Node = "w1", "w2", "w1"
	e.Cluster = c
	for i := 0; i < 10; i++ {
		h, err := PrimaryAndReplica.Pick(ctx, e)
		if err != nil || len(h.Instances) != 2 || h.Instances[0].Role != operators.RolePrimary || h.Instances[1].Role != operators.RoleReplica {
			t.Fatalf("primary and replica: %+v %v", h, err)
		}
		h, err = PrimaryAndReplicaNodes.Pick(ctx, e)
		// pg-3 shares the primary's node: only pg-2's node is another node.
		if err != nil || strings.Join(h.Nodes, ",") != "w1,w2" || h.Name() != "w1+w2" {
			t.Fatalf("nodes of primary and replica: %+v %v", h, err)
		}
	}
	h, err := AllReplicas.Pick(ctx, e)
	if err != nil || h.Name() != "pg-2+pg-3" {
		t.Fatalf("all replicas: %+v %v", h, err)
	}
	c.ins[1].Node = "w1"
	e.Cluster = c
	if _, err := PrimaryAndReplicaNodes.Pick(ctx, e); err == nil {
		t.Fatal("every instance on one node: want an error, two nodes cannot be hit")
	}
}

func TestEvictable(t *testing.T) {
	now := metav1.Now()
	cases := []struct {
		name string
		pod  corev1.Pod
		want bool
	}{
		{"plain", corev1.Pod{}, true},
		{"daemonset", corev1.Pod{ObjectMeta: metav1.ObjectMeta{OwnerReferences: []metav1.OwnerReference{{Kind: "DaemonSet"}}}}, false},
		{"mirror", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{corev1.MirrorPodAnnotationKey: "x"}}}, false},
		{"terminating", corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}}, false},
		{"finished", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}, false},
	}
	for _, c := range cases {
		if got := evictable(c.pod); got != c.want {
			t.Errorf("%s: evictable = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCordonAndUncordon(t *testing.T) {
	ctx := context.Background()
	e, cs := env(1)
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w2"}, Spec: corev1.NodeSpec{Unschedulable: true}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cordon(ctx, e.Kube, "w1", "run-1"); err != nil {
		t.Fatal(err)
	}
	n, _ := cs.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{})
	if !n.Spec.Unschedulable || n.Annotations[CordonedByAnnotation] != "run-1" {
		t.Fatalf("cordon: %+v", n)
	}
	// Cleanup of another run leaves it; of this run uncordons it; a node
	// cordoned by someone else is never touched.
	if _, err := Cleanup(ctx, e.Kube, nil, "run-2", nil); err != nil {
		t.Fatal(err)
	}
	if n, _ = cs.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{}); !n.Spec.Unschedulable {
		t.Fatal("cleanup of another run uncordoned the node")
	}
	done, err := Cleanup(ctx, e.Kube, nil, "run-1", nil)
	if err != nil || strings.Join(done, ";") != "uncordoned node w1" {
		t.Fatalf("cleanup: %v %v", done, err)
	}
	if n, _ = cs.CoreV1().Nodes().Get(ctx, "w1", metav1.GetOptions{}); n.Spec.Unschedulable || n.Annotations[CordonedByAnnotation] != "" {
		t.Fatalf("not uncordoned: %+v", n)
	}
	if n, _ = cs.CoreV1().Nodes().Get(ctx, "w2", metav1.GetOptions{}); !n.Spec.Unschedulable {
		t.Fatal("a node cordoned by someone else was uncordoned")
	}
}

func TestOperatorScaledDownAndBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, cs := env(1)
	dep := operators.Ref{Namespace: "op", Name: "ctl"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "ctl", Namespace: "op"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "ctl"}}},
		Status: appsv1.DeploymentStatus{UpdatedReplicas: 2, AvailableReplicas: 2}}
	if _, err := cs.AppsV1().Deployments("op").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	back, err := ScaleOperatorDown(ctx, e.Kube, dep, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := cs.AppsV1().Deployments("op").Get(ctx, "ctl", metav1.GetOptions{})
	if *got.Spec.Replicas != 0 || got.Annotations[ScaledFromAnnotation] != "2" {
		t.Fatalf("scaled down: replicas %d, annotations %v", *got.Spec.Replicas, got.Annotations)
	}
	// The harness dies here; cleanup of the run restores the operator.
	done, err := Cleanup(ctx, e.Kube, nil, "run-1", []operators.Ref{dep})
	if err != nil || len(done) != 1 {
		t.Fatalf("cleanup: %v %v", done, err)
	}
	got, _ = cs.AppsV1().Deployments("op").Get(ctx, "ctl", metav1.GetOptions{})
	if *got.Spec.Replicas != 2 || got.Annotations[ScaledFromAnnotation] != "" {
		t.Fatalf("scaled back: replicas %d, annotations %v", *got.Spec.Replicas, got.Annotations)
	}
	if err := back(ctx); err != nil {
		t.Fatalf("recover after cleanup is not idempotent: %v", err)
	}
}
