package generic

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// cnpgConfig is the worked example of doc.go: CloudNativePG's labels.
func cnpgConfig() Config {
	return Config{
		Ref:              operators.Ref{Namespace: "db", Name: "pg"},
		Instances:        "cnpg.io/cluster=pg,cnpg.io/podRole=instance",
		Primary:          "cnpg.io/instanceRole=primary",
		Replica:          "cnpg.io/instanceRole=replica",
		InstanceLabel:    "cnpg.io/instanceName",
		ReadWriteService: "pg-rw",
		Container:        "postgres",
		Layout:           operators.Layout{DataDir: "/var/lib/postgresql/data/pgdata", VolumePath: "/var/lib/postgresql/data", Port: 5432},
		App:              Secret{Name: "pg-app"},
		Superuser:        Secret{Name: "pg-superuser", Database: "app"},
	}
}

// cnpgPod is a pod labelled the way CloudNativePG 1.27 labels instances.
func cnpgPod(name, role string, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "db", Labels: map[string]string{
			"cnpg.io/cluster": "pg", "cnpg.io/podRole": "instance", "cnpg.io/instanceName": name,
			"cnpg.io/instanceRole": role, "role": role,
		}},
		Spec: corev1.PodSpec{NodeName: "w-" + name, Containers: []corev1.Container{{Name: "postgres"}}},
		Status: corev1.PodStatus{PodIP: "10.0.0." + name[len(name)-1:], Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
}

func objects(ready bool) []runtime.Object {
	t := true
	return []runtime.Object{
		cnpgPod("pg-1", "primary", true), cnpgPod("pg-2", "replica", true), cnpgPod("pg-3", "replica", ready),
		// A pod of another cluster and the operator's join job: not instances.
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other-1", Namespace: "db", Labels: map[string]string{
			"cnpg.io/cluster": "other", "cnpg.io/podRole": "instance", "cnpg.io/instanceRole": "primary"}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pg-4-join-x", Namespace: "db", Labels: map[string]string{
			"cnpg.io/cluster": "pg", "cnpg.io/jobRole": "join"}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "pg-rw", Namespace: "db"}, Spec: corev1.ServiceSpec{
			Selector: map[string]string{"cnpg.io/cluster": "pg", "cnpg.io/instanceRole": "primary"},
			Ports:    []corev1.ServicePort{{Name: "postgres", Port: 5432}}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "pg-rw-abc", Namespace: "db",
			Labels: map[string]string{"kubernetes.io/service-name": "pg-rw"}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &t},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "pg-1"}}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pg-app", Namespace: "db"}, Data: map[string][]byte{
			"username": []byte("app"), "password": []byte("s3cret"), "dbname": []byte("app")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "pg-superuser", Namespace: "db"}, Data: map[string][]byte{
			"username": []byte("postgres"), "password": []byte("root"), "dbname": []byte("*")}},
	}
}

func TestCNPGLabels(t *testing.T) {
	ctx := context.Background()
	c, err := New(kube.NewFake(fake.NewSimpleClientset(objects(true)...), nil), cnpgConfig())
	if err != nil {
		t.Fatal(err)
	}
	ins, err := c.Instances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 3 {
		t.Fatalf("got %d instances, want 3: %+v", len(ins), ins)
	}
	p, err := operators.PrimaryOf(ins, c.Ref())
	if err != nil || p.Pod != "pg-1" || p.Node != "w-pg-1" || p.PodIP != "10.0.0.1" || p.Container != "postgres" ||
		p.Layout.DataDir != "/var/lib/postgresql/data/pgdata" || p.Layout.Port != 5432 {
		t.Fatalf("primary %+v, %v", p, err)
	}
	if r := operators.Replicas(ins); len(r) != 2 || r[0].Name != "pg-2" || r[1].Name != "pg-3" {
		t.Fatalf("replicas %+v", r)
	}
	sel := ins[1].Selector
	if sel["cnpg.io/instanceName"] != "pg-2" || sel["cnpg.io/cluster"] != "pg" || sel["cnpg.io/podRole"] != "instance" || len(sel) != 3 {
		t.Fatalf("instance selector %v", sel)
	}
	ep, err := c.ReadWrite(ctx)
	if err != nil || ep.Port != 5432 || ep.Selector["cnpg.io/instanceRole"] != "primary" {
		t.Fatalf("read-write %+v, %v", ep, err)
	}
	app, err := c.Credentials(ctx, operators.AccessApp)
	if err != nil || app != (operators.Credentials{User: "app", Password: "s3cret", Database: "app"}) {
		t.Fatalf("app credentials %+v, %v", app, err)
	}
	su, err := c.Credentials(ctx, operators.AccessSuperuser)
	if err != nil || su != (operators.Credentials{User: "postgres", Password: "root", Database: "app"}) {
		t.Fatalf("superuser credentials %+v, %v", su, err)
	}
	if ok, why, err := c.ready(ctx); !ok || err != nil {
		t.Fatalf("ready: %v %s %v", ok, why, err)
	}
}

func TestNotReady(t *testing.T) {
	c, err := New(kube.NewFake(fake.NewSimpleClientset(objects(false)...), nil), cnpgConfig())
	if err != nil {
		t.Fatal(err)
	}
	ok, why, _ := c.ready(context.Background())
	if ok || !strings.Contains(why, "pg-3 not Ready") {
		t.Fatalf("ready = %v (%s), want pg-3 not Ready", ok, why)
	}
}

func TestBadConfig(t *testing.T) {
	cfg := cnpgConfig()
	cfg.Primary = "a in (b"
	if _, err := New(kube.NewFake(fake.NewSimpleClientset(), nil), cfg); err == nil || !strings.Contains(err.Error(), "primary selector") {
		t.Fatalf("want a primary selector error, got %v", err)
	}
	cfg = cnpgConfig()
	cfg.ReadWriteService = ""
	if _, err := New(kube.NewFake(fake.NewSimpleClientset(), nil), cfg); err == nil {
		t.Fatal("want an error without a read-write service")
	}
	for _, l := range []operators.Layout{
		{DataDir: "pgdata", VolumePath: "/data", Port: 5432},
		{DataDir: "/home/postgres/pgdata/pgroot/data", VolumePath: "/var/lib/postgresql/data", Port: 5432},
		{DataDir: "/datadir/x", VolumePath: "/data", Port: 5432}, // /data is not a prefix of /datadir
		{DataDir: "/data/x", VolumePath: "/data", Port: 0},
	} {
		cfg = cnpgConfig()
		cfg.Layout = l
		if _, err := New(kube.NewFake(fake.NewSimpleClientset(), nil), cfg); err == nil || !strings.Contains(err.Error(), "layout") {
			t.Errorf("layout %+v: want a layout error, got %v", l, err)
		}
	}
	cfg = cnpgConfig()
	cfg.Layout = operators.Layout{DataDir: "/home/postgres/pgdata/pgroot/data", VolumePath: "/home/postgres/pgdata/", Port: 5432}
	if _, err := New(kube.NewFake(fake.NewSimpleClientset(), nil), cfg); err != nil {
		t.Errorf("a volume path with a trailing slash: %v", err)
	}
}

func TestExposeInCluster(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewSimpleClientset(objects(true)...)
	kc := kube.NewFake(cs, nil)
	c, err := New(kc, cnpgConfig())
	if err != nil {
		t.Fatal(err)
	}
	ex, err := operators.Expose(ctx, kc, c, "r1", "")
	if err != nil {
		t.Fatal(err)
	}
	if ex.ReadWrite.String() != "pgchaos-pg-rw.db.svc:5432" || len(ex.Instances) != 3 || ex.Instances["pg-2"].Host != "pgchaos-pg-2.db.svc" {
		t.Fatalf("exposure %+v", ex)
	}
	rw, err := cs.CoreV1().Services("db").Get(ctx, "pgchaos-pg-rw", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rw.Spec.Selector["cnpg.io/instanceRole"] != "primary" || rw.Labels[operators.RunIDLabel] != "r1" || rw.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Fatalf("rw service %+v", rw)
	}
	// Exposing again (a second run) updates in place.
	if _, err := operators.Expose(ctx, kc, c, "r2", ""); err != nil {
		t.Fatal(err)
	}
	if err := operators.Unexpose(ctx, kc, ex); err != nil {
		t.Fatal(err)
	}
	left, _ := cs.CoreV1().Services("db").List(ctx, metav1.ListOptions{})
	if len(left.Items) != 1 { // the operator's own pg-rw
		t.Fatalf("%d services left", len(left.Items))
	}
}

// TestExposeSelectorlessService: a read-write Service without a selector
// (Patroni writes its endpoints) is used as it is: by its DNS name in the
// cluster, through its node port from outside, and refused with a reason
// when it has no node port; pgchaos never creates (nor deletes) a copy.
func TestExposeSelectorlessService(t *testing.T) {
	ctx := context.Background()
	objs := objects(true)
	for i, o := range objs {
		if s, ok := o.(*corev1.Service); ok && s.Name == "pg-rw" {
			s = s.DeepCopy()
			s.Spec.Selector = nil
			objs[i] = s
		}
	}
	cs := fake.NewSimpleClientset(objs...)
	// The fake API server allocates no node ports: this reactor does.
	next := int32(30000)
	cs.PrependReactor("create", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
		svc := a.(k8stesting.CreateAction).GetObject().(*corev1.Service)
		if svc.Spec.Type == corev1.ServiceTypeNodePort {
			for i := range svc.Spec.Ports {
				next++
				svc.Spec.Ports[i].NodePort = next
			}
		}
		return false, nil, nil
	})
	kc := kube.NewFake(cs, nil)
	c, err := New(kc, cnpgConfig())
	if err != nil {
		t.Fatal(err)
	}
	ex, err := operators.Expose(ctx, kc, c, "r1", "")
	if err != nil {
		t.Fatal(err)
	}
	if ex.ReadWrite.String() != "pg-rw.db.svc:5432" || ex.ReadWriteService != "db/pg-rw" {
		t.Fatalf("in cluster: %+v", ex)
	}
	for _, s := range ex.Services {
		if strings.HasSuffix(s, "-rw") {
			t.Errorf("a copy of the read-write Service was created: %s", s)
		}
	}
	if _, err := operators.Expose(ctx, kc, c, "r1", "172.18.0.2"); err == nil || !strings.Contains(err.Error(), "no node port") {
		t.Fatalf("outside, no node port: %v", err)
	}
	svc, _ := cs.CoreV1().Services("db").Get(ctx, "pg-rw", metav1.GetOptions{})
	svc.Spec.Type, svc.Spec.Ports[0].NodePort = corev1.ServiceTypeLoadBalancer, 31234
	if _, err := cs.CoreV1().Services("db").Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	ex, err = operators.Expose(ctx, kc, c, "r1", "172.18.0.2")
	if err != nil || ex.ReadWrite.String() != "172.18.0.2:31234" || ex.ReadWriteService != "db/pg-rw" {
		t.Fatalf("outside, node port: %+v %v", ex, err)
	}
	if err := operators.Unexpose(ctx, kc, ex); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Services("db").Get(ctx, "pg-rw", metav1.GetOptions{}); err != nil {
		t.Fatalf("the operator's Service was deleted: %v", err)
	}
}

// stsPod is a StatefulSet's pod, the way Zalando's operator runs them.
func stsPod(name string) *corev1.Pod {
	p := cnpgPod(name, "replica", true)
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "pg", UID: "u1"}}
	return p
}

// An operator that leaves its pods after the cluster's resource is gone:
// teardown removes the StatefulSet and the pods itself, with a short grace.
func TestAwaitPodsGoneRemovesWhatTheOperatorLeft(t *testing.T) {
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "pg", Namespace: "db"}}
	cs := fake.NewSimpleClientset(stsPod("pg-1"), stsPod("pg-2"), sts)
	c, err := New(kube.NewFake(cs, nil), cnpgConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.awaitPodsGone(ctx, 1500*time.Millisecond); err != nil {
		t.Fatalf("awaitPodsGone: %v", err)
	}
	var stsDeleted bool
	var podGraces []int64
	for _, a := range cs.Actions() {
		d, ok := a.(k8stesting.DeleteAction)
		if !ok {
			continue
		}
		switch a.GetResource().Resource {
		case "statefulsets":
			stsDeleted = stsDeleted || d.GetName() == "pg"
		case "pods":
			g := d.GetDeleteOptions().GracePeriodSeconds
			if g == nil {
				t.Fatalf("pod %s deleted without a grace period", d.GetName())
			}
			podGraces = append(podGraces, *g)
		}
	}
	if !stsDeleted {
		t.Error("the StatefulSet that owns the pods was not deleted: it would recreate them")
	}
	if len(podGraces) != 2 || podGraces[0] != 1 || podGraces[1] != 1 {
		t.Errorf("pod deletions' grace periods = %v, want [1 1]", podGraces)
	}
}

// An operator that removes its pods in time is left alone: nothing is
// deleted by teardown, though the pods were there when it began.
func TestAwaitPodsGoneLeavesAPromptOperatorAlone(t *testing.T) {
	cs := fake.NewSimpleClientset(stsPod("pg-1"))
	c, err := New(kube.NewFake(cs, nil), cnpgConfig())
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = cs.CoreV1().Pods("db").Delete(context.Background(), "pg-1", metav1.DeleteOptions{})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.awaitPodsGone(ctx, time.Minute); err != nil {
		t.Fatalf("awaitPodsGone: %v", err)
	}
	for _, a := range cs.Actions() {
		if a.GetVerb() == "delete" && a.GetResource().Resource == "statefulsets" {
			t.Error("teardown deleted the StatefulSet though the operator removed its pods in time")
		}
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
