package zalando

import (
	"context"
	"time"

	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/imagebuild"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Adapter is Zalando's operator's entry in the registry.
type Adapter struct{}

var _ operators.Adapter = Adapter{}

// Name is "zalando".
func (Adapter) Name() string { return "zalando" }

// Title names the operator and the image.
func (Adapter) Title() string { return "Zalando postgres-operator (pgchaos's Patroni 3.0.2 image)" }

// DefaultVersion is DefaultVersion.
func (Adapter) DefaultVersion() string { return DefaultVersion }

// Versions are the releases known to be served and to build here.
func (Adapter) Versions() []string { return []string{DefaultVersion, "1.14.0"} }

// VersionKey is "postgres-operator".
func (Adapter) VersionKey() string { return "postgres-operator" }

// CheckVersion accepts a release number 1.N.M.
func (a Adapter) CheckVersion(v string) error {
	return operators.CheckRelease("postgres-operator", v, a.Versions())
}

// Available checks the tools BuildImages runs.
func (Adapter) Available(context.Context) error { return imagebuild.CheckTools(buildTools...) }

// BuildImages is BuildImages.
func (Adapter) BuildImages(ctx context.Context, opts operators.ImageOptions) (operators.Images, error) {
	return BuildImages(ctx, opts)
}

// New is New.
func (Adapter) New(opts operators.Options) operators.Operator { return New(opts) }

// Deployment is the operator's Deployment.
func (Adapter) Deployment() operators.Ref {
	return operators.Ref{Namespace: OperatorNamespace, Name: OperatorDeployment}
}

// ClusterKinds is the postgresql kind.
func (Adapter) ClusterKinds() []schema.GroupVersionKind { return []schema.GroupVersionKind{ClusterGVK} }

// Settings are what decides failover timing here: Patroni's leader-lock
// TTL, loop and retry timeouts (the image's DCS defaults, which the
// manifest does not change), the pods' grace period (upstream's), and that
// the members, not the operator, elect a leader.
func (Adapter) Settings(operators.Options) map[string]string {
	return map[string]string{
		"failover_decided_by":        "Patroni members (leader lock in Endpoints), not the operator",
		"patroni_ttl":                "30s",
		"patroni_loop_wait":          "10s",
		"patroni_retry_timeout":      "10s",
		"pod_terminate_grace_period": "5m (upstream default)",
		"synchronous":                "synchronous_mode + synchronous_mode_strict, 1 standby",
	}
}

// syncStandbyStall bounds the stall of synchronous commits when Patroni's
// one synchronous standby is lost: its next HA loop (loop_wait 10 s) names
// another, plus a margin for the loop's own work.
const syncStandbyStall = 15 * time.Second

// ExpectOverrides documents where this stack is held to other
// expectations than the table's.
func (Adapter) ExpectOverrides() []operators.ExpectOverride {
	reason := "Patroni 3.0.2's synchronous_mode (strict, synchronous_node_count 1) names ONE synchronous standby, " +
		"not a quorum: when a replica that is that standby is lost, commits wait until Patroni's next HA loop " +
		"(loop_wait 10s) names another, so writes may stall up to " + syncStandbyStall.String() + ", not 5s " +
		"(measured 2026-12-03: 7.9s on replica-postmaster-kill, 6.5s on sync-standby-isolate; quorum commit came with Patroni 4.0's synchronous_mode: quorum)"
	widen := func(x history.Expect) history.Expect {
		if x.MaxWindow > 0 && x.MaxWindow < syncStandbyStall {
			x.MaxWindow = syncStandbyStall
		}
		return x
	}
	var out []operators.ExpectOverride
	for _, f := range []string{"replica-pod-delete", "replica-postmaster-kill", "replica-pod-restart", "replica-isolate",
		"sync-standby-pod-delete", "sync-standby-isolate"} {
		out = append(out, operators.ExpectOverride{Fault: f, Mode: "sync", Adjust: widen, Reason: reason})
	}
	return out
}

var _ operators.ExpectOverrider = Adapter{}
