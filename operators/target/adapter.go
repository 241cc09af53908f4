package target

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/generic"
	"github.com/pgchaos/pgchaos/operators/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Adapter is a target file seen as an operators.Adapter: there is no
// operator to install; creating a cluster applies the target's manifests,
// deleting it deletes them, and its cluster is the generic one the file
// describes. The images it builds are remembered for New's Operator.
type Adapter struct {
	T *Target
	// images resolves ${image.NAME} (refs at once, builds once built).
	images map[string]string
}

var _ operators.Adapter = (*Adapter)(nil)

// NewAdapter returns the adapter of a loaded target.
func NewAdapter(t *Target) *Adapter {
	a := &Adapter{T: t, images: map[string]string{}}
	for name, im := range t.Spec.Images {
		if im.Ref != "" {
			a.images[name] = im.Ref
		}
	}
	return a
}

// Name is the target's name.
func (a *Adapter) Name() string { return a.T.Metadata.Name }

// Title is the target's title.
func (a *Adapter) Title() string { return a.T.Spec.Title }

// DefaultVersion is the target's version.
func (a *Adapter) DefaultVersion() string { return a.T.Spec.Version }

// Versions is the target's one version.
func (a *Adapter) Versions() []string { return []string{a.T.Spec.Version} }

// VersionKey is the target's name.
func (a *Adapter) VersionKey() string { return a.T.Metadata.Name }

// CheckVersion accepts the target's own version only: the file describes
// one deployment.
func (a *Adapter) CheckVersion(v string) error {
	if v != a.T.Spec.Version {
		return fmt.Errorf("target %s describes version %s only, not %q (edit spec.version and its manifests)", a.Name(), a.T.Spec.Version, v)
	}
	return nil
}

// Available says why an image the target needs built cannot be built here.
func (a *Adapter) Available(ctx context.Context) error {
	for name, im := range a.T.Spec.Images {
		if im.Build == "" {
			continue
		}
		if err := buildAvailable(ctx, im.Build); err != nil {
			return fmt.Errorf("target %s: image %s: %w", a.Name(), name, err)
		}
	}
	return nil
}

// BuildImages builds the images the target names with build (cached),
// remembers them for the manifests, and returns them: the first as
// Postgres, the others in Extra. Operator is empty: there is none.
func (a *Adapter) BuildImages(ctx context.Context, opts operators.ImageOptions) (operators.Images, error) {
	var out operators.Images
	for _, name := range a.imageNames() {
		im := a.T.Spec.Images[name]
		ref := im.Ref
		if im.Build != "" {
			var err error
			if ref, err = build(ctx, im.Build, opts); err != nil {
				return out, fmt.Errorf("target %s: image %s: %w", a.Name(), name, err)
			}
			a.images[name] = ref
		}
		if out.Postgres == "" {
			out.Postgres = ref
		} else {
			out.Extra = append(out.Extra, ref)
		}
	}
	return out, nil
}

// imageNames are the image names, "postgres" first when there is one,
// then sorted.
func (a *Adapter) imageNames() []string {
	var names []string
	if _, ok := a.T.Spec.Images["postgres"]; ok {
		names = append(names, "postgres")
	}
	var rest []string
	for n := range a.T.Spec.Images {
		if n != "postgres" {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(names, rest...)
}

// New returns the target's Operator.
func (a *Adapter) New(opts operators.Options) operators.Operator {
	opts = opts.WithDefaults(a.T.Spec.Version)
	return &Operator{a: a, opts: opts}
}

// Deployment is empty: a target has no operator (the operator-outage
// faults are unavailable).
func (a *Adapter) Deployment() operators.Ref { return operators.Ref{} }

// ClusterKinds is empty: the cluster is its manifests' objects.
func (a *Adapter) ClusterKinds() []schema.GroupVersionKind { return nil }

// Settings are the target's, with its synchronous mode and source.
func (a *Adapter) Settings(operators.Options) map[string]string {
	m := map[string]string{"target": a.Name(), "failover_decided_by": "the stack (target file)",
		"synchronous": "as the target's manifests set it (spec.synchronous: " + a.T.SyncMode() + ")"}
	for k, v := range a.T.Spec.Settings {
		m[k] = v
	}
	return m
}

// Operator applies and deletes a target's manifests.
type Operator struct {
	a    *Adapter
	opts operators.Options
}

var _ operators.Operator = (*Operator)(nil)

// Name is the target's name.
func (o *Operator) Name() string { return o.a.Name() }

// Install does nothing: there is no operator; the manifests are applied
// with the cluster.
func (o *Operator) Install(context.Context) error { return nil }

// NothingToInstall says so (scenario.Provision words its progress by it).
func (o *Operator) NothingToInstall() bool { return true }

// vars are the values of the ${...} variables for spec.
func (o *Operator) vars(spec operators.ClusterSpec) map[string]string {
	v := map[string]string{"name": spec.Name, "namespace": spec.Namespace, "runID": spec.RunID,
		"instances": strconv.Itoa(spec.Instances), "synchronous": strconv.FormatBool(spec.Synchronous),
		"storageSize": spec.StorageSize, "storageClass": spec.StorageClass}
	for n, ref := range o.a.images {
		v["image."+n] = ref
	}
	if _, ok := o.a.T.Spec.Images["postgres"]; ok && spec.Image != "" {
		v["image.postgres"] = spec.Image // --postgres-image
	}
	return v
}

// objects reads the manifests with spec's values, each object in spec's
// namespace unless it names one, labelled with the run id.
func (o *Operator) objects(spec operators.ClusterSpec, forDelete bool) ([]*unstructured.Unstructured, error) {
	vars := o.vars(spec)
	for n := range o.a.T.Spec.Images {
		if vars["image."+n] == "" && !forDelete {
			return nil, fmt.Errorf("target %s: image %s is not built yet (pgchaos builds it on kind; elsewhere give it as ref)", o.Name(), n)
		}
	}
	var out []*unstructured.Unstructured
	for _, m := range o.a.T.Spec.Manifests {
		data, err := os.ReadFile(o.a.T.ManifestPath(m))
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", o.Name(), err)
		}
		text := string(data)
		if err := checkVars(text, o.a.T.varNames()); err != nil {
			return nil, fmt.Errorf("target %s: manifest %s: %w", o.Name(), m, err)
		}
		objs, err := kube.DecodeManifest([]byte(Expand(text, vars)))
		if err != nil {
			return nil, fmt.Errorf("target %s: manifest %s: %w", o.Name(), m, err)
		}
		for _, ob := range objs {
			if ob.GetNamespace() == "" {
				ob.SetNamespace(spec.Namespace)
			}
			if spec.RunID != "" {
				l := ob.GetLabels()
				if l == nil {
					l = map[string]string{}
				}
				l[operators.RunIDLabel] = spec.RunID
				ob.SetLabels(l)
			}
		}
		out = append(out, objs...)
	}
	return out, nil
}

// Create applies the manifests in order (the namespace first, labelled);
// a Secret that exists already is left as it is.
func (o *Operator) Create(ctx context.Context, spec operators.ClusterSpec) (operators.Cluster, error) {
	switch mode := o.a.T.SyncMode(); {
	case spec.Synchronous && mode == SyncNever:
		return nil, fmt.Errorf("target %s: synchronous replication is not available (spec.synchronous: never)", o.Name())
	case !spec.Synchronous && mode == SyncAlways:
		return nil, fmt.Errorf("target %s: runs with synchronous replication only (spec.synchronous: always)", o.Name())
	}
	objs, err := o.objects(spec, false)
	if err != nil {
		return nil, err
	}
	if err := o.opts.Kube.EnsureNamespace(ctx, spec.Namespace, map[string]string{operators.RunIDLabel: spec.RunID, operators.AllowChaosLabel: "true"}); err != nil {
		return nil, err
	}
	for _, ob := range objs {
		if ob.GetKind() == "Secret" && ob.GetAPIVersion() == "v1" {
			// Credentials are created, never replaced: a cluster kept from an
			// earlier run (--keep) has its data made with the old ones.
			_, err := o.opts.Kube.CS.CoreV1().Secrets(ob.GetNamespace()).Get(ctx, ob.GetName(), metav1.GetOptions{})
			if err == nil {
				continue
			}
			if !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("reading secret %s of target %s: %w", kube.Name(ob), o.Name(), err)
			}
		}
		if err := o.opts.Kube.Apply(ctx, ob); err != nil {
			return nil, fmt.Errorf("creating cluster %s of target %s: %w", spec.Ref, o.Name(), err)
		}
	}
	c := o.open(spec.Ref)
	c.expect = spec.Instances
	return withSwitchover(c), nil
}

// Open returns the cluster named ref.
func (o *Operator) Open(ref operators.Ref) operators.Cluster { return withSwitchover(o.open(ref)) }

func (o *Operator) open(ref operators.Ref) *Cluster {
	cfg := o.a.T.GenericConfig(ref)
	g, err := generic.New(o.opts.Kube, cfg)
	if err != nil {
		// Validate parsed the same selectors with sample values; a name
		// that breaks them is the file's, said at the first use.
		return &Cluster{err: fmt.Errorf("target %s: %w", o.Name(), err), ref: ref}
	}
	return &Cluster{Cluster: g, kc: o.opts.Kube, ref: ref, t: o.a.T, readyTimeout: o.opts.ReadyTimeout}
}

// withSwitchover is c as an operators.Switchover when the target has a
// switchover command (the switchover faults see it), else c.
func withSwitchover(c *Cluster) operators.Cluster {
	if c.err == nil && c.t.Spec.Switchover != nil {
		if len(c.t.Spec.Switchover.Candidates) > 0 {
			return &CandidatesCluster{&SwitchCluster{c}}
		}
		return &SwitchCluster{c}
	}
	return c
}

// Delete deletes the manifests' objects in reverse order and waits until
// the instance pods are gone (removing them itself after
// generic.DeleteGrace).
func (o *Operator) Delete(ctx context.Context, ref operators.Ref) error {
	c := o.open(ref)
	if c.err != nil {
		return c.err
	}
	objs, err := o.objects(operators.ClusterSpec{Ref: ref}, true)
	if err != nil {
		return err
	}
	for i := len(objs) - 1; i >= 0; i-- {
		ob := objs[i]
		if ob.GetKind() == "Namespace" {
			continue // pgchaos's cleanup owns namespaces
		}
		ri, err := o.opts.Kube.Resource(ob.GroupVersionKind(), ob.GetNamespace())
		if err != nil {
			return fmt.Errorf("deleting cluster %s of target %s: %w", ref, o.Name(), err)
		}
		bg := metav1.DeletePropagationBackground
		if err := ri.Delete(ctx, ob.GetName(), metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting %s %s of target %s: %w", ob.GetKind(), kube.Name(ob), o.Name(), err)
		}
	}
	if err := c.Cluster.AwaitPodsGone(ctx); err != nil {
		return err
	}
	return o.deleteClaims(ctx, ref.Namespace, objs)
}

// deleteClaims deletes the PersistentVolumeClaims the manifests'
// StatefulSets made (<template>-<statefulset>-<ordinal>): a cluster
// created again under the same name must not find old data.
func (o *Operator) deleteClaims(ctx context.Context, namespace string, objs []*unstructured.Unstructured) error {
	var prefixes []string
	for _, ob := range objs {
		if ob.GetKind() != "StatefulSet" {
			continue
		}
		tpls, _, _ := unstructured.NestedSlice(ob.Object, "spec", "volumeClaimTemplates")
		for _, t := range tpls {
			m, _ := t.(map[string]any)
			name, _, _ := unstructured.NestedString(m, "metadata", "name")
			if name != "" {
				prefixes = append(prefixes, name+"-"+ob.GetName()+"-")
			}
		}
	}
	if len(prefixes) == 0 {
		return nil
	}
	pvcs, err := o.opts.Kube.CS.CoreV1().PersistentVolumeClaims(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing claims in %s: %w", namespace, err)
	}
	for _, p := range pvcs.Items {
		for _, pre := range prefixes {
			rest, ok := strings.CutPrefix(p.Name, pre)
			if _, err := strconv.Atoi(rest); !ok || err != nil {
				continue
			}
			if err := o.opts.Kube.CS.CoreV1().PersistentVolumeClaims(namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("deleting claim %s/%s: %w", namespace, p.Name, err)
			}
		}
	}
	return nil
}

// GenericConfig is the target's generic.Config for the cluster ref.
func (t *Target) GenericConfig(ref operators.Ref) generic.Config {
	v := map[string]string{"name": ref.Name, "namespace": ref.Namespace}
	x := func(s string) string { return Expand(s, v) }
	s := t.Spec
	sec := func(s Secret) generic.Secret {
		return generic.Secret{Name: x(s.Name), UserKey: s.UserKey, PasswordKey: s.PasswordKey, DatabaseKey: s.DatabaseKey, Database: s.Database}
	}
	primary, replica := x(s.Instances.Primary), x(s.Instances.Replica)
	if s.Instances.RoleProbe != "" {
		primary, replica = neverLabel, neverLabel
	}
	return generic.Config{
		Ref: ref, Instances: x(s.Instances.Selector), Primary: primary, Replica: replica,
		InstanceLabel: s.Instances.InstanceLabel, ReadWriteService: x(s.ReadWrite.Service), Container: s.Instances.Container,
		Layout: layout(s.Instances), App: sec(s.Credentials.App), Superuser: sec(s.Credentials.Superuser),
	}
}

// Cluster is a target's cluster: the generic view, the number of
// instances it must have to be ready, and its switchover command.
type Cluster struct {
	*generic.Cluster
	kc           *kube.Client
	ref          operators.Ref
	t            *Target
	readyTimeout time.Duration
	// expect is the number of instances asked for (0: unknown, any).
	expect int
	err    error
}

// SwitchCluster is a target's cluster with a switchover command.
type SwitchCluster struct{ *Cluster }

var _ operators.Switchover = (*SwitchCluster)(nil)

// Ref names the cluster.
func (c *Cluster) Ref() operators.Ref { return c.ref }

// ReadWriteSessionCheck is false when the target's endpoint is asked
// targetSessionAttrs: any (scenario.Provision reads it).
func (c *Cluster) ReadWriteSessionCheck() bool {
	return c.t == nil || c.t.Spec.ReadWrite.TargetSessionAttrs != "any"
}

// WaitReady waits, within the ready timeout, until the generic view is
// ready (every instance pod Ready, one primary, the read-write Service
// routing to it) with as many instances as were asked for.
func (c *Cluster) WaitReady(ctx context.Context) error {
	if c.err != nil {
		return c.err
	}
	if c.readyTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.readyTimeout)
		defer cancel()
	}
	return kube.Poll(ctx, time.Second, "cluster "+c.ref.String()+" ready", c.ReadyNow)
}

// ReadyNow checks readiness once: as many instances as asked for, every
// one Ready, exactly one primary, and the read-write Service routing to
// the primary alone, or, when it routes to no instance (a proxy such as
// Pgpool-II), to at least one ready endpoint.
func (c *Cluster) ReadyNow(ctx context.Context) (bool, string, error) {
	if c.err != nil {
		return false, "", c.err
	}
	ins, err := c.Instances(ctx)
	if err != nil {
		return false, err.Error(), nil
	}
	if len(ins) == 0 || (c.expect > 0 && len(ins) != c.expect) {
		return false, fmt.Sprintf("%d of %d instances", len(ins), c.expect), nil
	}
	names := map[string]bool{}
	for _, in := range ins {
		if !in.Ready {
			return false, "pod " + in.Pod + " not Ready", nil
		}
		names[in.Pod] = true
	}
	p, err := operators.PrimaryOf(ins, c.ref)
	if err != nil {
		return false, err.Error(), nil
	}
	svc := Expand(c.t.Spec.ReadWrite.Service, map[string]string{"name": c.ref.Name, "namespace": c.ref.Namespace})
	routes, err := routesTo(ctx, c.kc, c.ref.Namespace, svc)
	if err != nil {
		return false, err.Error(), nil
	}
	toInstances := false
	for _, r := range routes {
		toInstances = toInstances || names[r]
	}
	switch {
	case len(routes) == 0:
		return false, "service " + svc + " routes nowhere", nil
	case toInstances && (len(routes) != 1 || routes[0] != p.Pod):
		return false, fmt.Sprintf("service %s routes to %s, not to the primary %s alone", svc, strings.Join(routes, ", "), p.Pod), nil
	}
	return true, "", nil
}

// Instances lists the instances with their roles: by label, or asked
// with the role probe (an instance that does not answer has no role).
func (c *Cluster) Instances(ctx context.Context) ([]operators.Instance, error) {
	if c.err != nil {
		return nil, c.err
	}
	ins, err := c.Cluster.Instances(ctx)
	if err != nil || c.t.Spec.Instances.RoleProbe == "" {
		return ins, err
	}
	var wg sync.WaitGroup
	for i := range ins {
		ins[i].Role = operators.RoleUnknown
		if ins[i].PodIP == "" {
			continue
		}
		wg.Add(1)
		go func(in *operators.Instance) {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			out, _, err := c.kc.Exec(pctx, c.ref.Namespace, in.Pod, in.Container, []string{"psql", "-XAtc", "select pg_is_in_recovery()"})
			switch {
			case err != nil:
			case strings.TrimSpace(out) == "f":
				in.Role = operators.RolePrimary
			case strings.TrimSpace(out) == "t":
				in.Role = operators.RoleReplica
			}
		}(&ins[i])
	}
	wg.Wait()
	return ins, nil
}

// Switchover runs the target's switchover command in the primary's
// container.
func (c *SwitchCluster) Switchover(ctx context.Context, candidate string) error {
	p, err := operators.Primary(ctx, c)
	if err != nil {
		return err
	}
	v := map[string]string{"name": c.ref.Name, "namespace": c.ref.Namespace, "primary": p.Name, "candidate": candidate}
	var cmd []string
	for _, a := range c.t.Spec.Switchover.Exec {
		cmd = append(cmd, Expand(a, v))
	}
	if _, err := c.run(ctx, p, cmd); err != nil {
		return fmt.Errorf("switchover of %s to %s: %w", c.ref, candidate, err)
	}
	return nil
}

// run runs a target's command in an instance's container; its error says
// what the command wrote to stderr and how it ended, not the command.
func (c *SwitchCluster) run(ctx context.Context, in operators.Instance, cmd []string) (string, error) {
	out, stderr, err := c.kc.Exec(ctx, c.ref.Namespace, in.Pod, in.Container, cmd)
	if err != nil {
		if u := errors.Unwrap(err); u != nil {
			err = u
		}
		return out, fmt.Errorf("%s in %s: %s (%w)", cmd[0], in.Pod, strings.TrimSpace(stderr), err)
	}
	return out, nil
}

// CandidatesCluster is a target's cluster whose stack accepts only some
// replicas for a switchover (spec.switchover.candidates).
type CandidatesCluster struct{ *SwitchCluster }

var _ operators.SwitchoverCandidates = (*CandidatesCluster)(nil)

// SwitchoverCandidates runs the target's candidates command in the
// primary's container: the names it prints are the candidates.
func (c *CandidatesCluster) SwitchoverCandidates(ctx context.Context) ([]string, error) {
	p, err := operators.Primary(ctx, c)
	if err != nil {
		return nil, err
	}
	v := map[string]string{"name": c.ref.Name, "namespace": c.ref.Namespace, "primary": p.Name}
	var cmd []string
	for _, a := range c.t.Spec.Switchover.Candidates {
		cmd = append(cmd, Expand(a, v))
	}
	out, err := c.run(ctx, p, cmd)
	if err != nil {
		return nil, fmt.Errorf("switchover candidates of %s: %w", c.ref, err)
	}
	return strings.Fields(out), nil
}
