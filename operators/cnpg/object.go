package cnpg

import (
	"fmt"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/generic"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ClusterGVK is CloudNativePG's Cluster kind.
var ClusterGVK = schema.GroupVersionKind{Group: "postgresql.cnpg.io", Version: "v1", Kind: "Cluster"}

// ClusterObject builds the Cluster resource for spec. Synchronous means
// quorum replication, ANY 1 of the standbys, with required durability
// (writes wait rather than degrade to asynchronous). The superuser is
// enabled: the monitor and the final read need it. inheritedMetadata carries
// the run id onto every pod, PVC and Service the operator creates.
func ClusterObject(spec operators.ClusterSpec) (*unstructured.Unstructured, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	s := map[string]any{
		"instances":             int64(spec.Instances),
		"enableSuperuserAccess": true,
		"storage":               map[string]any{"size": spec.StorageSize},
	}
	if spec.StorageClass != "" {
		s["storage"].(map[string]any)["storageClass"] = spec.StorageClass
	}
	if spec.Image != "" {
		s["imageName"] = spec.Image
	}
	if spec.PullPolicy != "" {
		s["imagePullPolicy"] = string(spec.PullPolicy)
	}
	if spec.RunID != "" {
		s["inheritedMetadata"] = map[string]any{"labels": map[string]any{operators.RunIDLabel: spec.RunID}}
	}
	if spec.Synchronous {
		s["postgresql"] = map[string]any{"synchronous": map[string]any{
			"method": "any", "number": int64(1), "dataDurability": "required",
		}}
	}
	if r, err := generic.Resources(spec.Resources); err != nil {
		return nil, fmt.Errorf("cluster %s: resources: %w", spec.Ref, err)
	} else if r != nil {
		s["resources"] = r
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": s}}
	u.SetGroupVersionKind(ClusterGVK)
	u.SetName(spec.Name)
	u.SetNamespace(spec.Namespace)
	if spec.RunID != "" {
		u.SetLabels(map[string]string{operators.RunIDLabel: spec.RunID})
	}
	return u, nil
}
