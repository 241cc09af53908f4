package zalando

import (
	"context"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/operators"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestClusterObject(t *testing.T) {
	spec := operators.ClusterSpec{Ref: operators.Ref{Namespace: "pgchaos", Name: "pg-sync"}, Instances: 3, Synchronous: true,
		StorageSize: "1Gi", StorageClass: "pgchaos-iofs", Image: "pgchaos.local/patroni-spilo:15-x", RunID: "r1"}
	u, err := ClusterObject(spec)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path ...string) any {
		v, _, _ := unstructured.NestedFieldNoCopy(u.Object, path...)
		return v
	}
	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"spec", "numberOfInstances"}, int64(3)},
		{[]string{"spec", "teamId"}, "pgchaos"},
		{[]string{"spec", "volume", "storageClass"}, "pgchaos-iofs"},
		{[]string{"spec", "dockerImage"}, "pgchaos.local/patroni-spilo:15-x"},
		{[]string{"spec", "patroni", "synchronous_mode"}, true},
		{[]string{"spec", "patroni", "synchronous_mode_strict"}, true},
		{[]string{"spec", "patroni", "synchronous_node_count"}, int64(1)},
		{[]string{"spec", "databases", "app"}, "app"},
		{[]string{"metadata", "labels", operators.RunIDLabel}, "r1"},
	} {
		if got := get(c.path...); got != c.want {
			t.Errorf("%s = %v, want %v", strings.Join(c.path, "."), got, c.want)
		}
	}
	spec.Synchronous = false
	u, _ = ClusterObject(spec)
	if get("spec", "patroni", "synchronous_mode") != false || get("spec", "patroni", "synchronous_node_count") != int64(1) {
		t.Errorf("async: %v", get("spec", "patroni"))
	}
	spec.Name = strings.Repeat("a", 59)
	if _, err := ClusterObject(spec); err == nil || !strings.Contains(err.Error(), "58") {
		t.Errorf("long name: %v", err)
	}
}

// TestManifestFromModule patches the module's own manifests: the operator
// runs pgchaos's image in its namespace, its ServiceAccount is bound there,
// and the ConfigMap carries every override.
func TestManifestFromModule(t *testing.T) {
	objs, err := Manifest(context.Background(), operators.Options{Version: DefaultVersion, OperatorImage: "op:1", PostgresImage: "pg:1", RunID: "r9"}, "")
	if err != nil {
		t.Fatalf("reading the module's manifests (the Go module proxy must serve %s@v%s): %v", Module, DefaultVersion, err)
	}
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
		if o.GetLabels()[operators.RunIDLabel] != "r9" || o.GetLabels()[operators.OperatorLabel] != "zalando" {
			t.Errorf("%s %s: labels %v", o.GetKind(), o.GetName(), o.GetLabels())
		}
		switch o.GetKind() {
		case "ConfigMap":
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			for k, v := range ConfigOverrides("pg:1") {
				if data[k] != v {
					t.Errorf("config %s = %q, want %q", k, data[k], v)
				}
			}
			if o.GetNamespace() != OperatorNamespace {
				t.Errorf("config map in %q", o.GetNamespace())
			}
		case "Deployment":
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			c := cs[0].(map[string]any)
			if c["image"] != "op:1" || c["imagePullPolicy"] != "IfNotPresent" || o.GetNamespace() != OperatorNamespace {
				t.Errorf("deployment %s: image %v pull %v in %q", o.GetName(), c["image"], c["imagePullPolicy"], o.GetNamespace())
			}
		case "ClusterRoleBinding":
			subs, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			for _, s := range subs {
				if m := s.(map[string]any); m["kind"] == "ServiceAccount" && m["namespace"] != OperatorNamespace {
					t.Errorf("binding %s: subject in %v", o.GetName(), m["namespace"])
				}
			}
		}
	}
	for _, k := range []string{"Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in %v", k, kinds)
		}
	}
	if kinds["ClusterRole"] < 2 {
		t.Errorf("want the operator's and the pods' (postgres-pod) cluster roles: %v", kinds)
	}
}

func TestGenericConfigValid(t *testing.T) {
	cfg := GenericConfig(operators.Ref{Namespace: "pgchaos", Name: "pg-async"})
	if err := cfg.Layout.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.App.Name != "app.pg-async.credentials.postgresql.acid.zalan.do" || cfg.ReadWriteService != "pg-async" {
		t.Errorf("config %+v", cfg)
	}
}

func TestCandidates(t *testing.T) {
	async := []PatroniMember{{Name: "a-0", Role: "leader"}, {Name: "a-1", Role: "replica"}, {Name: "a-2", Role: "replica"}}
	if got := candidates(async); strings.Join(got, ",") != "a-1,a-2" {
		t.Errorf("async: %v", got)
	}
	sync := []PatroniMember{{Name: "s-0", Role: "replica"}, {Name: "s-1", Role: "leader"}, {Name: "s-2", Role: "sync_standby"}}
	if got := candidates(sync); strings.Join(got, ",") != "s-2" {
		t.Errorf("sync: %v", got)
	}
	if got := candidates([]PatroniMember{{Name: "x", Role: "leader"}}); len(got) != 0 {
		t.Errorf("no replica: %v", got)
	}
}
