package generic

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Secret locates credentials in a Secret. Empty keys default to
// "username", "password" and "dbname"; Database is used when the Secret has
// no database key.
type Secret struct {
	Name                              string
	UserKey, PasswordKey, DatabaseKey string
	Database                          string
}

// Config tells pgchaos how to recognise a cluster's objects.
type Config struct {
	Ref operators.Ref
	// Instances selects every instance pod of the cluster.
	Instances string
	// Primary selects, among them, the primary's pod.
	Primary string
	// Replica selects the replicas' pods; empty: every instance that is not primary.
	Replica string
	// InstanceLabel is a label whose value is unique per instance pod (used
	// to single out one pod for its own Service); empty: pods cannot be
	// singled out unless they belong to a StatefulSet.
	InstanceLabel string
	// ReadWriteService is the name of the Service that routes to the primary.
	ReadWriteService string
	// Container is the PostgreSQL container (default: the pod's first).
	Container string
	// Layout is the PostgreSQL layout in Container (required: its data
	// directory, volume and port).
	Layout    operators.Layout
	App       Secret
	Superuser Secret
}

// Cluster is a cluster observed through Config.
type Cluster struct {
	kc               *kube.Client
	cfg              Config
	inst, prim, repl labels.Selector
}

var _ operators.Cluster = (*Cluster)(nil)

// New validates cfg's selectors.
func New(kc *kube.Client, cfg Config) (*Cluster, error) {
	c := &Cluster{kc: kc, cfg: cfg}
	var err error
	if cfg.Ref.Name == "" || cfg.Ref.Namespace == "" {
		return nil, errors.New("generic cluster: name and namespace are required")
	}
	if cfg.Instances == "" || cfg.Primary == "" || cfg.ReadWriteService == "" || cfg.App.Name == "" {
		return nil, fmt.Errorf("generic cluster %s: the instance and primary selectors, the read-write Service and the app Secret are required", cfg.Ref)
	}
	if err := cfg.Layout.Validate(); err != nil {
		return nil, fmt.Errorf("generic cluster %s: %w", cfg.Ref, err)
	}
	if c.inst, err = labels.Parse(cfg.Instances); err != nil {
		return nil, fmt.Errorf("generic cluster %s: instance selector %q: %w", cfg.Ref, cfg.Instances, err)
	}
	if c.prim, err = labels.Parse(cfg.Primary); err != nil {
		return nil, fmt.Errorf("generic cluster %s: primary selector %q: %w", cfg.Ref, cfg.Primary, err)
	}
	if cfg.Replica != "" {
		if c.repl, err = labels.Parse(cfg.Replica); err != nil {
			return nil, fmt.Errorf("generic cluster %s: replica selector %q: %w", cfg.Ref, cfg.Replica, err)
		}
	}
	return c, nil
}

// Ref names the cluster.
func (c *Cluster) Ref() operators.Ref { return c.cfg.Ref }

// Instances lists the instance pods, sorted by name, with their roles.
func (c *Cluster) Instances(ctx context.Context) ([]operators.Instance, error) {
	pods, err := c.kc.CS.CoreV1().Pods(c.cfg.Ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: c.inst.String()})
	if err != nil {
		return nil, fmt.Errorf("listing instances of %s: %w", c.cfg.Ref, err)
	}
	var out []operators.Instance
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodRunning {
			continue
		}
		out = append(out, c.instance(p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (c *Cluster) instance(p *corev1.Pod) operators.Instance {
	set := labels.Set(p.Labels)
	in := operators.Instance{Name: p.Name, Pod: p.Name, Node: p.Spec.NodeName, PodIP: p.Status.PodIP, Role: operators.RoleUnknown}
	switch {
	case c.prim.Matches(set):
		in.Role = operators.RolePrimary
	case c.repl == nil || c.repl.Matches(set):
		in.Role = operators.RoleReplica
	}
	in.Container, in.Layout = c.cfg.Container, c.cfg.Layout
	if in.Container == "" && len(p.Spec.Containers) > 0 {
		in.Container = p.Spec.Containers[0].Name
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady {
			in.Ready = cond.Status == corev1.ConditionTrue
		}
	}
	switch v, ok := p.Labels[c.cfg.InstanceLabel]; {
	case c.cfg.InstanceLabel != "" && ok:
		in.Selector = map[string]string{c.cfg.InstanceLabel: v}
	case p.Labels["statefulset.kubernetes.io/pod-name"] != "":
		in.Selector = map[string]string{"statefulset.kubernetes.io/pod-name": p.Name}
	}
	if in.Selector != nil {
		// Narrow to this cluster's pods too (instance names may repeat across clusters).
		for k, v := range requirementsEqual(c.inst) {
			in.Selector[k] = v
		}
	}
	return in
}

// requirementsEqual returns the key=value requirements of a selector.
func requirementsEqual(s labels.Selector) map[string]string {
	out := map[string]string{}
	reqs, _ := s.Requirements()
	for _, r := range reqs {
		if v := r.Values().List(); len(v) == 1 && (r.Operator() == "=" || r.Operator() == "==") {
			out[r.Key()] = v[0]
		}
	}
	return out
}

// ReadWrite returns the read-write Service with its selector and port.
func (c *Cluster) ReadWrite(ctx context.Context) (operators.Endpoint, error) {
	svc, err := c.kc.CS.CoreV1().Services(c.cfg.Ref.Namespace).Get(ctx, c.cfg.ReadWriteService, metav1.GetOptions{})
	if err != nil {
		return operators.Endpoint{}, fmt.Errorf("reading read-write service %s/%s: %w", c.cfg.Ref.Namespace, c.cfg.ReadWriteService, err)
	}
	ep := operators.Endpoint{Namespace: svc.Namespace, Service: svc.Name, Port: 5432}
	if len(svc.Spec.Selector) > 0 {
		ep.Selector = svc.Spec.Selector
	}
	if len(svc.Spec.Ports) > 0 {
		ep.Port, ep.NodePort = svc.Spec.Ports[0].Port, svc.Spec.Ports[0].NodePort
	}
	return ep, nil
}

// Credentials reads the app or superuser Secret.
func (c *Cluster) Credentials(ctx context.Context, a operators.Access) (operators.Credentials, error) {
	s := c.cfg.App
	if a == operators.AccessSuperuser {
		s = c.cfg.Superuser
		if s.Name == "" {
			return operators.Credentials{}, fmt.Errorf("cluster %s: no superuser Secret configured", c.cfg.Ref)
		}
	}
	return ReadSecret(ctx, c.kc, c.cfg.Ref.Namespace, s)
}

// ReadSecret reads credentials from a Secret.
func ReadSecret(ctx context.Context, kc *kube.Client, namespace string, s Secret) (operators.Credentials, error) {
	sec, err := kc.CS.CoreV1().Secrets(namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if err != nil {
		return operators.Credentials{}, fmt.Errorf("reading secret %s/%s: %w", namespace, s.Name, err)
	}
	key := func(k, def string) string {
		if k == "" {
			return def
		}
		return k
	}
	cr := operators.Credentials{
		User:     string(sec.Data[key(s.UserKey, "username")]),
		Password: string(sec.Data[key(s.PasswordKey, "password")]),
		Database: string(sec.Data[key(s.DatabaseKey, "dbname")]),
	}
	if cr.Database == "" || cr.Database == "*" {
		cr.Database = s.Database
	}
	if cr.User == "" || cr.Password == "" {
		return operators.Credentials{}, fmt.Errorf("secret %s/%s: no user or password under keys %q/%q", namespace, s.Name,
			key(s.UserKey, "username"), key(s.PasswordKey, "password"))
	}
	if cr.Database == "" {
		cr.Database = "postgres"
	}
	return cr, nil
}

// WaitReady waits until every instance pod is Ready, exactly one is primary,
// and the read-write Service routes to it.
func (c *Cluster) WaitReady(ctx context.Context) error {
	return kube.Poll(ctx, time.Second, "cluster "+c.cfg.Ref.String()+" ready", c.ready)
}

// ReadyNow checks readiness once: whether ready, and if not why.
func (c *Cluster) ReadyNow(ctx context.Context) (bool, string, error) { return c.ready(ctx) }

func (c *Cluster) ready(ctx context.Context) (bool, string, error) {
	ins, err := c.Instances(ctx)
	if err != nil {
		return false, err.Error(), nil
	}
	if len(ins) == 0 {
		return false, "no instance pods", nil
	}
	for _, in := range ins {
		if !in.Ready {
			return false, "pod " + in.Pod + " not Ready", nil
		}
	}
	p, err := operators.PrimaryOf(ins, c.cfg.Ref)
	if err != nil {
		return false, err.Error(), nil
	}
	slices, err := c.kc.CS.DiscoveryV1().EndpointSlices(c.cfg.Ref.Namespace).List(ctx,
		metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + c.cfg.ReadWriteService})
	if err != nil {
		return false, err.Error(), nil
	}
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			ready := e.Conditions.Ready == nil || *e.Conditions.Ready
			if ready && e.TargetRef != nil && e.TargetRef.Name == p.Pod {
				return true, "", nil
			}
		}
	}
	return false, "service " + c.cfg.ReadWriteService + " does not route to " + p.Pod + " yet", nil
}

// DeleteGrace is how long DeleteResource leaves the operator to remove a
// deleted cluster's pods before it removes them itself.
const DeleteGrace = 90 * time.Second

// DeleteResource deletes the operator's resource of a cluster (gvk, named
// like the cluster) and waits until the cluster's instance pods are gone.
// The operator has DeleteGrace to remove them; then DeleteResource deletes
// what still holds them itself: their StatefulSets, and the pods with a
// 1 s grace period. Tearing down is not a trial: an operator that tears
// down slowly (Zalando's deletes pods one at a time and waits for each,
// which the pods' 5 min grace period can stretch past any budget) must
// not make teardown fail.
func (c *Cluster) DeleteResource(ctx context.Context, gvk schema.GroupVersionKind) error {
	return c.deleteResource(ctx, gvk, DeleteGrace)
}

func (c *Cluster) deleteResource(ctx context.Context, gvk schema.GroupVersionKind, grace time.Duration) error {
	ref := c.cfg.Ref
	ri, err := c.kc.Resource(gvk, ref.Namespace)
	if err != nil {
		return fmt.Errorf("deleting cluster %s: %w", ref, err)
	}
	err = ri.Delete(ctx, ref.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting cluster %s: %w", ref, err)
	}
	return c.awaitPodsGone(ctx, grace)
}

// AwaitPodsGone waits until no instance pod is left, removing them itself
// after DeleteGrace (see DeleteResource): for stacks whose cluster is not
// one resource.
func (c *Cluster) AwaitPodsGone(ctx context.Context) error { return c.awaitPodsGone(ctx, DeleteGrace) }

// awaitPodsGone waits until no instance pod is left, removing them itself
// when the operator has not within grace.
func (c *Cluster) awaitPodsGone(ctx context.Context, grace time.Duration) error {
	ref := c.cfg.Ref
	what := "pods of " + ref.String() + " gone"
	gone := func(ctx context.Context) (bool, string, error) {
		pods, err := c.kc.CS.CoreV1().Pods(ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: c.inst.String()})
		if err != nil {
			return false, err.Error(), nil
		}
		return len(pods.Items) == 0, fmt.Sprintf("%d instance pods left", len(pods.Items)), nil
	}
	wctx, cancel := context.WithTimeout(ctx, grace)
	err := kube.Poll(wctx, time.Second, what, gone)
	cancel()
	if err == nil || ctx.Err() != nil {
		return err
	}
	if err := c.removePods(ctx); err != nil {
		return fmt.Errorf("deleting cluster %s: the operator left its pods for %s, and removing them failed: %w", ref, grace, err)
	}
	return kube.Poll(ctx, time.Second, what, gone)
}

// removePods deletes the StatefulSets that own the cluster's instance pods
// (so nothing recreates them) and the pods, with a 1 s grace period.
func (c *Cluster) removePods(ctx context.Context) error {
	ns := c.cfg.Ref.Namespace
	pods, err := c.kc.CS.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: c.inst.String()})
	if err != nil {
		return fmt.Errorf("listing instances of %s: %w", c.cfg.Ref, err)
	}
	var errs []error
	sets := map[string]bool{}
	for _, p := range pods.Items {
		for _, o := range p.OwnerReferences {
			if o.Kind == "StatefulSet" && !sets[o.Name] {
				sets[o.Name] = true
				err := c.kc.CS.AppsV1().StatefulSets(ns).Delete(ctx, o.Name, metav1.DeleteOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("statefulset %s/%s: %w", ns, o.Name, err))
				}
			}
		}
	}
	one := int64(1)
	for _, p := range pods.Items {
		err := c.kc.CS.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &one})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("pod %s/%s: %w", ns, p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Resources converts container resources for an operator's resource
// (nil when none are set).
func Resources(r corev1.ResourceRequirements) (map[string]any, error) {
	if len(r.Requests) == 0 && len(r.Limits) == 0 {
		return nil, nil
	}
	return runtime.DefaultUnstructuredConverter.ToUnstructured(&r)
}
