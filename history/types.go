package history

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Outcome is the fate of one write, as the client saw it. There are three,
// never two: see DESIGN.md, "The ledger".
type Outcome uint8

const (
	// Pending is an invoked write whose outcome was never recorded (the harness
	// stopped mid-write). Checkers treat it exactly like Unknown.
	Pending Outcome = iota
	// OK means the commit was acknowledged by the server.
	OK
	// Fail means the write was certainly not applied.
	Fail
	// Unknown means the write was sent but no acknowledgement came back.
	Unknown
)

// String returns the ledger spelling of the outcome.
func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Fail:
		return "fail"
	case Unknown:
		return "unknown"
	default:
		return "pending"
	}
}

// Indeterminate reports whether the write may or may not have been applied.
func (o Outcome) Indeterminate() bool { return o == Unknown || o == Pending }

// LSN is a PostgreSQL write-ahead log position.
type LSN uint64

// String formats the LSN the way PostgreSQL does: "16/B374D848".
func (l LSN) String() string {
	return string(l.AppendText(make([]byte, 0, 17)))
}

// AppendText appends the "X/X" form of the LSN to b (no allocation of its
// own: the ledger formats one per acknowledged write).
func (l LSN) AppendText(b []byte) []byte {
	b = appendUpperHex(b, uint64(l)>>32)
	b = append(b, '/')
	return appendUpperHex(b, uint64(l)&0xFFFFFFFF)
}

func appendUpperHex(b []byte, v uint64) []byte {
	const digits = "0123456789ABCDEF"
	if v == 0 {
		return append(b, '0')
	}
	var tmp [16]byte
	i := len(tmp)
	for v > 0 {
		i--
		tmp[i] = digits[v&0xF]
		v >>= 4
	}
	return append(b, tmp[i:]...)
}

// MarshalText encodes the LSN as "X/X" (so JSON carries a string).
func (l LSN) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText decodes "X/X".
func (l *LSN) UnmarshalText(b []byte) error {
	v, err := ParseLSN(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// ParseLSN parses PostgreSQL's "X/X" notation.
func ParseLSN(s string) (LSN, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("parsing LSN %q: want the form X/X", s)
	}
	h, err := strconv.ParseUint(hi, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("parsing LSN %q: %w", s, err)
	}
	l, err := strconv.ParseUint(lo, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("parsing LSN %q: %w", s, err)
	}
	return LSN(h<<32 | l), nil
}

// NodeID indexes Trial.Nodes: the servers that acknowledged writes.
type NodeID uint16

// NoNode marks an operation that no server acknowledged.
const NoNode NodeID = 0xFFFF

// Node is one server as the workload met it through a connection.
type Node struct {
	// Server is the address the server reported for the connection
	// (inet_server_addr:inet_server_port), or the dialled host:port.
	Server string `json:"server"`
	// Instance is a stable name: the server's cluster_name when set, else Server.
	Instance string `json:"instance"`
	// SystemID is the database system identifier (shared by a primary and
	// its physical replicas).
	SystemID string `json:"sysid,omitempty"`
	// Started is the server's pg_postmaster_start_time() as text: with
	// SystemID, what tells one server from another (a primary and its
	// replicas share the system identifier, never the postmaster).
	Started string `json:"started,omitempty"`
}

// Identity names the server a node is, independent of the address the
// client used: "sysid@started" when the ledger recorded both, else the
// address ("addr:host:port"), which is all an older ledger can say. Two
// nodes with one identity are one server reached through two addresses.
func (n Node) Identity() string {
	if n.Started != "" {
		return n.SystemID + "@" + n.Started
	}
	return "addr:" + n.Server
}

// Op is one write of the ledger. IDs are dense: Trial.Ops[i].ID == i+1.
// The layout is kept at 56 bytes: checkers hold millions of them.
type Op struct {
	ID int64
	// Invoke and Return are offsets from the trial's start on the harness's
	// monotonic clock. For an indeterminate op, Return is when the client gave
	// up; the write may have taken effect at any later time.
	Invoke time.Duration
	Return time.Duration
	// LSN is the server's WAL insert position returned with the commit (a
	// lower bound of the commit record's position). Zero unless OK.
	LSN LSN
	// ServerClock is the server's clock_timestamp() at the write, in Unix
	// microseconds. Zero unless OK.
	ServerClock int64
	Client      uint32
	// Timeline is the timeline the acknowledging server was on. Zero unless OK.
	Timeline uint32
	// Err indexes Trial.Errors (0 = no error).
	Err     uint32
	Node    NodeID
	Outcome Outcome
}

// Instance is one server the monitor observes.
type Instance struct {
	Name string `json:"name"`
	// Target is the redacted connection string the monitor used.
	Target string `json:"target"`
}

// InstanceID indexes Trial.Instances.
type InstanceID uint16

// Observation is one poll of one instance by the monitor.
type Observation struct {
	At         time.Duration
	WriteLSN   LSN // pg_current_wal_lsn() on a primary
	ReceiveLSN LSN // pg_last_wal_receive_lsn() on a replica
	ReplayLSN  LSN // pg_last_wal_replay_lsn() on a replica
	Timeline   uint32
	Err        uint32 // indexes Trial.Errors when unreachable
	Instance   InstanceID
	Reachable  bool
	InRecovery bool
	// Streaming reports a WAL receiver in state "streaming".
	Streaming bool
	// Ident indexes Trial.Errors with the server's identity
	// (pg_postmaster_start_time(), and the system identifier when
	// readable) when it was reachable; 0 when not recorded.
	Ident uint32
	// Upstream indexes Trial.Errors with the address a replica's WAL
	// receiver streams from ("host:port"); 0 when unknown or none.
	Upstream uint32
}

// FaultWindow is one injected fault: when it started and when it was reverted.
type FaultWindow struct {
	Name     string        `json:"name"`
	Target   string        `json:"target,omitempty"`
	Injected time.Duration `json:"injected_ns"`
	// Recovered is when the fault was reverted; zero if it never was.
	Recovered time.Duration `json:"recovered_ns,omitempty"`
	Detail    string        `json:"detail,omitempty"`
}

// Event is a named moment of a trial (a stage of recovery, a manual action).
type Event struct {
	At     time.Duration `json:"at_ns"`
	Kind   string        `json:"kind"`
	Detail string        `json:"detail,omitempty"`
}

// Well-known event kinds, used as stages of unavailability.
const (
	EventPromoted        = "new-primary-elected"
	EventEndpointSwitch  = "endpoint-switched"
	EventClientsRedirect = "clients-redirected"
	// EventClusterReady and EventClusterNotReady: the operator's view of the
	// cluster after a fault was recovered (within the ready timeout or not).
	EventClusterReady    = "cluster-ready"
	EventClusterNotReady = "cluster-not-ready"
	// EventFaultEffect says what a fault did to what it hit, as measured
	// by its mechanism (e.g. the fsyncs a slow-storage fault delayed).
	EventFaultEffect = "fault-effect"
)

// Expect are a fault's own expectations of the system under test, beyond
// the checks every trial gets (no lost acknowledged write, no split brain...).
type Expect struct {
	// NoFailover: the primary must stay the same instance (no promotion, no
	// acknowledgement on a newer timeline): a fault that spares the primary
	// must not cause a failover.
	NoFailover bool `json:"no_failover,omitempty"`
	// MaxWindow, when set, bounds every unavailability window that starts
	// during a fault (a replica's loss must not stop writes for long).
	MaxWindow time.Duration `json:"max_window_ns,omitempty"`
	// Heal: the cluster must be ready again after the fault is recovered.
	Heal bool `json:"heal,omitempty"`
}

// TimelineSwitch is one line of a timeline history file: timeline TLI ended
// at SwitchLSN and its child began there.
type TimelineSwitch struct {
	TLI       uint32 `json:"tli"`
	SwitchLSN LSN    `json:"switch_lsn"`
}

// IDRange is an inclusive range of write ids.
type IDRange struct {
	First int64 `json:"first"`
	Last  int64 `json:"last"`
}

// InstanceState is what was read from one instance after recovery.
type InstanceState struct {
	Name      string `json:"name"`
	Server    string `json:"server,omitempty"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	// Primary is true when the instance was not in recovery.
	Primary bool `json:"primary"`
	// SystemID and Started identify the server (see Node.Identity); empty
	// in a final state written before they were recorded.
	SystemID string `json:"sysid,omitempty"`
	Started  string `json:"started,omitempty"`
	// TableMissing: the workload's table does not exist on the instance
	// (an input error: the wrong server or database, not lost writes).
	TableMissing bool   `json:"table_missing,omitempty"`
	Timeline     uint32 `json:"timeline,omitempty"`
	LSN          LSN    `json:"lsn,omitempty"`
	// History is the timeline history of Timeline (empty on timeline 1);
	// HistoryError says why it could not be read.
	History      []TimelineSwitch `json:"history,omitempty"`
	HistoryError string           `json:"history_error,omitempty"`
	// Present holds the ids in the workload's table, sorted, as ranges.
	Present []IDRange `json:"present,omitempty"`
	// Duplicates lists ids found more than once, with their counts.
	Duplicates []Duplicate `json:"duplicates,omitempty"`
	Rows       int64       `json:"rows"`
}

// Duplicate is an id present Count times in a final table.
type Duplicate struct {
	ID    int64 `json:"id"`
	Count int64 `json:"count"`
}

// FinalState is the state read from every instance after recovery.
type FinalState struct {
	// ReadAt is the offset from the trial's start at which it was read.
	ReadAt    time.Duration   `json:"read_at_ns"`
	Instances []InstanceState `json:"instances"`
}

// Authoritative returns the index of the instance whose data is the
// cluster's data by the rule of Authority (with no system identifier to
// match), or -1 when the rule chooses none.
func (f *FinalState) Authoritative() int {
	return f.Authority(nil).Index
}

// Meta describes how a trial was run.
type Meta struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Start   time.Time `json:"start"`
	Target  string    `json:"target,omitempty"`
	Clients int       `json:"clients,omitempty"`
	Rate    float64   `json:"rate,omitempty"`
	Table   string    `json:"table,omitempty"`
	// Run tags the rows this trial wrote in Table.
	Run     int64  `json:"run,omitempty"`
	Seed    int64  `json:"seed,omitempty"`
	Command string `json:"command,omitempty"`
	PGChaos string `json:"pgchaos,omitempty"`
}

// Trial is everything recorded about one run, as the checkers read it.
type Trial struct {
	Meta  Meta
	Nodes []Node
	// Ops holds every invoked write, indexed by ID-1.
	Ops []Op
	// Truncated is true when the ledger has no end record: the harness
	// stopped abruptly and the ledger is a prefix.
	Truncated bool
	// End is the offset of the end record (or of the last record seen).
	End time.Duration
	// Errors interns error messages; Errors[0] is "".
	Errors       []string
	Instances    []Instance
	Observations []Observation
	Faults       []FaultWindow
	Events       []Event
	Final        *FinalState
}

// Error returns the error message of an op or observation.
func (t *Trial) Error(i uint32) string {
	if int(i) < len(t.Errors) {
		return t.Errors[i]
	}
	return ""
}

// NodeName names a node for people: "pg1 (127.0.0.1:5433)".
func (t *Trial) NodeName(n NodeID) string {
	if int(n) >= len(t.Nodes) {
		return "-"
	}
	nd := t.Nodes[n]
	if nd.Instance == "" || nd.Instance == nd.Server {
		return nd.Server
	}
	return nd.Instance + " (" + nd.Server + ")"
}

// Placement is where a fault struck relative to what runs the cluster: a
// fault on the primary's node also takes out an operator whose pod shares
// that node (and an operator that drives failover itself cannot act until
// its pod is evicted), or the clients' path into the cluster.
type Placement struct {
	// Policy is what the run asked for: "apart" (the operator kept off the
	// nodes a node fault hits), "together" (put on the primary's node on
	// purpose) or "as-scheduled" (left where it runs).
	Policy string `json:"policy"`
	// HitNodes are the nodes the fault acted on (node faults), else the
	// nodes of the instances it hit.
	HitNodes []string `json:"hit_nodes,omitempty"`
	// NodeFault: the fault acts on whole nodes (what runs there is hit too).
	NodeFault bool `json:"node_fault"`
	// Operator lists the operator's pods as pod@node.
	Operator []string `json:"operator,omitempty"`
	// OperatorHit: an operator pod ran on a node the node fault hit.
	OperatorHit bool `json:"operator_hit"`
	// Primary is the primary's instance at injection, as name@node.
	Primary string `json:"primary,omitempty"`
	// ClientsNode is the node whose address the workload connects through.
	ClientsNode string `json:"clients_node,omitempty"`
	// ClientsHit: the node fault hit the clients' path.
	ClientsHit bool `json:"clients_hit"`
	// Moved says what pgchaos did to honour Policy before the trial ("").
	Moved string `json:"moved,omitempty"`
	// Note says where the record falls short (the operator's pods could
	// not be listed, the move did not take).
	Note string `json:"note,omitempty"`
}

// Summary is the placement in one line, for reports.
func (p Placement) Summary() string {
	var b strings.Builder
	b.WriteString("hit " + orDash(strings.Join(p.HitNodes, "+")))
	if p.NodeFault {
		b.WriteString(" (node fault)")
	}
	b.WriteString("; primary " + orDash(p.Primary))
	b.WriteString("; operator " + orDash(strings.Join(p.Operator, ", ")))
	if p.NodeFault {
		if p.OperatorHit {
			b.WriteString(" — hit too")
		} else {
			b.WriteString(" — spared")
		}
	}
	if p.ClientsNode != "" {
		b.WriteString("; clients via " + p.ClientsNode)
		if p.ClientsHit {
			b.WriteString(" — hit too")
		}
	}
	b.WriteString("; policy " + p.Policy)
	if p.Moved != "" {
		b.WriteString(" (" + p.Moved + ")")
	}
	if p.Note != "" {
		b.WriteString("; " + p.Note)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
