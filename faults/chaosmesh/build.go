package chaosmesh

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/pgchaos/pgchaos/operators"
)

// Object is a typed Chaos Mesh object Build returns: *v1alpha1.PodChaos,
// *v1alpha1.NetworkChaos or *v1alpha1.IOChaos.
type Object interface {
	client.Object
	// GetStatus is Chaos Mesh's status (conditions and injection records).
	GetStatus() *v1alpha1.ChaosStatus
}

// Compile-time checks that every built type is an Object.
var (
	_ Object = (*v1alpha1.PodChaos)(nil)
	_ Object = (*v1alpha1.NetworkChaos)(nil)
	_ Object = (*v1alpha1.IOChaos)(nil)
)

// Build validates r against opts and returns the typed Chaos Mesh object that
// declares it, labelled with r.RunID. The object also passes Chaos Mesh's own
// (webhook) validation, run here because its webhook may not be installed.
func Build(r Request, opts Options) (Object, error) {
	if err := r.Validate(opts); err != nil {
		return nil, err
	}
	meta := metav1.ObjectMeta{
		Name:      r.name(),
		Namespace: r.Namespace,
		Labels:    map[string]string{operators.RunIDLabel: r.RunID},
	}
	var obj Object
	switch {
	case r.Kind == PodKill || r.Kind == ContainerKill || r.Kind == PodFailure:
		obj = buildPodChaos(r, meta)
	case r.Kind.network():
		obj = buildNetworkChaos(r, meta)
	case r.Kind.io():
		obj = buildIOChaos(r, meta)
	default: // unreachable: Validate knows every kind
		return nil, fmt.Errorf("%s request: no builder", r.Kind)
	}
	if err := webhookValidate(obj); err != nil {
		return nil, fmt.Errorf("%s request: %s %s/%s fails Chaos Mesh's validation: %w",
			r.Kind, obj.GetObjectKind().GroupVersionKind().Kind, meta.Namespace, meta.Name, err)
	}
	return obj, nil
}

// webhookValidate runs Chaos Mesh's defaulting and validation on a copy of obj.
func webhookValidate(obj Object) error {
	type webhooked interface {
		Default()
		Validate() ([]string, error)
	}
	cp, ok := obj.DeepCopyObject().(webhooked)
	if !ok {
		return fmt.Errorf("%T has no webhook validation", obj)
	}
	cp.Default()
	_, err := cp.Validate()
	return err
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: kind}
}

func buildPodChaos(r Request, meta metav1.ObjectMeta) *v1alpha1.PodChaos {
	return &v1alpha1.PodChaos{
		TypeMeta:   typeMeta(v1alpha1.KindPodChaos),
		ObjectMeta: meta,
		Spec: v1alpha1.PodChaosSpec{
			ContainerSelector: v1alpha1.ContainerSelector{
				PodSelector:    r.Target.chaosMesh(r.Namespace),
				ContainerNames: r.Containers,
			},
			Action:      v1alpha1.PodChaosAction(r.Kind),
			Duration:    duration(r.Duration),
			GracePeriod: int64(r.GracePeriod / time.Second),
		},
	}
}

func buildNetworkChaos(r Request, meta metav1.ObjectMeta) *v1alpha1.NetworkChaos {
	dir := r.Direction
	if dir == "" {
		dir = To
	}
	spec := v1alpha1.NetworkChaosSpec{
		PodSelector:     r.Target.chaosMesh(r.Namespace),
		Action:          v1alpha1.NetworkChaosAction(r.Kind),
		Duration:        duration(r.Duration),
		Direction:       v1alpha1.Direction(dir),
		ExternalTargets: r.External,
	}
	if r.Peer != nil {
		peer := r.Peer.chaosMesh(r.Namespace)
		spec.Target = &peer
	}
	n := r.Netem
	percent := strconv.FormatFloat(n.Percent, 'f', -1, 64)
	switch r.Kind {
	case NetDelay:
		spec.Delay = &v1alpha1.DelaySpec{Latency: n.Latency.String(), Jitter: n.Jitter.String()}
	case NetLoss:
		spec.Loss = &v1alpha1.LossSpec{Loss: percent}
	case NetDuplicate:
		spec.Duplicate = &v1alpha1.DuplicateSpec{Duplicate: percent}
	case NetCorrupt:
		spec.Corrupt = &v1alpha1.CorruptSpec{Corrupt: percent}
	case NetBandwidth:
		spec.Bandwidth = &v1alpha1.BandwidthSpec{Rate: n.Rate, Limit: n.Limit, Buffer: n.Buffer}
	}
	return &v1alpha1.NetworkChaos{
		TypeMeta:   typeMeta(v1alpha1.KindNetworkChaos),
		ObjectMeta: meta,
		Spec:       spec,
	}
}

func buildIOChaos(r Request, meta metav1.ObjectMeta) *v1alpha1.IOChaos {
	spec := v1alpha1.IOChaosSpec{
		ContainerSelector: v1alpha1.ContainerSelector{
			PodSelector:    r.Target.chaosMesh(r.Namespace),
			ContainerNames: r.Containers,
		},
		Path:       r.IO.Path,
		Percent:    r.IO.Percent,
		VolumePath: r.IO.VolumePath,
		Duration:   duration(r.Duration),
	}
	if spec.Percent == 0 {
		spec.Percent = 100
	}
	for _, m := range r.IO.Methods {
		spec.Methods = append(spec.Methods, v1alpha1.IoMethod(m))
	}
	switch r.Kind {
	case IOLatency:
		spec.Action = v1alpha1.IoLatency
		spec.Delay = r.IO.Latency.String()
	case IOFault:
		spec.Action = v1alpha1.IoFaults
		spec.Errno = r.IO.Errno
	}
	return &v1alpha1.IOChaos{
		TypeMeta:   typeMeta(v1alpha1.KindIOChaos),
		ObjectMeta: meta,
		Spec:       spec,
	}
}

// chaosMesh converts s; pods are keyed by namespace, labels and the
// namespace restrict the selection together.
func (s Selector) chaosMesh(defaultNS string) v1alpha1.PodSelector {
	ns := s.Namespace
	if ns == "" {
		ns = defaultNS
	}
	sel := v1alpha1.PodSelectorSpec{
		GenericSelectorSpec: v1alpha1.GenericSelectorSpec{
			Namespaces:     []string{ns},
			LabelSelectors: s.Labels,
		},
	}
	if len(s.Pods) > 0 {
		sel.Pods = map[string][]string{ns: s.Pods}
	}
	return v1alpha1.PodSelector{Selector: sel, Mode: v1alpha1.SelectorMode(s.Mode)}
}

func duration(d time.Duration) *string {
	if d == 0 {
		return nil
	}
	s := d.String()
	return &s
}

// name is r.Name, or "pgchaos-<kind>-<run id>-<hash of the request>"
// shortened to a DNS label.
func (r Request) name() string {
	if r.Name != "" {
		return r.Name
	}
	h := fnv.New32a()
	fmt.Fprintf(h, "%s|%s|%s|%v|%s|%s|%v|%v|%v|%v|%v|%s", r.Kind, r.Namespace, selectorKey(r.Target),
		r.Containers, r.GracePeriod, r.Direction, selectorKey(ptrSel(r.Peer)), r.External, r.Netem, r.IO, r.Duration, r.RunID)
	run := strings.ToLower(r.RunID)
	run = strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			return c
		}
		return '-'
	}, run)
	prefix := "pgchaos-" + string(r.Kind) + "-" + run
	if len(prefix) > 54 {
		prefix = prefix[:54]
	}
	return strings.TrimRight(prefix, "-") + fmt.Sprintf("-%08x", h.Sum32())
}

func ptrSel(s *Selector) Selector {
	if s == nil {
		return Selector{}
	}
	return *s
}

// selectorKey renders s deterministically (map order is random).
func selectorKey(s Selector) string {
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k+"="+s.Labels[k])
	}
	sort.Strings(keys)
	return fmt.Sprintf("%s|%v|%v|%s", s.Namespace, s.Pods, keys, s.Mode)
}

// Unstructured converts a built object for a dynamic client (kube.Client.Apply).
func Unstructured(obj Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %s %s/%s: %w", obj.GetObjectKind().GroupVersionKind().Kind,
			obj.GetNamespace(), obj.GetName(), err)
	}
	return &unstructured.Unstructured{Object: m}, nil
}
