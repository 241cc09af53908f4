package chaosmesh

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Kind is a fault Chaos Mesh can inject.
type Kind string

// Kinds of fault. Each maps to one Chaos Mesh object and action.
const (
	// PodKill deletes the selected pods (PodChaos pod-kill).
	PodKill Kind = "pod-kill"
	// ContainerKill kills the named containers of the selected pods
	// (PodChaos container-kill).
	ContainerKill Kind = "container-kill"
	// PodFailure makes the selected pods unavailable for the duration by
	// swapping their images for a pause image (PodChaos pod-failure).
	PodFailure Kind = "pod-failure"
	// Partition drops traffic between the selected pods and the peer pods
	// or external targets (NetworkChaos partition; iptables/ipset).
	Partition Kind = "partition"
	// NetDelay adds latency to outgoing packets (NetworkChaos delay; netem).
	NetDelay Kind = "delay"
	// NetLoss drops a percentage of packets (NetworkChaos loss; netem).
	NetLoss Kind = "loss"
	// NetDuplicate duplicates a percentage of packets (NetworkChaos duplicate; netem).
	NetDuplicate Kind = "duplicate"
	// NetCorrupt corrupts a percentage of packets (NetworkChaos corrupt; netem).
	NetCorrupt Kind = "corrupt"
	// NetBandwidth limits bandwidth (NetworkChaos bandwidth; tc).
	NetBandwidth Kind = "bandwidth"
	// IOLatency delays file system calls under a volume (IOChaos latency; FUSE).
	IOLatency Kind = "io-latency"
	// IOFault fails file system calls under a volume with an errno (IOChaos fault; FUSE).
	IOFault Kind = "io-fault"
)

// Kinds lists every Kind, in one place.
func Kinds() []Kind {
	return []Kind{PodKill, ContainerKill, PodFailure, Partition,
		NetDelay, NetLoss, NetDuplicate, NetCorrupt, NetBandwidth, IOLatency, IOFault}
}

// NeedsNetem reports whether Chaos Mesh implements k with tc queueing
// disciplines (sch_netem) in the target's network namespace.
func (k Kind) NeedsNetem() bool {
	switch k {
	case NetDelay, NetLoss, NetDuplicate, NetCorrupt, NetBandwidth:
		return true
	}
	return false
}

func (k Kind) network() bool { return k == Partition || k.NeedsNetem() }
func (k Kind) io() bool      { return k == IOLatency || k == IOFault }

// Mode says how many of the pods a Selector matches are hit.
type Mode string

// Modes.
const (
	// One hits one of the matching pods, chosen by Chaos Mesh.
	One Mode = "one"
	// All hits every matching pod.
	All Mode = "all"
)

// Direction is the direction of the traffic a network fault acts on, seen
// from the Target pods.
type Direction string

// Directions.
const (
	// To is traffic from the target pods to the peer.
	To Direction = "to"
	// From is traffic from the peer to the target pods.
	From Direction = "from"
	// Both is traffic either way.
	Both Direction = "both"
)

// Selector picks pods by name and/or labels in one namespace.
type Selector struct {
	// Namespace of the pods; empty means the Request's namespace.
	Namespace string
	// Pods are pod names; with Labels too, a pod must match both.
	Pods []string
	// Labels every selected pod carries.
	Labels map[string]string
	// Mode says whether one or all matching pods are hit.
	Mode Mode
}

// Netem are the parameters of the netem-based network kinds.
type Netem struct {
	// Latency and Jitter of NetDelay.
	Latency, Jitter time.Duration
	// Percent of packets lost, duplicated or corrupted (0 < Percent <= 100).
	Percent float64
	// Rate of NetBandwidth, in tc's units (e.g. "1mbps", "10mbit").
	Rate string
	// Limit and Buffer of NetBandwidth's token bucket, in bytes (>= 1).
	Limit, Buffer uint32
}

// IO are the parameters of IOLatency and IOFault.
type IO struct {
	// VolumePath is the mount point of the volume inside the container
	// (e.g. /var/lib/postgresql/data); required.
	VolumePath string
	// Path is a glob of the files hit (e.g. /var/lib/postgresql/data/pgdata/pg_wal/**);
	// empty means every file under VolumePath.
	Path string
	// Latency added to each matching call (IOLatency).
	Latency time.Duration
	// Errno returned by matching calls (IOFault), e.g. 28 (ENOSPC) or 5 (EIO).
	Errno uint32
	// Percent of matching calls hit (1..100); 0 means 100.
	Percent int
	// Methods are the file system calls hit (e.g. "write", "fsync");
	// empty means every call.
	Methods []string
}

// Request declares one Chaos Mesh fault.
type Request struct {
	// Kind of fault.
	Kind Kind
	// Name of the object; empty derives one from Kind, RunID and the
	// request's content (stable: building the same request twice names it the same).
	Name string
	// Namespace of the object, and the default namespace of the selectors.
	Namespace string
	// Target selects the pods the fault hits.
	Target Selector
	// Containers are the container names hit: required by ContainerKill,
	// optional for the IO kinds (Chaos Mesh's default is the first container).
	Containers []string
	// GracePeriod of PodKill (0: deleted immediately).
	GracePeriod time.Duration
	// Direction of a network kind; empty means To.
	Direction Direction
	// Peer is the other side of a network kind: the pods on the far side of
	// a Partition (one of Peer or External is required for Partition).
	Peer *Selector
	// External are addresses, CIDRs or host names outside the cluster on the
	// far side of a network kind.
	External []string
	// Netem parameters of the netem-based kinds.
	Netem Netem
	// IO parameters of IOLatency and IOFault.
	IO IO
	// Duration of the fault; 0 lasts until the object is deleted.
	Duration time.Duration
	// RunID labels the object (operators.RunIDLabel); required.
	RunID string
}

// Options are facts about the target cluster that Build checks requests against.
type Options struct {
	// NoNetem says the nodes' kernel lacks sch_netem: the netem-based kinds
	// are then rejected (they would be accepted and never take effect).
	NoNetem bool
}

// ioMethods are the file system calls Chaos Mesh's IOChaos knows.
func ioMethods() []string {
	return []string{"lookup", "forget", "getattr", "setattr", "readlink", "mknod", "mkdir",
		"unlink", "rmdir", "symlink", "rename", "link", "open", "read", "write", "flush",
		"release", "fsync", "opendir", "readdir", "releasedir", "fsyncdir", "statfs",
		"setxattr", "getxattr", "listxattr", "removexattr", "access", "create", "getlk",
		"setlk", "bmap"}
}

// Validate reports the first unusable field of r in one line naming it.
func (r Request) Validate(opts Options) error {
	if err := r.validate(opts); err != nil {
		kind := string(r.Kind)
		if kind == "" {
			kind = "chaos"
		}
		return fmt.Errorf("%s request: %w", kind, err)
	}
	return nil
}

func (r Request) validate(opts Options) error {
	known := false
	for _, k := range Kinds() {
		known = known || k == r.Kind
	}
	switch {
	case r.Kind == "":
		return errors.New("kind is required")
	case !known:
		return fmt.Errorf("kind %q is unknown (one of %s)", r.Kind, kindList())
	case opts.NoNetem && r.Kind.NeedsNetem():
		return fmt.Errorf("kind %s needs sch_netem, absent on this kernel", r.Kind)
	case r.RunID == "":
		return errors.New("runID is required (it labels the object)")
	}
	if errs := validation.IsValidLabelValue(r.RunID); len(errs) > 0 {
		return fmt.Errorf("runID %q: %s", r.RunID, errs[0])
	}
	if err := dns1123("namespace", r.Namespace, true); err != nil {
		return err
	}
	if r.Name != "" {
		if errs := validation.IsDNS1123Subdomain(r.Name); len(errs) > 0 {
			return fmt.Errorf("name %q: %s", r.Name, errs[0])
		}
	}
	if err := r.Target.validate("target"); err != nil {
		return err
	}
	if r.Duration < 0 {
		return fmt.Errorf("duration %s: must not be negative", r.Duration)
	}
	if r.GracePeriod != 0 && r.Kind != PodKill {
		return fmt.Errorf("gracePeriod: only for %s", PodKill)
	}
	if r.GracePeriod < 0 || r.GracePeriod%time.Second != 0 {
		return fmt.Errorf("gracePeriod %s: must be whole non-negative seconds", r.GracePeriod)
	}
	if r.Kind == ContainerKill && len(r.Containers) == 0 {
		return errors.New("containers: required by container-kill")
	}
	if len(r.Containers) > 0 && r.Kind != ContainerKill && !r.Kind.io() {
		return fmt.Errorf("containers: not used by %s", r.Kind)
	}
	for _, c := range r.Containers {
		if err := dns1123("containers", c, true); err != nil {
			return err
		}
	}
	if err := r.validateNetwork(); err != nil {
		return err
	}
	if r.Kind.io() {
		return r.IO.validate(r.Kind)
	}
	if r.IO.VolumePath != "" {
		return fmt.Errorf("io: not used by %s", r.Kind)
	}
	return nil
}

func (r Request) validateNetwork() error {
	if !r.Kind.network() {
		if r.Direction != "" || r.Peer != nil || len(r.External) > 0 {
			return fmt.Errorf("direction/peer/external: not used by %s", r.Kind)
		}
		return nil
	}
	switch r.Direction {
	case "", To, From, Both:
	default:
		return fmt.Errorf("direction %q: must be to, from or both", r.Direction)
	}
	if r.Peer != nil {
		if err := r.Peer.validate("peer"); err != nil {
			return err
		}
	}
	for _, e := range r.External {
		if strings.TrimSpace(e) == "" || strings.ContainsAny(e, " \t") {
			return fmt.Errorf("external %q: must be an address, a CIDR or a host name", e)
		}
	}
	if r.Kind == Partition && r.Peer == nil && len(r.External) == 0 {
		return errors.New("peer or external: a partition needs the other side")
	}
	// Chaos Mesh's own rule (its webhook): netem from/both needs peer pods.
	if r.Kind.NeedsNetem() && (r.Direction == From || r.Direction == Both) && r.Peer == nil {
		return fmt.Errorf("direction %s: needs peer pods for %s", r.Direction, r.Kind)
	}
	if r.Kind.NeedsNetem() && (r.Direction == From || r.Direction == Both) && len(r.External) > 0 {
		return fmt.Errorf("direction %s: external targets work only with direction to for %s", r.Direction, r.Kind)
	}
	n := r.Netem
	switch r.Kind {
	case NetDelay:
		if n.Latency <= 0 {
			return errors.New("netem.latency: must be positive for delay")
		}
		if n.Jitter < 0 {
			return errors.New("netem.jitter: must not be negative")
		}
	case NetLoss, NetDuplicate, NetCorrupt:
		if n.Percent <= 0 || n.Percent > 100 {
			return fmt.Errorf("netem.percent %g: must be in (0, 100] for %s", n.Percent, r.Kind)
		}
	case NetBandwidth:
		if !validRate(n.Rate) {
			return fmt.Errorf("netem.rate %q: must be a whole number with a unit (bit, kbit, mbit, gbit, tbit, bps, kbps, mbps, gbps, tbps)", n.Rate)
		}
		if n.Limit < 1 || n.Buffer < 1 {
			return errors.New("netem.limit and netem.buffer: must be at least 1 byte for bandwidth")
		}
	}
	if r.Kind != NetDelay && (n.Latency != 0 || n.Jitter != 0) {
		return fmt.Errorf("netem.latency/jitter: not used by %s", r.Kind)
	}
	return nil
}

func (io IO) validate(k Kind) error {
	switch {
	case io.VolumePath == "" || !strings.HasPrefix(io.VolumePath, "/"):
		return fmt.Errorf("io.volumePath %q: an absolute mount path is required", io.VolumePath)
	case io.Path != "" && !strings.HasPrefix(io.Path, io.VolumePath):
		return fmt.Errorf("io.path %q: must lie under io.volumePath %q", io.Path, io.VolumePath)
	case io.Percent < 0 || io.Percent > 100:
		return fmt.Errorf("io.percent %d: must be in 1..100 (0 means 100)", io.Percent)
	case k == IOLatency && io.Latency <= 0:
		return errors.New("io.latency: must be positive for io-latency")
	case k == IOLatency && io.Errno != 0:
		return errors.New("io.errno: not used by io-latency")
	case k == IOFault && io.Errno == 0:
		return errors.New("io.errno: required (non-zero) for io-fault")
	case k == IOFault && io.Latency != 0:
		return errors.New("io.latency: not used by io-fault")
	}
	for _, m := range io.Methods {
		ok := false
		for _, known := range ioMethods() {
			ok = ok || m == known
		}
		if !ok {
			return fmt.Errorf("io.methods: %q is not a file system call Chaos Mesh knows", m)
		}
	}
	return nil
}

func (s Selector) validate(field string) error {
	if s.Namespace != "" {
		if err := dns1123(field+".namespace", s.Namespace, true); err != nil {
			return err
		}
	}
	switch s.Mode {
	case One, All:
	case "":
		return fmt.Errorf("%s.mode: required (one or all)", field)
	default:
		return fmt.Errorf("%s.mode %q: must be one or all", field, s.Mode)
	}
	if len(s.Pods) == 0 && len(s.Labels) == 0 {
		return fmt.Errorf("%s: pods or labels are required (an empty selector would match every pod)", field)
	}
	for _, p := range s.Pods {
		if errs := validation.IsDNS1123Subdomain(p); len(errs) > 0 {
			return fmt.Errorf("%s.pods %q: %s", field, p, errs[0])
		}
	}
	for k, v := range s.Labels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("%s.labels key %q: %s", field, k, errs[0])
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return fmt.Errorf("%s.labels %s=%q: %s", field, k, v, errs[0])
		}
	}
	return nil
}

func dns1123(field, v string, required bool) error {
	if v == "" {
		if required {
			return fmt.Errorf("%s: required", field)
		}
		return nil
	}
	if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
		return fmt.Errorf("%s %q: %s", field, v, errs[0])
	}
	return nil
}

// validRate mirrors Chaos Mesh's rate check: a whole number and a tc unit.
func validRate(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, u := range []string{"kbit", "mbit", "gbit", "tbit", "tbps", "gbps", "mbps", "kbps", "bps", "bit"} {
		if n, ok := strings.CutSuffix(s, u); ok {
			n = strings.TrimSpace(n)
			if n == "" {
				return false
			}
			for _, c := range n {
				if c < '0' || c > '9' {
					return false
				}
			}
			return true
		}
	}
	return false
}

func kindList() string {
	var s []string
	for _, k := range Kinds() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}
