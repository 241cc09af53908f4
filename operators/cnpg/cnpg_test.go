package cnpg

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/operators"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func manifest(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	objs, err := ReleaseManifest(ctx, DefaultVersion)
	if err != nil {
		t.Skipf("CloudNativePG's module is not available here: %v", err)
	}
	return objs
}

func TestPatchManifest(t *testing.T) {
	objs := manifest(t)
	if err := PatchManifest(objs, "pgchaos.local/cloudnative-pg:x", "run1"); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetLabels()[operators.RunIDLabel] != "run1" || o.GetLabels()[operators.OperatorLabel] != "cnpg" {
			t.Fatalf("%s %s lacks the run id label", o.GetKind(), o.GetName())
		}
		if o.GetKind() != "Deployment" {
			continue
		}
		cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		c := cs[0].(map[string]any)
		if c["image"] != "pgchaos.local/cloudnative-pg:x" || c["imagePullPolicy"] != "IfNotPresent" {
			t.Fatalf("container %v", c)
		}
		found := false
		for _, e := range c["env"].([]any) {
			if em := e.(map[string]any); em["name"] == "OPERATOR_IMAGE_NAME" {
				found = em["value"] == "pgchaos.local/cloudnative-pg:x"
			}
		}
		if !found {
			t.Fatal("OPERATOR_IMAGE_NAME not patched")
		}
	}
}

// TestClusterObjectMatchesCRD checks every field pgchaos sets against the
// Cluster CRD's schema in the same release: a renamed field fails here,
// not on a cluster.
func TestClusterObjectMatchesCRD(t *testing.T) {
	var schema map[string]any
	for _, o := range manifest(t) {
		if o.GetKind() == "CustomResourceDefinition" && o.GetName() == "clusters.postgresql.cnpg.io" {
			vs, _, _ := unstructured.NestedSlice(o.Object, "spec", "versions")
			schema, _, _ = unstructured.NestedMap(vs[0].(map[string]any), "schema", "openAPIV3Schema")
		}
	}
	if schema == nil {
		t.Fatal("no Cluster CRD in the manifest")
	}
	for _, sync := range []bool{false, true} {
		obj, err := ClusterObject(operators.ClusterSpec{
			Ref: operators.Ref{Namespace: "ns", Name: "pg"}, Instances: 3, Synchronous: sync,
			StorageClass: "standard", StorageSize: "1Gi", Image: "img:15", PullPolicy: corev1.PullIfNotPresent, RunID: "r",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkSchema(t, "", obj.Object["spec"], schema["properties"].(map[string]any)["spec"].(map[string]any))
		if sync {
			m, _, _ := unstructured.NestedMap(obj.Object, "spec", "postgresql", "synchronous")
			if m["method"] != "any" || m["number"] != int64(1) {
				t.Fatalf("synchronous %v", m)
			}
		}
		obj.DeepCopy() // panics on values unstructured cannot hold (e.g. int)
	}
}

func checkSchema(t *testing.T, path string, v any, s map[string]any) {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	props, _ := s["properties"].(map[string]any)
	addl, _ := s["additionalProperties"].(map[string]any)
	for k, sub := range m {
		var ss map[string]any
		switch {
		case props != nil && props[k] != nil:
			ss = props[k].(map[string]any)
		case addl != nil:
			ss = addl
		case s["x-kubernetes-preserve-unknown-fields"] == true:
			continue
		default:
			t.Errorf("spec%s.%s is not in the Cluster CRD", path, k)
			continue
		}
		checkSchema(t, path+"."+k, sub, ss)
	}
}

func TestClusterObjectRejectsBadSpec(t *testing.T) {
	_, err := ClusterObject(operators.ClusterSpec{Ref: operators.Ref{Namespace: "ns", Name: "pg"}, Instances: 1, Synchronous: true, StorageSize: "1Gi"})
	if err == nil || !strings.Contains(err.Error(), "synchronous") {
		t.Fatalf("want a synchronous error, got %v", err)
	}
}

func TestSetReadyFalse(t *testing.T) {
	now := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	conds := []any{map[string]any{"type": "Other", "status": "True"}, map[string]any{"type": "Ready", "status": "True", "lastTransitionTime": "x"}}
	out := setReadyFalse(conds, now)
	r := out[1].(map[string]any)
	if len(out) != 2 || r["status"] != "False" || r["lastTransitionTime"] != "2026-11-22T01:00:00Z" {
		t.Fatalf("%v", out)
	}
	if out := setReadyFalse(nil, now); len(out) != 1 {
		t.Fatalf("%v", out)
	}
}
