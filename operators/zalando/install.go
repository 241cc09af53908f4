package zalando

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/imagebuild"
	"github.com/pgchaos/pgchaos/operators/kube"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Module is the operator's Go module path.
const Module = "github.com/zalando/postgres-operator"

// Where pgchaos installs the operator.
const (
	OperatorNamespace  = "postgres-operator"
	OperatorDeployment = "postgres-operator"
)

// manifestFiles are the plain-YAML install of manifests/kustomization.yaml
// (without the optional API Service), the CRD first so that clusters can
// be created before the operator registers it.
var manifestFiles = []string{"postgresql.crd.yaml", "operator-service-account-rbac.yaml", "configmap.yaml", "postgres-operator.yaml"}

// ConfigOverrides are the operator settings pgchaos changes from the
// module's manifests/configmap.yaml, and why. Everything else is upstream's.
func ConfigOverrides(postgresImage string) map[string]string {
	c := map[string]string{
		// No Zalando teams API here (it needs an OAuth token).
		"enable_teams_api": "false",
		// Users get no ADMIN "admin": Spilo's post_init creates that role,
		// pgchaos's image does not.
		"enable_admin_role_for_users": "false",
		// The master Service gets a node port (a LoadBalancer Service, whose
		// external address stays pending on kind): pgchaos reaches the
		// primary through the operator's own Service, endpoints by Patroni.
		"enable_master_load_balancer":  "true",
		"enable_replica_load_balancer": "false",
		// Pods are Ready when Patroni says so (GET /readiness), not when
		// their container starts.
		"enable_readiness_probe": "true",
		// Spilo's user and group, which pgchaos's image uses too.
		"spilo_runasuser":  strconv.Itoa(PostgresUID),
		"spilo_runasgroup": strconv.Itoa(PostgresGID),
		"spilo_fsgroup":    strconv.Itoa(PostgresGID),
		// Small machines: no minimum limits above what the cluster asks for.
		"min_cpu_limit":    "",
		"min_memory_limit": "",
		// Never an in-place major upgrade (Spilo's script is not in the image).
		"major_version_upgrade_mode": "off",
		// Every object the operator makes for a cluster carries the run id.
		"inherited_labels":  operators.RunIDLabel,
		"watched_namespace": "*",
	}
	if postgresImage != "" {
		c["docker_image"] = postgresImage
	}
	return c
}

// Manifest reads the install manifests from the module (or from dir when
// set: a copy of the module's manifests/ folder) and patches them for
// pgchaos: the operator's namespace, its image with IfNotPresent, the
// ConfigMap's overrides, and the run and operator labels on everything.
func Manifest(ctx context.Context, opts operators.Options, dir string) ([]*unstructured.Unstructured, error) {
	if dir == "" {
		mod, err := imagebuild.ModuleDir(ctx, Module, opts.Version)
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(mod, "manifests")
	}
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": OperatorNamespace}}}
	objs := []*unstructured.Unstructured{ns}
	for _, f := range manifestFiles {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, fmt.Errorf("reading manifest %s of the operator: %w", f, err)
		}
		o, err := kube.DecodeManifest(data)
		if err != nil {
			return nil, fmt.Errorf("manifest %s of the operator: %w", f, err)
		}
		objs = append(objs, o...)
	}
	return objs, PatchManifest(objs, opts)
}

// PatchManifest edits the decoded manifests in place (see Manifest).
func PatchManifest(objs []*unstructured.Unstructured, opts operators.Options) error {
	var dep, cm bool
	for _, o := range objs {
		l := o.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[operators.OperatorLabel] = "zalando"
		if opts.RunID != "" {
			l[operators.RunIDLabel] = opts.RunID
		}
		o.SetLabels(l)
		switch o.GetKind() {
		case "ServiceAccount", "ConfigMap", "Deployment", "Service":
			o.SetNamespace(OperatorNamespace)
		case "ClusterRoleBinding":
			subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
			for _, s := range subjects {
				if m, ok := s.(map[string]any); ok && m["kind"] == "ServiceAccount" {
					m["namespace"] = OperatorNamespace
				}
			}
			if err := unstructured.SetNestedSlice(o.Object, subjects, "subjects"); err != nil {
				return fmt.Errorf("cluster role binding %s: %w", o.GetName(), err)
			}
		}
		switch {
		case o.GetKind() == "ConfigMap" && o.GetName() == "postgres-operator":
			cm = true
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			if data == nil {
				data = map[string]string{}
			}
			for k, v := range ConfigOverrides(opts.PostgresImage) {
				data[k] = v
			}
			if err := unstructured.SetNestedStringMap(o.Object, data, "data"); err != nil {
				return fmt.Errorf("config map %s: %w", o.GetName(), err)
			}
		case o.GetKind() == "Deployment" && o.GetName() == OperatorDeployment:
			dep = true
			containers, _, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			if err != nil || len(containers) == 0 {
				return fmt.Errorf("deployment %s in the manifest: no containers (%v)", OperatorDeployment, err)
			}
			for _, c := range containers {
				m, ok := c.(map[string]any)
				if !ok {
					return fmt.Errorf("deployment %s: a container is not an object", OperatorDeployment)
				}
				m["imagePullPolicy"] = "IfNotPresent"
				if opts.OperatorImage != "" {
					m["image"] = opts.OperatorImage
				}
			}
			if err := unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", "containers"); err != nil {
				return fmt.Errorf("deployment %s: %w", OperatorDeployment, err)
			}
		}
	}
	if !dep || !cm {
		return fmt.Errorf("the operator's manifests lack the operator's deployment or config map (deployment %v, config map %v)", dep, cm)
	}
	return nil
}
