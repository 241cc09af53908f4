package target

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// The Patroni target shipped in the repository loads and is valid.
func TestShippedTargetsLoad(t *testing.T) {
	wants := map[string][]string{
		"../../targets/patroni/target.yaml": {"StatefulSet/pg-sync", "Service/pg-sync", "Secret/pg-sync-app", "Secret/pg-sync-superuser", "ConfigMap/pg-sync-config"},
		"../../targets/repmgr/target.yaml":  {"StatefulSet/pg-sync", "Deployment/pg-sync-pgpool", "Service/pg-sync-pgpool", "Secret/pg-sync-app", "Secret/pg-sync-superuser", "ConfigMap/pg-sync-scripts"},
	}
	for f, want := range wants {
		tg, err := Load(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		a := NewAdapter(tg)
		op := a.New(operators.Options{}).(*Operator)
		a.images["postgres"] = "img:1"
		objs, err := op.objects(operators.ClusterSpec{Ref: operators.Ref{Namespace: "ns", Name: "pg-sync"}, Instances: 3,
			Synchronous: true, StorageSize: "1Gi", RunID: "r1"}, false)
		if err != nil {
			t.Fatalf("%s: manifests: %v", f, err)
		}
		var kinds []string
		for _, o := range objs {
			kinds = append(kinds, o.GetKind()+"/"+o.GetName())
			if o.GetNamespace() != "ns" || o.GetLabels()[operators.RunIDLabel] != "r1" {
				t.Errorf("%s: %s/%s in namespace %q with labels %v", f, o.GetKind(), o.GetName(), o.GetNamespace(), o.GetLabels())
			}
		}
		got := strings.Join(kinds, " ")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: objects %s lack %s", f, got, w)
			}
		}
		for _, o := range objs {
			if o.GetKind() == "ConfigMap" && o.GetName() == "pg-sync-config" {
				cfg, _ := o.Object["data"].(map[string]any)["patroni.yml"].(string)
				if !strings.Contains(cfg, "synchronous_mode: true") || !strings.Contains(cfg, "scope: pg-sync") {
					t.Errorf("%s: patroni.yml not expanded: %s", f, cfg)
				}
			}
			if o.GetKind() == "ConfigMap" && o.GetName() == "pg-sync-scripts" {
				sh, _ := o.Object["data"].(map[string]any)["postgres.sh"].(string)
				if !strings.Contains(sh, "ord=${POD_NAME##*-}") {
					t.Errorf("%s: the script's own ${...} was not unescaped", f)
				}
			}
			if o.GetKind() == "StatefulSet" {
				js, _ := o.MarshalJSON()
				if !strings.Contains(string(js), `"replicas":3`) || !strings.Contains(string(js), `"image":"img:1"`) {
					t.Errorf("%s: statefulset not expanded: %s", f, js)
				}
			}
		}
	}
}

const good = `apiVersion: pgchaos.io/v1
kind: Target
metadata: {name: demo}
spec:
  title: Demo
  version: "1"
  instances:
    selector: app=demo,cluster=${name}
    primary: role=primary
    dataDir: /data/pg
    volumePath: /data
  readWrite: {service: "${name}-rw"}
  credentials:
    app: {secret: "${name}-app"}
    superuser: {secret: "${name}-su", database: app}
`

// Each broken field is refused with a line naming it.
func TestParseRefusesWithTheField(t *testing.T) {
	if _, err := Parse([]byte(good)); err != nil {
		t.Fatalf("the good target: %v", err)
	}
	for _, c := range []struct{ from, to, want string }{
		{"primary: role=primary", "primary: role==,=", "spec.instances.primary"},
		{"selector: app=demo,cluster=${name}", "selector: app=demo,cluster=${nmae}", "${nmae}"},
		{"kind: Target", "kind: Cluster", "kind \"Cluster\""},
		{"apiVersion: pgchaos.io/v1", "apiVersion: v1", "apiVersion"},
		{"  title: Demo\n", "  title: Demo\n  colour: red\n", "colour"},
		{"readWrite: {service: \"${name}-rw\"}", "readWrite: {}", "spec.readWrite.service"},
		{"    superuser: {secret: \"${name}-su\", database: app}\n", "", "spec.credentials.superuser"},
		{"    dataDir: /data/pg\n", "    dataDir: pg\n", "data directory"},
		{"  version: \"1\"\n", "  version: \"1\"\n  synchronous: maybe\n", "spec.synchronous"},
		{"  version: \"1\"\n", "  version: \"1\"\n  images: {pg: {build: oracle}}\n", "spec.images.pg.build"},
		{"metadata: {name: demo}", "metadata: {name: Demo_1}", "metadata.name"},
	} {
		bad := strings.Replace(good, c.from, c.to, 1)
		if bad == good {
			t.Fatalf("edit %q did not apply", c.from)
		}
		_, err := Parse([]byte(bad))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q -> %q: %v, want an error naming %q", c.from, c.to, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: the error is not one line: %q", c.from, err)
		}
	}
}

// A manifest that is missing, or that uses an unknown variable, is refused.
func TestLoadChecksManifests(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "t.yaml")
	withManifest := strings.Replace(good, "  instances:\n", "  manifests: [m.yaml]\n  instances:\n", 1)
	if err := os.WriteFile(f, []byte(withManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(f); err == nil || !strings.Contains(err.Error(), "manifest m.yaml") {
		t.Fatalf("missing manifest: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "m.yaml"), []byte("apiVersion: v1\nkind: Service\nmetadata: {name: ${name}-${colour}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tg, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	op := NewAdapter(tg).New(operators.Options{}).(*Operator)
	if _, err := op.objects(operators.ClusterSpec{Ref: operators.Ref{Namespace: "ns", Name: "pg"}}, false); err == nil || !strings.Contains(err.Error(), "${colour}") {
		t.Fatalf("unknown variable in a manifest: %v", err)
	}
}

func demoPod(name, role string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: name,
		Labels: map[string]string{"app": "demo", "cluster": "pg", "role": role, "statefulset.kubernetes.io/pod-name": name}},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "postgres"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
}

func findings(fs []Finding) map[string][]Finding {
	m := map[string][]Finding{}
	for _, f := range fs {
		m[f.Field] = append(m[f.Field], f)
	}
	return m
}

// Check says, field by field, what it found: a selector matching nothing
// fails (with the selector and the namespace named); a cluster as described
// passes each field it can check.
func TestCheckFieldByField(t *testing.T) {
	tg, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	ref := operators.Ref{Namespace: "db", Name: "pg"}
	ready := true
	world := []runtimeObject{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "db"}},
		demoPod("pg-0", "primary"), demoPod("pg-1", "replica"),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "pg-rw"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "pg-rw-x", Labels: map[string]string{"kubernetes.io/service-name": "pg-rw"}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "pg-0"}}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "pg-app"}, Data: map[string][]byte{"username": nil, "password": nil, "dbname": nil}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "pg-su"}, Data: map[string][]byte{"username": nil, "password": nil}},
	}
	kc := kube.NewFake(fake.NewSimpleClientset(objs(world)...), nil)
	m := findings(Check(context.Background(), kc, tg, ref))
	for _, field := range []string{"spec.namespace", "spec.instances.selector", "spec.instances.primary", "spec.instances.replica",
		"spec.instances.container", "spec.readWrite.service", "spec.credentials.app", "spec.credentials.superuser"} {
		fs := m[field]
		if len(fs) == 0 {
			t.Errorf("no finding for %s", field)
		}
		for _, f := range fs {
			if !f.OK {
				t.Errorf("%s failed on a cluster as described: %s", field, f.Found)
			}
		}
	}
	// The data directory needs exec: not checked is not ok.
	for _, f := range m["spec.instances.dataDir"] {
		if f.OK {
			t.Errorf("dataDir passed without being checked: %s", f.Found)
		}
	}

	// Another cluster name: the selector finds nothing, the service and
	// the secrets are missing; each says so.
	m = findings(Check(context.Background(), kc, tg, operators.Ref{Namespace: "db", Name: "other"}))
	sel := m["spec.instances.selector"]
	if len(sel) != 1 || sel[0].OK || !strings.Contains(sel[0].Found, "app=demo,cluster=other matches no pod in db") {
		t.Errorf("selector finding %+v", sel)
	}
	for _, field := range []string{"spec.readWrite.service", "spec.credentials.app"} {
		if len(m[field]) == 0 || m[field][0].OK {
			t.Errorf("%s: %+v, want a failure", field, m[field])
		}
	}
	// The read-write Service routing to a replica fails.
	ready2 := true
	world[4] = &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "pg-rw-x", Labels: map[string]string{"kubernetes.io/service-name": "pg-rw"}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready2},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "pg-1"}}}}
	kc = kube.NewFake(fake.NewSimpleClientset(objs(world)...), nil)
	m = findings(Check(context.Background(), kc, tg, ref))
	if rw := m["spec.readWrite.service"]; len(rw) == 0 || rw[0].OK || !strings.Contains(rw[0].Found, "the primary is pg-0") {
		t.Errorf("a Service routing to a replica: %+v", rw)
	}
	// Routing to no instance at all is a proxy (Pgpool-II): fine.
	world[4] = &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "pg-rw-x", Labels: map[string]string{"kubernetes.io/service-name": "pg-rw"}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.9"}, Conditions: discoveryv1.EndpointConditions{Ready: &ready2},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "pgpool-1"}}}}
	kc = kube.NewFake(fake.NewSimpleClientset(objs(world)...), nil)
	m = findings(Check(context.Background(), kc, tg, ref))
	if rw := m["spec.readWrite.service"]; len(rw) == 0 || !rw[0].OK || !strings.Contains(rw[0].Found, "a proxy") {
		t.Errorf("a Service routing to a proxy: %+v", rw)
	}
}

type runtimeObject = interface{ GetName() string }

func objs(in []runtimeObject) []runtime.Object {
	var out []runtime.Object
	for _, o := range in {
		out = append(out, o.(runtime.Object))
	}
	return out
}

func TestExpandEscapes(t *testing.T) {
	got := Expand("a=${name} b=$${POD##*-} c=${nope}", map[string]string{"name": "pg"})
	if got != "a=pg b=${POD##*-} c=${nope}" {
		t.Errorf("Expand = %q", got)
	}
	if err := checkVars("x=$${POD##*-}", map[string]bool{}); err != nil {
		t.Errorf("an escaped ${...} was refused: %v", err)
	}
	if err := checkVars("x=${POD}", map[string]bool{}); err == nil {
		t.Error("an unknown variable was accepted")
	}
}
