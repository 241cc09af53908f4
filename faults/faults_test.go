package faults

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// fakeCluster serves fixed instances.
type fakeCluster struct{ ins []operators.Instance }

func (f fakeCluster) Ref() operators.Ref                  { return operators.Ref{Namespace: "db", Name: "pg"} }
func (f fakeCluster) WaitReady(ctx context.Context) error { return nil }
func (f fakeCluster) Instances(ctx context.Context) ([]operators.Instance, error) {
	return f.ins, nil
}
func (f fakeCluster) ReadWrite(ctx context.Context) (operators.Endpoint, error) {
	return operators.Endpoint{}, nil
}
func (f fakeCluster) Credentials(ctx context.Context, a operators.Access) (operators.Credentials, error) {
	return operators.Credentials{}, nil
}

func env(seed uint64) (Env, *fake.Clientset) {
	cs := fake.NewSimpleClientset(
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pg-1", Namespace: "db"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pg-2", Namespace: "db"}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pg-3", Namespace: "db"}},
	)
	c := fakeCluster{ins: []operators.Instance{
		{Name: "pg-1", Pod: "pg-1", Role: operators.RolePrimary},
		{Name: "pg-2", Pod: "pg-2", Role: operators.RoleReplica},
		{Name: "pg-3", Pod: "pg-3", Role: operators.RoleReplica},
	}}
	return Env{Kube: kube.NewFake(cs, nil), Cluster: c, Rand: rand.New(rand.NewPCG(seed, 1))}, cs
}

func TestNamesUniqueAndFound(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range All() {
		if seen[f.Name()] {
			t.Fatalf("two faults named %s", f.Name())
		}
		seen[f.Name()] = true
		if g, err := ByName(f.Name()); err != nil || g.Name() != f.Name() {
			t.Fatalf("ByName(%s) = %v, %v", f.Name(), g, err)
		}
	}
	if _, err := ByName("nope"); err == nil || !strings.Contains(err.Error(), "primary-pod-delete") {
		t.Fatalf("unknown name: %v", err)
	}
}

func TestPrimaryPodDelete(t *testing.T) {
	ctx := context.Background()
	e, cs := env(1)
	tg, err := PrimaryPodDelete.Target(ctx, e)
	if err != nil || tg.Main().Pod != "pg-1" {
		t.Fatalf("target %+v %v", tg, err)
	}
	rec, err := PrimaryPodDelete.Inject(ctx, e, tg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods("db").Get(ctx, "pg-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("pod pg-1 still there: %v", err)
	}
	if err := rec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rec(ctx); err != nil {
		t.Fatal("recover is not idempotent")
	}
}

func TestReplicaTargetIsSeeded(t *testing.T) {
	ctx := context.Background()
	pick := func(seed uint64) []string {
		e, _ := env(seed)
		var out []string
		for i := 0; i < 8; i++ {
			tg, err := ReplicaPodDelete.Target(ctx, e)
			if err != nil || tg.Main().Role != operators.RoleReplica {
				t.Fatalf("target %+v %v", tg, err)
			}
			out = append(out, tg.Name())
		}
		return out
	}
	a, b := pick(42), pick(42)
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("same seed, different targets: %v %v", a, b)
	}
}

func TestSwitchoverNeedsTheAbility(t *testing.T) {
	e, _ := env(1)
	if err := PlannedSwitchover.Available(context.Background(), e); err == nil {
		t.Fatal("a cluster without Switchover: want unavailable")
	}
	if err := PrimaryPostmasterKill.Available(context.Background(), e); err == nil {
		t.Fatal("a fake client cannot exec: want unavailable")
	}
}

// candidateCluster accepts only some replicas for a switchover.
type candidateCluster struct {
	fakeCluster
	names []string
}

func (c candidateCluster) SwitchoverCandidates(context.Context) ([]string, error) {
	return c.names, nil
}

// TestSwitchoverCandidate: the planned switchover's target is any replica
// of a cluster that states no preference, and only an accepted one when it
// does (Patroni's synchronous standby); none accepted is an error.
func TestSwitchoverCandidate(t *testing.T) {
	ctx := context.Background()
	seen := map[string]bool{}
	for seed := uint64(1); seed <= 40; seed++ {
		e, _ := env(seed)
		h, err := SwitchoverCandidate.Pick(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		seen[h.Main().Name] = true
		e.Cluster = candidateCluster{fakeCluster: e.Cluster.(fakeCluster), names: []string{"pg-3"}}
		if h, err := SwitchoverCandidate.Pick(ctx, e); err != nil || h.Main().Name != "pg-3" {
			t.Fatalf("seed %d with candidates [pg-3]: %v %v", seed, h.Main().Name, err)
		}
	}
	if !seen["pg-2"] || !seen["pg-3"] || seen["pg-1"] {
		t.Errorf("without a preference, 40 seeds picked %v", seen)
	}
	e, _ := env(1)
	e.Cluster = candidateCluster{fakeCluster: e.Cluster.(fakeCluster), names: []string{"pg-1"}}
	if _, err := SwitchoverCandidate.Pick(ctx, e); err == nil || !strings.Contains(err.Error(), "no replica the operator would promote") {
		t.Errorf("only the primary as candidate: %v", err)
	}
}
