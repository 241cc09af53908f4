package chaosmesh

import (
	"strings"
	"testing"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"

	"github.com/pgchaos/pgchaos/operators"
)

// primary selects the primary of a CloudNativePG cluster by name.
func primary() Selector {
	return Selector{Pods: []string{"pg-1"}, Mode: All}
}

func replicas() *Selector {
	return &Selector{Labels: map[string]string{"cnpg.io/instanceRole": "replica"}, Mode: All}
}

func base(k Kind) Request {
	return Request{Kind: k, Namespace: "db", Target: primary(), RunID: "run-1"}
}

// validRequests are one valid request per kind, named by test case.
func validRequests() map[string]Request {
	containerKill := base(ContainerKill)
	containerKill.Containers = []string{"postgres"}
	podKill := base(PodKill)
	podKill.GracePeriod = 5 * time.Second
	podFailure := base(PodFailure)
	podFailure.Duration = 30 * time.Second
	partTo := base(Partition)
	partTo.Peer = replicas()
	partBoth := partTo
	partBoth.Direction = Both
	partFrom := partTo
	partFrom.Direction = From
	partExternal := base(Partition)
	partExternal.External = []string{"10.96.0.1", "10.244.0.0/16"}
	partExternal.Direction = Both
	delay := base(NetDelay)
	delay.Netem = Netem{Latency: 100 * time.Millisecond, Jitter: 10 * time.Millisecond}
	loss := base(NetLoss)
	loss.Netem.Percent = 25
	dup := base(NetDuplicate)
	dup.Netem.Percent = 5
	corrupt := base(NetCorrupt)
	corrupt.Netem.Percent = 0.5
	bw := base(NetBandwidth)
	bw.Netem = Netem{Rate: "1mbps", Limit: 20971520, Buffer: 10000}
	ioLat := base(IOLatency)
	ioLat.Containers = []string{"postgres"}
	ioLat.IO = IO{VolumePath: "/var/lib/postgresql/data", Path: "/var/lib/postgresql/data/pgdata/pg_wal/**",
		Latency: 50 * time.Millisecond, Methods: []string{"write", "fsync"}, Percent: 100}
	ioLat.Duration = time.Minute
	ioFault := base(IOFault)
	ioFault.IO = IO{VolumePath: "/var/lib/postgresql/data", Errno: 28, Percent: 50}
	return map[string]Request{
		"pod-kill": podKill, "container-kill": containerKill, "pod-failure": podFailure,
		"partition-to": partTo, "partition-both": partBoth, "partition-from": partFrom,
		"partition-external": partExternal, "delay": delay, "loss": loss, "duplicate": dup,
		"corrupt": corrupt, "bandwidth": bw, "io-latency": ioLat, "io-fault": ioFault,
	}
}

func TestBuildEveryKind(t *testing.T) {
	reqs := validRequests()
	covered := map[Kind]bool{}
	for name, r := range reqs {
		t.Run(name, func(t *testing.T) {
			obj, err := Build(r, Options{})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			covered[r.Kind] = true
			if got := obj.GetLabels()[operators.RunIDLabel]; got != "run-1" {
				t.Errorf("run id label = %q", got)
			}
			if obj.GetNamespace() != "db" || !strings.HasPrefix(obj.GetName(), "pgchaos-"+string(r.Kind)+"-run-1-") {
				t.Errorf("object %s/%s", obj.GetNamespace(), obj.GetName())
			}
			if gv := obj.GetObjectKind().GroupVersionKind().GroupVersion(); gv != v1alpha1.GroupVersion {
				t.Errorf("group version %s", gv)
			}
			u, err := Unstructured(obj)
			if err != nil {
				t.Fatalf("Unstructured: %v", err)
			}
			if u.GetKind() == "" || u.GetName() != obj.GetName() {
				t.Errorf("unstructured %s %s", u.GetKind(), u.GetName())
			}
		})
	}
	for _, k := range Kinds() {
		if !covered[k] {
			t.Errorf("kind %s has no test case", k)
		}
	}
}

func TestBuildShapes(t *testing.T) {
	reqs := validRequests()
	build := func(name string) Object {
		t.Helper()
		obj, err := Build(reqs[name], Options{})
		if err != nil {
			t.Fatalf("Build %s: %v", name, err)
		}
		return obj
	}

	pk := build("pod-kill").(*v1alpha1.PodChaos)
	if pk.Spec.Action != v1alpha1.PodKillAction || pk.Spec.GracePeriod != 5 || pk.Spec.Mode != v1alpha1.AllMode ||
		pk.Spec.Selector.Pods["db"][0] != "pg-1" || pk.Spec.Duration != nil {
		t.Errorf("pod-kill spec %+v", pk.Spec)
	}
	ck := build("container-kill").(*v1alpha1.PodChaos)
	if ck.Spec.Action != v1alpha1.ContainerKillAction || ck.Spec.ContainerNames[0] != "postgres" {
		t.Errorf("container-kill spec %+v", ck.Spec)
	}
	pf := build("pod-failure").(*v1alpha1.PodChaos)
	if pf.Spec.Action != v1alpha1.PodFailureAction || pf.Spec.Duration == nil || *pf.Spec.Duration != "30s" {
		t.Errorf("pod-failure spec %+v", pf.Spec)
	}

	for name, dir := range map[string]v1alpha1.Direction{"partition-to": v1alpha1.To, "partition-both": v1alpha1.Both, "partition-from": v1alpha1.From} {
		nc := build(name).(*v1alpha1.NetworkChaos)
		if nc.Spec.Action != v1alpha1.PartitionAction || nc.Spec.Direction != dir || nc.Spec.Target == nil ||
			nc.Spec.Target.Selector.LabelSelectors["cnpg.io/instanceRole"] != "replica" ||
			nc.Spec.Target.Selector.Namespaces[0] != "db" {
			t.Errorf("%s spec %+v", name, nc.Spec)
		}
	}
	ext := build("partition-external").(*v1alpha1.NetworkChaos)
	if ext.Spec.Target != nil || len(ext.Spec.ExternalTargets) != 2 {
		t.Errorf("partition-external spec %+v", ext.Spec)
	}
	d := build("delay").(*v1alpha1.NetworkChaos)
	if d.Spec.Delay == nil || d.Spec.Delay.Latency != "100ms" || d.Spec.Delay.Jitter != "10ms" || d.Spec.Direction != v1alpha1.To {
		t.Errorf("delay spec %+v", d.Spec)
	}
	l := build("loss").(*v1alpha1.NetworkChaos)
	if l.Spec.Loss == nil || l.Spec.Loss.Loss != "25" {
		t.Errorf("loss spec %+v", l.Spec)
	}
	c := build("corrupt").(*v1alpha1.NetworkChaos)
	if c.Spec.Corrupt == nil || c.Spec.Corrupt.Corrupt != "0.5" {
		t.Errorf("corrupt spec %+v", c.Spec)
	}

	il := build("io-latency").(*v1alpha1.IOChaos)
	if il.Spec.Action != v1alpha1.IoLatency || il.Spec.Delay != "50ms" || il.Spec.VolumePath != "/var/lib/postgresql/data" ||
		len(il.Spec.Methods) != 2 || il.Spec.Percent != 100 || il.Spec.ContainerNames[0] != "postgres" {
		t.Errorf("io-latency spec %+v", il.Spec)
	}
	iff := build("io-fault").(*v1alpha1.IOChaos)
	if iff.Spec.Action != v1alpha1.IoFaults || iff.Spec.Errno != 28 || iff.Spec.Percent != 50 || iff.Spec.Delay != "" {
		t.Errorf("io-fault spec %+v", iff.Spec)
	}
}

func TestBuildNamesAreStableAndDistinct(t *testing.T) {
	reqs := validRequests()
	seen := map[string]string{}
	for name, r := range reqs {
		a, err := Build(r, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := Build(r, Options{})
		if a.GetName() != b.GetName() {
			t.Errorf("%s: names differ between builds: %s, %s", name, a.GetName(), b.GetName())
		}
		if other, dup := seen[a.GetName()]; dup {
			t.Errorf("%s and %s share the name %s", name, other, a.GetName())
		}
		seen[a.GetName()] = name
		if len(a.GetName()) > 63 {
			t.Errorf("%s: name %s longer than 63", name, a.GetName())
		}
	}
	long := reqs["pod-kill"]
	long.RunID = strings.Repeat("x", 63)
	obj, err := Build(long, Options{})
	if err != nil || len(obj.GetName()) > 63 {
		t.Fatalf("long run id: %v %q", err, obj.GetName())
	}
	named := reqs["pod-kill"]
	named.Name = "my-kill"
	if obj, err := Build(named, Options{}); err != nil || obj.GetName() != "my-kill" {
		t.Fatalf("explicit name: %v", err)
	}
}

func TestBuildRejects(t *testing.T) {
	reqs := validRequests()
	with := func(name string, f func(r *Request)) Request {
		r := reqs[name]
		f(&r)
		return r
	}
	cases := []struct {
		name string
		req  Request
		opts Options
		want string
	}{
		{"no kind", with("pod-kill", func(r *Request) { r.Kind = "" }), Options{}, "chaos request: kind is required"},
		{"unknown kind", with("pod-kill", func(r *Request) { r.Kind = "stress" }), Options{}, `kind "stress" is unknown`},
		{"no run id", with("pod-kill", func(r *Request) { r.RunID = "" }), Options{}, "runID is required"},
		{"bad run id", with("pod-kill", func(r *Request) { r.RunID = "a b" }), Options{}, `runID "a b"`},
		{"no namespace", with("pod-kill", func(r *Request) { r.Namespace = "" }), Options{}, "namespace: required"},
		{"bad name", with("pod-kill", func(r *Request) { r.Name = "Bad_Name" }), Options{}, `name "Bad_Name"`},
		{"no mode", with("pod-kill", func(r *Request) { r.Target.Mode = "" }), Options{}, "target.mode: required"},
		{"fixed mode", with("pod-kill", func(r *Request) { r.Target.Mode = "fixed" }), Options{}, `target.mode "fixed"`},
		{"empty target", with("pod-kill", func(r *Request) { r.Target = Selector{Mode: One} }), Options{}, "target: pods or labels are required"},
		{"bad pod", with("pod-kill", func(r *Request) { r.Target.Pods = []string{"PG"} }), Options{}, `target.pods "PG"`},
		{"bad label", with("pod-kill", func(r *Request) { r.Target.Labels = map[string]string{"a": "b c"} }), Options{}, "target.labels a="},
		{"negative duration", with("pod-failure", func(r *Request) { r.Duration = -time.Second }), Options{}, "duration -1s"},
		{"grace on failure", with("pod-failure", func(r *Request) { r.GracePeriod = time.Second }), Options{}, "gracePeriod: only for pod-kill"},
		{"fractional grace", with("pod-kill", func(r *Request) { r.GracePeriod = 1500 * time.Millisecond }), Options{}, "gracePeriod 1.5s"},
		{"container-kill without containers", with("container-kill", func(r *Request) { r.Containers = nil }), Options{}, "containers: required by container-kill"},
		{"containers on pod-kill", with("pod-kill", func(r *Request) { r.Containers = []string{"postgres"} }), Options{}, "containers: not used by pod-kill"},
		{"partition without other side", with("partition-to", func(r *Request) { r.Peer = nil }), Options{}, "peer or external"},
		{"bad direction", with("partition-to", func(r *Request) { r.Direction = "sideways" }), Options{}, `direction "sideways"`},
		{"peer without mode", with("partition-to", func(r *Request) { r.Peer = &Selector{Pods: []string{"pg-2"}} }), Options{}, "peer.mode: required"},
		{"blank external", with("partition-external", func(r *Request) { r.External = []string{" "} }), Options{}, `external " "`},
		{"direction on pod-kill", with("pod-kill", func(r *Request) { r.Direction = To }), Options{}, "direction/peer/external: not used by pod-kill"},
		{"delay without netem", reqs["delay"], Options{NoNetem: true}, "delay request: kind delay needs sch_netem, absent on this kernel"},
		{"loss without netem", reqs["loss"], Options{NoNetem: true}, "needs sch_netem, absent on this kernel"},
		{"duplicate without netem", reqs["duplicate"], Options{NoNetem: true}, "needs sch_netem, absent on this kernel"},
		{"corrupt without netem", reqs["corrupt"], Options{NoNetem: true}, "needs sch_netem, absent on this kernel"},
		{"bandwidth without netem", reqs["bandwidth"], Options{NoNetem: true}, "needs sch_netem, absent on this kernel"},
		{"delay without latency", with("delay", func(r *Request) { r.Netem.Latency = 0 }), Options{}, "netem.latency: must be positive"},
		{"delay both without peer", with("delay", func(r *Request) { r.Direction = Both }), Options{}, "direction both: needs peer pods"},
		{"loss over 100", with("loss", func(r *Request) { r.Netem.Percent = 101 }), Options{}, "netem.percent 101"},
		{"latency on loss", with("loss", func(r *Request) { r.Netem.Latency = time.Millisecond }), Options{}, "netem.latency/jitter: not used by loss"},
		{"bad rate", with("bandwidth", func(r *Request) { r.Netem.Rate = "fast" }), Options{}, `netem.rate "fast"`},
		{"no limit", with("bandwidth", func(r *Request) { r.Netem.Limit = 0 }), Options{}, "netem.limit and netem.buffer"},
		{"io without volume", with("io-latency", func(r *Request) { r.IO.VolumePath = "" }), Options{}, `io.volumePath ""`},
		{"io relative volume", with("io-latency", func(r *Request) { r.IO.VolumePath = "data" }), Options{}, `io.volumePath "data"`},
		{"io path outside", with("io-latency", func(r *Request) { r.IO.Path = "/etc/*" }), Options{}, `io.path "/etc/*"`},
		{"io latency zero", with("io-latency", func(r *Request) { r.IO.Latency = 0 }), Options{}, "io.latency: must be positive"},
		{"io fault errno zero", with("io-fault", func(r *Request) { r.IO.Errno = 0 }), Options{}, "io.errno: required"},
		{"io percent", with("io-fault", func(r *Request) { r.IO.Percent = 101 }), Options{}, "io.percent 101"},
		{"io method", with("io-latency", func(r *Request) { r.IO.Methods = []string{"fwrite"} }), Options{}, `io.methods: "fwrite"`},
		{"io on pod-kill", with("pod-kill", func(r *Request) { r.IO.VolumePath = "/data" }), Options{}, "io: not used by pod-kill"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj, err := Build(c.req, c.opts)
			if err == nil {
				t.Fatalf("Build accepted it: %+v", obj)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// TestNetemOnlyWhenToldAbsent: netem kinds build when the kernel is not said to lack it.
func TestNetemOnlyWhenToldAbsent(t *testing.T) {
	for _, k := range Kinds() {
		if k.NeedsNetem() {
			if _, err := Build(validRequests()[string(k)], Options{}); err != nil {
				t.Errorf("%s: %v", k, err)
			}
		}
	}
	for _, name := range []string{"partition-both", "pod-kill", "io-fault"} {
		if _, err := Build(validRequests()[name], Options{NoNetem: true}); err != nil {
			t.Errorf("%s without netem: %v", name, err)
		}
	}
}
