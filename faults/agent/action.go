package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/faults/iofs"
)

// Kind is what an action does.
type Kind string

// Kinds of action.
const (
	// Partition drops packets in a network namespace (a pod's, or a node
	// container's) with iptables: see Action's partition fields.
	Partition Kind = "partition"
	// Freeze SIGSTOPs the PostgreSQL processes of a pod (the postmaster and
	// every backend); revert SIGCONTs the same processes.
	Freeze Kind = "freeze"
	// NodeStop stops a kind node container (docker stop); revert starts it.
	NodeStop Kind = "node-stop"
	// NodeKill kills a kind node container (docker kill); revert starts it.
	NodeKill Kind = "node-kill"
	// NodePause freezes a kind node container (docker pause); revert unpauses it.
	NodePause Kind = "node-pause"
	// IOFS sets a storage fault (Action.Storage) on the node's pgchaos-iofs
	// filesystem through its control socket, with the action's deadline as
	// the filesystem's own dead man's switch; revert clears it.
	IOFS Kind = "iofs"
)

// Kinds lists every kind of action.
func Kinds() []Kind { return []Kind{Partition, Freeze, NodeStop, NodeKill, NodePause, IOFS} }

// Action is one fault applied by an executor, with its deadline.
type Action struct {
	// ID names the action uniquely on its executor (letters, digits, '-', '.').
	ID string `json:"id"`
	// RunID is the run that applied it (cleanup reverts a run's actions).
	RunID string `json:"run_id"`
	Kind  Kind   `json:"kind"`
	// Deadline is when the executor reverts the action by itself.
	Deadline time.Time `json:"deadline"`

	// PodUID selects the pod whose network namespace (Partition) or
	// processes (Freeze) are hit; Pod names it in messages (namespace/name).
	PodUID string `json:"pod_uid,omitempty"`
	Pod    string `json:"pod,omitempty"`
	// Container selects a kind node container (NodeStop, NodeKill,
	// NodePause; Partition when PodUID is empty: the node's own namespace).
	Container string `json:"container,omitempty"`

	// Peers are the addresses (IP or CIDR) whose packets are dropped, both
	// ways; empty means every address.
	Peers []string `json:"peers,omitempty"`
	// Except are addresses never dropped (they pass before any drop rule).
	Except []string `json:"except,omitempty"`
	// Ports limits the drop to TCP traffic to or from these local ports.
	Ports []int `json:"ports,omitempty"`
	// Iface limits the drop to traffic through this interface, forwarded
	// traffic included (a node container's eth0: the node is cut from the
	// network while its own pods still reach it). Empty: every interface
	// but loopback.
	Iface string `json:"iface,omitempty"`

	// Storage is the storage fault of an IOFS action. Its prefixes are
	// relative to the node's pgchaos-iofs mount and must name a volume's
	// directory (never the whole mount: other volumes live there too).
	Storage *iofs.Spec `json:"storage,omitempty"`

	// Applied is set by the executor once the action took effect.
	Applied time.Time `json:"applied,omitzero"`
	// Frozen are the processes a Freeze stopped (pid and start time, so a
	// reused pid is never touched).
	Frozen []Proc `json:"frozen,omitempty"`
}

// Proc is a process identified beyond its pid.
type Proc struct {
	PID int `json:"pid"`
	// Start is the start time in clock ticks since boot (/proc/PID/stat field 22).
	Start uint64 `json:"start"`
}

var (
	idRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,79}$`)
	ifaceRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,15}$`)
)

// Validate reports the first unusable field of a.
func (a Action) Validate() error {
	if !idRE.MatchString(a.ID) {
		return fmt.Errorf("action id %q: want 1-80 letters, digits, '-' or '.'", a.ID)
	}
	if a.Deadline.IsZero() {
		return fmt.Errorf("action %s: a deadline is required (the dead man's switch)", a.ID)
	}
	switch a.Kind {
	case Partition:
		if a.PodUID == "" && a.Container == "" {
			return fmt.Errorf("action %s: partition needs a pod uid or a node container", a.ID)
		}
		for _, p := range append(append([]string(nil), a.Peers...), a.Except...) {
			if _, err := parseAddr(p); err != nil {
				return fmt.Errorf("action %s: %w", a.ID, err)
			}
		}
		for _, p := range a.Ports {
			if p < 1 || p > 65535 {
				return fmt.Errorf("action %s: port %d out of range", a.ID, p)
			}
		}
		if a.Iface != "" && !ifaceRE.MatchString(a.Iface) {
			return fmt.Errorf("action %s: interface %q is not a valid name", a.ID, a.Iface)
		}
	case Freeze:
		if a.PodUID == "" {
			return fmt.Errorf("action %s: freeze needs a pod uid", a.ID)
		}
	case NodeStop, NodeKill, NodePause:
		if a.Container == "" {
			return fmt.Errorf("action %s: %s needs a node container", a.ID, a.Kind)
		}
	case IOFS:
		if err := validStorage(a.Storage); err != nil {
			return fmt.Errorf("action %s: %w", a.ID, err)
		}
	default:
		var ks []string
		for _, k := range Kinds() {
			ks = append(ks, string(k))
		}
		return fmt.Errorf("action %s: unknown kind %q (have: %s)", a.ID, a.Kind, strings.Join(ks, ", "))
	}
	return nil
}

// parseAddr accepts an IP or a CIDR and returns it as a prefix.
func parseAddr(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("address %q is neither an IP nor a CIDR", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Expired reports whether the deadline has passed at now.
func (a Action) Expired(now time.Time) bool { return !now.Before(a.Deadline) }

// Describe says in a few words what the action does.
func (a Action) Describe() string {
	where := a.Pod
	switch {
	case where == "" && a.PodUID != "":
		where = "pod uid " + a.PodUID
	case where == "":
		where = "node " + a.Container
	}
	switch a.Kind {
	case Partition:
		what := "all traffic"
		if len(a.Peers) > 0 {
			what = "traffic with " + strings.Join(a.Peers, ",")
		}
		if len(a.Ports) > 0 {
			what += fmt.Sprintf(" on tcp ports %v", a.Ports)
		}
		if a.Iface != "" {
			what += " via " + a.Iface
		}
		if len(a.Except) > 0 {
			what += " except " + strings.Join(a.Except, ",")
		}
		return "drop " + what + " in " + where
	case Freeze:
		return "SIGSTOP every PostgreSQL process of " + where
	case IOFS:
		if a.Storage == nil {
			return "storage fault (none given) for " + where
		}
		return "storage fault " + a.Storage.String() + " for " + where
	default:
		return string(a.Kind) + " " + where
	}
}

// Encode is the action as one line of JSON (what Client passes to the agent).
func (a Action) Encode() (string, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("encoding action %s: %w", a.ID, err)
	}
	return string(b), nil
}

// Decode reads and validates an action.
func Decode(s string) (Action, error) {
	var a Action
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		return Action{}, fmt.Errorf("decoding action: %w", err)
	}
	if err := a.Validate(); err != nil {
		return Action{}, err
	}
	return a, nil
}

// ErrNotFound is returned for an action id the executor does not hold.
var ErrNotFound = errors.New("no such action")

// validStorage checks the storage fault of an IOFS action: something to do,
// and every prefix in use a clean relative path inside one volume's
// directory ("pvc-1_ns_pg-1/pgdata/pg_wal/").
func validStorage(s *iofs.Spec) error {
	if s == nil || s.Empty() {
		return errors.New("iofs needs a storage fault (a delay or ENOSPC)")
	}
	if err := s.Validate(); err != nil {
		return err
	}
	var prefixes []string
	if s.WriteDelay > 0 || s.FsyncDelay > 0 {
		prefixes = append(prefixes, s.DelayPrefix)
	}
	if s.ENOSPC {
		prefixes = append(prefixes, s.ENOSPCPrefix)
	}
	for _, p := range prefixes {
		if err := validPrefix(p); err != nil {
			return err
		}
	}
	return nil
}

// validPrefix accepts "dir/" or "dir/sub/...": relative, no "." or ".."
// element, no empty element, ending in "/" so that it never matches a
// sibling ("pvc-1" would match "pvc-10").
func validPrefix(p string) error {
	if p == "" {
		return errors.New("storage fault prefix is empty: it would hit every volume of the node")
	}
	if !strings.HasSuffix(p, "/") {
		return fmt.Errorf("storage fault prefix %q must end with \"/\"", p)
	}
	for _, el := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if el == "" || el == "." || el == ".." {
			return fmt.Errorf("storage fault prefix %q must be a clean relative path (element %q)", p, el)
		}
	}
	return nil
}
