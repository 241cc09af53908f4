package cnpg

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/generic"
	"github.com/pgchaos/pgchaos/operators/kube"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
)

// CloudNativePG's labels and values (pkg/utils/labels_annotations.go, pkg/specs/pods.go).
const (
	LabelCluster      = "cnpg.io/cluster"
	LabelPodRole      = "cnpg.io/podRole"
	LabelInstanceName = "cnpg.io/instanceName"
	LabelInstanceRole = "cnpg.io/instanceRole"
	// PhaseHealthy and PhaseSwitchover are status.phase values (api/v1/cluster_types.go).
	PhaseHealthy    = "Cluster in healthy state"
	PhaseSwitchover = "Switchover in progress"
	// Container is the PostgreSQL container of an instance pod.
	Container = "postgres"
	// DataDir is $PGDATA in an instance's container (pkg/specs/pods.go),
	// on the volume mounted at VolumePath.
	DataDir    = "/var/lib/postgresql/data/pgdata"
	VolumePath = "/var/lib/postgresql/data"
)

// Operator is the CloudNativePG adapter.
type Operator struct {
	opts operators.Options
}

var (
	_ operators.Operator   = (*Operator)(nil)
	_ operators.Cluster    = (*Cluster)(nil)
	_ operators.Switchover = (*Cluster)(nil)
)

// New returns the adapter's Operator.
func New(opts operators.Options) *Operator {
	return &Operator{opts: opts.WithDefaults(DefaultVersion)}
}

// Name is "cnpg".
func (o *Operator) Name() string { return "cnpg" }

// Install applies the release manifest (server-side), CRDs first, and waits
// until the operator's Deployment is available.
func (o *Operator) Install(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.opts.InstallTimeout)
	defer cancel()
	var objs []*unstructured.Unstructured
	var err error
	if o.opts.Manifest != "" {
		objs, err = ManifestFile(o.opts.Manifest, o.opts.Version)
	} else {
		objs, err = ReleaseManifest(ctx, o.opts.Version)
	}
	if err != nil {
		return err
	}
	if err := PatchManifest(objs, o.opts.OperatorImage, o.opts.RunID); err != nil {
		return err
	}
	kc := o.opts.Kube
	var crds []string
	for _, ob := range objs {
		if ob.GetKind() == "Namespace" || ob.GetKind() == "CustomResourceDefinition" {
			if err := kc.Apply(ctx, ob); err != nil {
				return fmt.Errorf("installing CloudNativePG %s: %w", o.opts.Version, err)
			}
			if ob.GetKind() == "CustomResourceDefinition" {
				crds = append(crds, ob.GetName())
			}
		}
	}
	for _, n := range crds {
		if err := kc.WaitCRDEstablished(ctx, n); err != nil {
			return fmt.Errorf("installing CloudNativePG %s: %w", o.opts.Version, err)
		}
	}
	for _, ob := range objs {
		if ob.GetKind() == "Namespace" || ob.GetKind() == "CustomResourceDefinition" {
			continue
		}
		if err := kc.Apply(ctx, ob); err != nil {
			return fmt.Errorf("installing CloudNativePG %s: %w", o.opts.Version, err)
		}
	}
	if err := kc.WaitDeploymentAvailable(ctx, OperatorNamespace, OperatorDeployment); err != nil {
		return fmt.Errorf("installing CloudNativePG %s: %w", o.opts.Version, err)
	}
	return nil
}

// Create applies the Cluster object. The operator's admission webhook may
// refuse calls for a few seconds after the operator starts: such refusals
// are retried for up to a minute.
func (o *Operator) Create(ctx context.Context, spec operators.ClusterSpec) (operators.Cluster, error) {
	obj, err := ClusterObject(spec)
	if err != nil {
		return nil, err
	}
	if err := o.opts.Kube.EnsureNamespace(ctx, spec.Namespace, map[string]string{operators.RunIDLabel: spec.RunID, operators.AllowChaosLabel: "true"}); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		err = o.opts.Kube.Apply(ctx, obj)
		if err == nil || !strings.Contains(err.Error(), "webhook") || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("creating cluster %s: %w (last: %v)", spec.Ref, ctx.Err(), err)
		case <-time.After(2 * time.Second):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("creating cluster %s: %w", spec.Ref, err)
	}
	return o.Open(spec.Ref), nil
}

// Open returns the cluster named ref.
func (o *Operator) Open(ref operators.Ref) operators.Cluster { return o.open(ref) }

func (o *Operator) open(ref operators.Ref) *Cluster {
	g, err := generic.New(o.opts.Kube, GenericConfig(ref))
	if err != nil {
		panic(fmt.Sprintf("cnpg: the built-in generic config is invalid: %v", err)) // a bug, not input
	}
	return &Cluster{Cluster: g, kc: o.opts.Kube, ref: ref, readyTimeout: o.opts.ReadyTimeout}
}

// GenericConfig describes CloudNativePG's objects for the generic adapter.
func GenericConfig(ref operators.Ref) generic.Config {
	return generic.Config{
		Ref:              ref,
		Instances:        LabelCluster + "=" + ref.Name + "," + LabelPodRole + "=instance",
		Primary:          LabelInstanceRole + "=primary",
		Replica:          LabelInstanceRole + "=replica",
		InstanceLabel:    LabelInstanceName,
		ReadWriteService: ref.Name + "-rw",
		Container:        Container,
		Layout:           operators.Layout{DataDir: DataDir, VolumePath: VolumePath, Port: 5432},
		App:              generic.Secret{Name: ref.Name + "-app"},
		Superuser:        generic.Secret{Name: ref.Name + "-superuser", Database: "app"},
	}
}

// Delete deletes the Cluster and waits until its instance pods are gone.
func (o *Operator) Delete(ctx context.Context, ref operators.Ref) error {
	return o.open(ref).DeleteResource(ctx, ClusterGVK)
}

// Cluster is a CloudNativePG cluster: the generic label-based view plus the
// Cluster resource's status.
type Cluster struct {
	*generic.Cluster
	kc           *kube.Client
	ref          operators.Ref
	readyTimeout time.Duration
}

// Status is the part of a Cluster's status pgchaos reads.
type Status struct {
	Phase          string `json:"phase"`
	PhaseReason    string `json:"phaseReason"`
	Instances      int    `json:"instances"`
	ReadyInstances int    `json:"readyInstances"`
	CurrentPrimary string `json:"currentPrimary"`
	TargetPrimary  string `json:"targetPrimary"`
	// TimelineID is the primary's timeline as the operator last saw it.
	TimelineID int `json:"timelineID"`
}

// Get reads the Cluster resource.
func (c *Cluster) Get(ctx context.Context) (*unstructured.Unstructured, error) {
	ri, err := c.kc.Resource(ClusterGVK, c.ref.Namespace)
	if err != nil {
		return nil, fmt.Errorf("reading cluster %s: %w", c.ref, err)
	}
	u, err := ri.Get(ctx, c.ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading cluster %s: %w", c.ref, err)
	}
	return u, nil
}

// Status reads the Cluster's status.
func (c *Cluster) Status(ctx context.Context) (Status, error) {
	u, err := c.Get(ctx)
	if err != nil {
		return Status{}, err
	}
	var st Status
	raw, _, _ := unstructured.NestedMap(u.Object, "status")
	data, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(data, &st)
	}
	if err != nil {
		return Status{}, fmt.Errorf("decoding status of cluster %s: %w", c.ref, err)
	}
	return st, nil
}

// WaitReady waits until the operator reports the cluster healthy with every
// instance ready, and the read-write Service routes to the primary.
func (c *Cluster) WaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.readyTimeout)
	defer cancel()
	return kube.Poll(ctx, time.Second, "cluster "+c.ref.String()+" healthy", func(ctx context.Context) (bool, string, error) {
		u, err := c.Get(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		st, err := c.Status(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		want, _, _ := unstructured.NestedInt64(u.Object, "spec", "instances")
		if st.Phase != PhaseHealthy || int64(st.ReadyInstances) != want {
			return false, fmt.Sprintf("phase %q, %d/%d instances ready", st.Phase, st.ReadyInstances, want), nil
		}
		return c.Cluster.ReadyNow(ctx)
	})
}

// Switchover asks CloudNativePG to promote instance, the way its kubectl
// plugin's `promote` does: status.targetPrimary set to the instance, the
// phase set to "Switchover in progress" and the Ready condition to False,
// in one status patch guarded by the resourceVersion (optimistic lock).
func (c *Cluster) Switchover(ctx context.Context, instance string) error {
	ri, err := c.kc.Resource(ClusterGVK, c.ref.Namespace)
	if err != nil {
		return fmt.Errorf("switchover of %s to %s: %w", c.ref, instance, err)
	}
	if _, err := c.kc.CS.CoreV1().Pods(c.ref.Namespace).Get(ctx, instance, metav1.GetOptions{}); err != nil {
		return fmt.Errorf("switchover of %s: instance %s: %w", c.ref, instance, err)
	}
	err = retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		u, err := ri.Get(ctx, c.ref.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if t, _, _ := unstructured.NestedString(u.Object, "status", "targetPrimary"); t == instance {
			return fmt.Errorf("%s is already the target primary", instance)
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		conds = setReadyFalse(conds, time.Now())
		patch := map[string]any{
			"metadata": map[string]any{"resourceVersion": u.GetResourceVersion()},
			"status": map[string]any{
				"targetPrimary":          instance,
				"targetPrimaryTimestamp": time.Now().Format(metav1.RFC3339Micro),
				"phase":                  PhaseSwitchover,
				"phaseReason":            "Switching over to " + instance,
				"conditions":             conds,
			},
		}
		data, err := json.Marshal(patch)
		if err != nil {
			return err
		}
		_, err = ri.Patch(ctx, c.ref.Name, types.MergePatchType, data, metav1.PatchOptions{FieldManager: kube.FieldManager}, "status")
		return err
	})
	if err != nil {
		return fmt.Errorf("switchover of %s to %s: %w", c.ref, instance, err)
	}
	return nil
}

// setReadyFalse sets the Ready condition to False (as the plugin's
// SetClusterReadyCondition does for any phase but healthy).
func setReadyFalse(conds []any, now time.Time) []any {
	ready := map[string]any{
		"type": "Ready", "status": "False", "reason": "ClusterIsNotReady", "message": "Cluster Is Not Ready",
		"lastTransitionTime": now.UTC().Format(time.RFC3339),
	}
	for i, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Ready" {
			if m["status"] == "False" {
				ready["lastTransitionTime"] = m["lastTransitionTime"]
			}
			conds[i] = ready
			return conds
		}
	}
	return append(conds, ready)
}
