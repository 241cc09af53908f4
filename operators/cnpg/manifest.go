package cnpg

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/imagebuild"
	"github.com/pgchaos/pgchaos/operators/kube"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Module is CloudNativePG's Go module path.
const Module = "github.com/cloudnative-pg/cloudnative-pg"

// Names of objects in the release manifest.
const (
	OperatorNamespace  = "cnpg-system"
	OperatorDeployment = "cnpg-controller-manager"
)

// ModuleDir downloads CloudNativePG's module at version (without "v")
// through the Go module proxy and returns its directory in the module cache.
func ModuleDir(ctx context.Context, version string) (string, error) {
	return imagebuild.ModuleDir(ctx, Module, version)
}

// ReleaseManifest reads releases/cnpg-<version>.yaml from the module.
func ReleaseManifest(ctx context.Context, version string) ([]*unstructured.Unstructured, error) {
	dir, err := ModuleDir(ctx, version)
	if err != nil {
		return nil, err
	}
	return ManifestFile(filepath.Join(dir, "releases", "cnpg-"+version+".yaml"), version)
}

// ManifestFile reads a release manifest from a file (a copy of the one in
// the module, for hosts without the Go toolchain).
func ManifestFile(path, version string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the release manifest of CloudNativePG %s: %w", version, err)
	}
	objs, err := kube.DecodeManifest(data)
	if err != nil {
		return nil, fmt.Errorf("release manifest %s: %w", path, err)
	}
	return objs, nil
}

// PatchManifest edits the release manifest for pgchaos: every object is
// labelled with runID and as the cnpg operator's (operators.OperatorLabel); the operator Deployment's pull policy becomes
// IfNotPresent (the manifest says Always, which cannot work without a
// registry) and, when image is set, it runs image and gives it to the
// instances' bootstrap containers (OPERATOR_IMAGE_NAME).
func PatchManifest(objs []*unstructured.Unstructured, image, runID string) error {
	found := false
	for _, o := range objs {
		l := o.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[operators.OperatorLabel] = "cnpg"
		if runID != "" {
			l[operators.RunIDLabel] = runID
		}
		o.SetLabels(l)
		if o.GetKind() != "Deployment" || o.GetName() != OperatorDeployment {
			continue
		}
		found = true
		containers, _, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		if err != nil || len(containers) == 0 {
			return fmt.Errorf("deployment %s in the manifest: no containers (%v)", OperatorDeployment, err)
		}
		for i, c := range containers {
			m, ok := c.(map[string]any)
			if !ok {
				return fmt.Errorf("deployment %s: container %d is not an object", OperatorDeployment, i)
			}
			m["imagePullPolicy"] = "IfNotPresent"
			if image == "" {
				continue
			}
			m["image"] = image
			env, _ := m["env"].([]any)
			for _, e := range env {
				if em, ok := e.(map[string]any); ok && em["name"] == "OPERATOR_IMAGE_NAME" {
					em["value"] = image
				}
			}
		}
		if err := unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", "containers"); err != nil {
			return fmt.Errorf("deployment %s: %w", OperatorDeployment, err)
		}
	}
	if !found {
		return fmt.Errorf("the release manifest has no deployment %s/%s", OperatorNamespace, OperatorDeployment)
	}
	return nil
}
