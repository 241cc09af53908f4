package cnpg

import (
	"context"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/imagebuild"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Adapter is CloudNativePG's entry in the registry.
type Adapter struct{}

var _ operators.Adapter = Adapter{}

// Name is "cnpg".
func (Adapter) Name() string { return "cnpg" }

// Title is "CloudNativePG".
func (Adapter) Title() string { return "CloudNativePG" }

// DefaultVersion is DefaultVersion.
func (Adapter) DefaultVersion() string { return DefaultVersion }

// Versions are the releases whose modules the proxy serves and which build
// here (ENVIRONMENT.md), the default first.
func (Adapter) Versions() []string { return []string{DefaultVersion, "1.25.1", "1.28.0"} }

// VersionKey is "cloudnative-pg".
func (Adapter) VersionKey() string { return "cloudnative-pg" }

// CheckVersion accepts a release number of the form 1.N.M; whether its
// module is served is found when the images are built.
func (a Adapter) CheckVersion(v string) error {
	return operators.CheckRelease("CloudNativePG", v, a.Versions())
}

// Available checks the tools BuildImages runs.
func (Adapter) Available(context.Context) error { return imagebuild.CheckTools(buildTools...) }

// BuildImages is BuildImages.
func (Adapter) BuildImages(ctx context.Context, opts operators.ImageOptions) (operators.Images, error) {
	return BuildImages(ctx, opts)
}

// New is New.
func (Adapter) New(opts operators.Options) operators.Operator { return New(opts) }

// Deployment is the controller manager in cnpg-system.
func (Adapter) Deployment() operators.Ref {
	return operators.Ref{Namespace: OperatorNamespace, Name: OperatorDeployment}
}

// ClusterKinds is the Cluster kind.
func (Adapter) ClusterKinds() []schema.GroupVersionKind { return []schema.GroupVersionKind{ClusterGVK} }

// Settings are CloudNativePG's defaults that govern failover, as installed
// (pgchaos does not change them): the Cluster's failoverDelay,
// switchoverDelay and stopDelay (api/v1/cluster_types.go), and that the
// operator itself, not the instances, decides a failover.
func (Adapter) Settings(operators.Options) map[string]string {
	return map[string]string{
		"failover_decided_by":  "the operator (instance manager reports, operator promotes)",
		"failoverDelay":        "0s",
		"switchoverDelay":      "3600s",
		"stopDelay":            "1800s",
		"smartShutdownTimeout": "180s",
		"synchronous":          "quorum ANY 1, data durability required",
	}
}
