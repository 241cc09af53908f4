package chaosmesh

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pgchaos/pgchaos/operators"
)

// ControllerDeployment is the name of Chaos Mesh's controller deployment
// (the Helm chart's, in any namespace).
const ControllerDeployment = "chaos-controller-manager"

// ErrUnavailable marks the errors of Available: Chaos Mesh cannot act on
// this cluster (as opposed to a failure to find out).
var ErrUnavailable = errors.New("chaos mesh unavailable")

// CRDs are the names of the CustomResourceDefinitions this backend creates
// objects of.
func CRDs() []string {
	return []string{"podchaos.chaos-mesh.org", "networkchaos.chaos-mesh.org", "iochaos.chaos-mesh.org"}
}

// Scheme returns a scheme with Kubernetes' built-in types, CRDs and Chaos
// Mesh's v1alpha1 types.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for name, add := range map[string]func(*runtime.Scheme) error{
		"kubernetes":              clientgoscheme.AddToScheme,
		"apiextensions/v1":        apiextensionsv1.AddToScheme,
		"chaos-mesh.org/v1alpha1": v1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("adding %s types to the scheme: %w", name, err)
		}
	}
	return s, nil
}

// Client creates, watches and deletes Chaos Mesh objects on one cluster.
type Client struct {
	c client.Client
	// Poll is the interval of WaitInjected and Delete's wait.
	Poll time.Duration
}

// New builds a Client for the cluster cfg reaches.
func New(cfg *rest.Config) (*Client, error) {
	s, err := Scheme()
	if err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return nil, fmt.Errorf("chaos mesh client for %s: %w", cfg.Host, err)
	}
	return NewWithClient(c), nil
}

// NewWithClient wraps a controller-runtime client whose scheme has Scheme's
// types (a fake one in tests).
func NewWithClient(c client.Client) *Client {
	return &Client{c: c, Poll: time.Second}
}

// Available returns nil when Chaos Mesh can act on the cluster: its CRDs
// exist and a chaos-controller-manager deployment has a ready replica.
// Otherwise the error wraps ErrUnavailable and says why; other errors mean
// the cluster could not be asked.
func (c *Client) Available(ctx context.Context) error {
	for _, name := range CRDs() {
		var crd apiextensionsv1.CustomResourceDefinition
		err := c.c.Get(ctx, client.ObjectKey{Name: name}, &crd)
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("%w: Chaos Mesh CRDs not installed (no %s)", ErrUnavailable, name)
		}
		if err != nil {
			return fmt.Errorf("getting CRD %s: %w", name, err)
		}
	}
	var deps appsv1.DeploymentList
	if err := c.c.List(ctx, &deps); err != nil {
		return fmt.Errorf("listing deployments for %s: %w", ControllerDeployment, err)
	}
	found := ""
	for _, d := range deps.Items {
		if d.Name != ControllerDeployment {
			continue
		}
		if d.Status.ReadyReplicas > 0 {
			return nil
		}
		found = fmt.Sprintf(" (%s/%s has no ready replica)", d.Namespace, d.Name)
	}
	return fmt.Errorf("%w: CRDs installed but no controller running: objects would never take effect%s",
		ErrUnavailable, found)
}

// Create creates obj. An object of the same name from the same run (same
// run id label) already there is fine: Create is idempotent.
func (c *Client) Create(ctx context.Context, obj Object) error {
	err := c.c.Create(ctx, obj)
	if err == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating %s: %w", ref(obj), err)
	}
	existing, ok := obj.DeepCopyObject().(Object)
	if !ok {
		return fmt.Errorf("creating %s: %w", ref(obj), err)
	}
	if gerr := c.c.Get(ctx, client.ObjectKeyFromObject(obj), existing); gerr != nil {
		return fmt.Errorf("creating %s: %w (and reading it: %v)", ref(obj), err, gerr)
	}
	run := obj.GetLabels()[operators.RunIDLabel]
	if got := existing.GetLabels()[operators.RunIDLabel]; got != run {
		return fmt.Errorf("creating %s: exists with run id %q, not %q: %w", ref(obj), got, run, err)
	}
	return nil
}

// Apply creates obj and waits until Chaos Mesh reports it injected. It
// refuses (an error wrapping ErrUnavailable) when Chaos Mesh is unavailable:
// the object would be accepted and never take effect.
func (c *Client) Apply(ctx context.Context, obj Object) error {
	if err := c.Available(ctx); err != nil {
		return fmt.Errorf("applying %s: %w", ref(obj), err)
	}
	if err := c.Create(ctx, obj); err != nil {
		return err
	}
	return c.WaitInjected(ctx, obj)
}

// Status summarises what Chaos Mesh reports about one object.
type Status struct {
	// Exists is false when the object is gone (deleted, or never created).
	Exists bool
	// Selected: Chaos Mesh found the target pods.
	Selected bool
	// Injected: every target was injected (AllInjected, or every record
	// injected at least once, as one-shot kinds such as pod-kill report it).
	Injected bool
	// Recovered: every target was recovered (AllRecovered).
	Recovered bool
	// Records is the number of targets; InjectedRecords of them are in
	// phase Injected now.
	Records, InjectedRecords int
	// LastFailure is the message of the latest failed injection or
	// recovery event, if any.
	LastFailure string
}

func (s Status) String() string {
	if !s.Exists {
		return "absent"
	}
	out := fmt.Sprintf("selected=%t injected=%t recovered=%t records=%d/%d",
		s.Selected, s.Injected, s.Recovered, s.InjectedRecords, s.Records)
	if s.LastFailure != "" {
		out += " last failure: " + s.LastFailure
	}
	return out
}

// Status reads obj (by its kind, namespace and name) and summarises its status.
func (c *Client) Status(ctx context.Context, obj Object) (Status, error) {
	cur, ok := obj.DeepCopyObject().(Object)
	if !ok {
		return Status{}, fmt.Errorf("reading %s: %T is not a Chaos Mesh object", ref(obj), obj)
	}
	err := c.c.Get(ctx, client.ObjectKeyFromObject(obj), cur)
	if apierrors.IsNotFound(err) {
		return Status{}, nil
	}
	if err != nil {
		return Status{}, fmt.Errorf("reading %s: %w", ref(obj), err)
	}
	return summarise(cur.GetStatus()), nil
}

// summarise turns Chaos Mesh's status into a Status.
func summarise(st *v1alpha1.ChaosStatus) Status {
	s := Status{Exists: true}
	if st == nil {
		return s
	}
	for _, cond := range st.Conditions {
		on := cond.Status == corev1.ConditionTrue
		switch cond.Type {
		case v1alpha1.ConditionSelected:
			s.Selected = on
		case v1alpha1.ConditionAllInjected:
			s.Injected = on
		case v1alpha1.ConditionAllRecovered:
			s.Recovered = on
		}
	}
	everInjected := len(st.Experiment.Records) > 0
	var last *v1alpha1.RecordEvent
	for _, r := range st.Experiment.Records {
		if r == nil {
			continue
		}
		s.Records++
		if r.Phase == v1alpha1.Injected {
			s.InjectedRecords++
		}
		everInjected = everInjected && r.InjectedCount > 0
		for i := range r.Events {
			e := &r.Events[i]
			if e.Type == v1alpha1.TypeFailed && (last == nil || later(e, last)) {
				last = e
			}
		}
	}
	s.Injected = s.Injected || everInjected
	if last != nil {
		s.LastFailure = fmt.Sprintf("%s: %s", last.Operation, last.Message)
	}
	return s
}

func later(a, b *v1alpha1.RecordEvent) bool {
	if a.Timestamp == nil || b.Timestamp == nil {
		return b.Timestamp == nil
	}
	return a.Timestamp.After(b.Timestamp.Time)
}

// WaitInjected polls obj until Chaos Mesh reports it injected, or ctx ends
// (the error then carries the last status).
func (c *Client) WaitInjected(ctx context.Context, obj Object) error {
	return c.poll(ctx, obj, "injected", func(s Status) (bool, error) {
		if !s.Exists {
			return false, fmt.Errorf("%s vanished before it was injected", ref(obj))
		}
		return s.Injected, nil
	})
}

// Delete deletes obj and waits until it is gone: Chaos Mesh's finalizer
// holds it until every target is recovered, so gone means recovered. An
// object already gone is fine: Delete is idempotent.
func (c *Client) Delete(ctx context.Context, obj Object) error {
	err := c.c.Delete(ctx, obj, client.PropagationPolicy("Background"))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", ref(obj), err)
	}
	return c.poll(ctx, obj, "gone (recovered)", func(s Status) (bool, error) { return !s.Exists, nil })
}

func (c *Client) poll(ctx context.Context, obj Object, what string, done func(Status) (bool, error)) error {
	interval := c.Poll
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var last Status
	for {
		s, err := c.Status(ctx, obj)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("waiting for %s to be %s: %w", ref(obj), what, err)
		}
		if err == nil {
			last = s
			ok, derr := done(s)
			if derr != nil {
				return fmt.Errorf("waiting for %s to be %s: %w", ref(obj), what, derr)
			}
			if ok {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to be %s (last: %s): %w", ref(obj), what, last, ctx.Err())
		case <-t.C:
		}
	}
}

// DeleteRun deletes every PodChaos, NetworkChaos and IOChaos labelled with
// runID (every run's when runID is empty), in every namespace, without waiting, and returns how many it
// deleted. Kinds whose CRD is absent are skipped.
func (c *Client) DeleteRun(ctx context.Context, runID string) (int, error) {
	var sel client.ListOption = client.MatchingLabels{operators.RunIDLabel: runID}
	if runID == "" {
		sel = client.HasLabels{operators.RunIDLabel} // every run's
	}
	n := 0
	for _, list := range []client.ObjectList{&v1alpha1.PodChaosList{}, &v1alpha1.NetworkChaosList{}, &v1alpha1.IOChaosList{}} {
		err := c.c.List(ctx, list, sel)
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("listing %T of run %s: %w", list, runID, err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			return n, fmt.Errorf("reading %T of run %s: %w", list, runID, err)
		}
		for _, it := range items {
			o, ok := it.(client.Object)
			if !ok {
				continue
			}
			err := c.c.Delete(ctx, o, client.PropagationPolicy("Background"))
			if err != nil && !apierrors.IsNotFound(err) {
				return n, fmt.Errorf("deleting %s %s/%s of run %s: %w",
					o.GetObjectKind().GroupVersionKind().Kind, o.GetNamespace(), o.GetName(), runID, err)
			}
			n++
		}
	}
	return n, nil
}

// ref names obj for errors: Kind namespace/name.
func ref(obj client.Object) string {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	if kind == "" {
		kind = fmt.Sprintf("%T", obj)
	}
	return kind + " " + obj.GetNamespace() + "/" + obj.GetName()
}
