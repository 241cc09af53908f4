package operators

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// RunIDLabel labels every object pgchaos creates with the id of its run, so
// that cleanup finds them all.
const RunIDLabel = "pgchaos.io/run-id"

// OperatorLabel marks the objects of an operator's installation (value: the
// adapter's name). Cleanup leaves them alone: an operator outlives runs.
const OperatorLabel = "pgchaos.io/operator"

// Ref names a Postgres cluster.
type Ref struct {
	Namespace string
	Name      string
}

func (r Ref) String() string { return r.Namespace + "/" + r.Name }

// ClusterSpec describes the Postgres cluster to create.
type ClusterSpec struct {
	Ref
	// Instances is the number of PostgreSQL instances (primary included).
	Instances int
	// Synchronous asks for quorum synchronous replication (ANY 1 of the
	// standbys); false is asynchronous streaming replication.
	Synchronous bool
	// StorageClass is the PVC storage class; empty uses the default class.
	StorageClass string
	// StorageSize is the PVC size, e.g. "1Gi".
	StorageSize string
	// Resources of each PostgreSQL container.
	Resources corev1.ResourceRequirements
	// Image is the PostgreSQL image; empty uses the operator's default.
	Image string
	// PullPolicy of the PostgreSQL image; empty uses the operator's default.
	PullPolicy corev1.PullPolicy
	// RunID labels the cluster and, through it, everything the operator creates.
	RunID string
}

// Validate reports the first unusable field.
func (s ClusterSpec) Validate() error {
	switch {
	case s.Name == "" || s.Namespace == "":
		return errors.New("cluster spec: name and namespace are required")
	case s.Instances < 1:
		return fmt.Errorf("cluster spec %s: instances must be at least 1, got %d", s.Ref, s.Instances)
	case s.Synchronous && s.Instances < 2:
		return fmt.Errorf("cluster spec %s: synchronous replication needs at least 2 instances", s.Ref)
	case s.StorageSize == "":
		return fmt.Errorf("cluster spec %s: storage size is required (e.g. 1Gi)", s.Ref)
	}
	return nil
}

// Role is an instance's role as the operator reports it.
type Role string

// Roles.
const (
	RolePrimary Role = "primary"
	RoleReplica Role = "replica"
	RoleUnknown Role = "unknown"
)

// Instance is one PostgreSQL instance and the pod that runs it.
type Instance struct {
	// Name is the instance name the operator uses (for CloudNativePG, the pod name).
	Name string
	Pod  string
	// Container is the PostgreSQL container of the pod.
	Container string
	Node      string
	PodIP     string
	Role      Role
	Ready     bool
	// Selector selects exactly this instance's pod (for a per-instance
	// Service); nil when the operator's labels cannot single it out.
	Selector map[string]string
	// Layout is where PostgreSQL keeps its files in Container and which
	// port it listens on: the adapter's knowledge, for the faults.
	Layout Layout
}

// Layout is an instance's PostgreSQL layout inside its container.
type Layout struct {
	// DataDir is the data directory ($PGDATA), absolute.
	DataDir string
	// VolumePath is the mount path of the volume that holds DataDir.
	VolumePath string
	// Port is PostgreSQL's port (5432 unless the adapter says otherwise).
	Port int
}

// Validate reports the first field missing or inconsistent.
func (l Layout) Validate() error {
	switch {
	case l.DataDir == "" || l.DataDir[0] != '/':
		return fmt.Errorf("layout: data directory %q is not an absolute path", l.DataDir)
	case l.VolumePath == "" || !strings.HasPrefix(l.DataDir+"/", strings.TrimSuffix(l.VolumePath, "/")+"/"):
		return fmt.Errorf("layout: data directory %s is not on the volume mounted at %q", l.DataDir, l.VolumePath)
	case l.Port <= 0 || l.Port > 65535:
		return fmt.Errorf("layout: port %d out of range", l.Port)
	}
	return nil
}

// Endpoint is the Service that routes to the current primary.
type Endpoint struct {
	Namespace string
	Service   string
	Port      int32
	// Selector is the Service's pod selector (the operator's definition of
	// "the primary"), copied by pgchaos's own NodePort Service. Nil when the
	// Service has none: its endpoints are written by the stack itself
	// (Patroni), and pgchaos uses the Service as it is.
	Selector map[string]string
	// NodePort is the Service's node port (NodePort and LoadBalancer
	// Services), 0 when it has none.
	NodePort int32
}

// Credentials are a PostgreSQL role, its password and a database.
type Credentials struct {
	User     string
	Password string
	Database string
}

// Access selects whose credentials to read.
type Access int

// Accesses: the application's role (the workload) and a superuser (the
// monitor and the final read need pg_stat_wal_receiver and pg_read_file).
const (
	AccessApp Access = iota
	AccessSuperuser
)

// Cluster is a running Postgres cluster as seen through its operator.
type Cluster interface {
	Ref() Ref
	// WaitReady waits until every instance runs and replicates and the
	// operator reports the cluster healthy.
	WaitReady(ctx context.Context) error
	// Instances lists the instances with their roles and pods.
	Instances(ctx context.Context) ([]Instance, error)
	// ReadWrite returns the operator's read-write Service.
	ReadWrite(ctx context.Context) (Endpoint, error)
	// Credentials reads the credentials of the given access from the cluster.
	Credentials(ctx context.Context, a Access) (Credentials, error)
}

// Operator installs an operator and creates clusters with it.
type Operator interface {
	// Name is the adapter's name on the command line ("cnpg").
	Name() string
	// Install installs the operator (its configured version) and waits until it runs.
	Install(ctx context.Context) error
	// Create creates a cluster and returns it without waiting for it.
	Create(ctx context.Context, spec ClusterSpec) (Cluster, error)
	// Open returns an existing cluster.
	Open(ref Ref) Cluster
	// Delete deletes a cluster and waits until its pods are gone.
	Delete(ctx context.Context, ref Ref) error
}

// Switchover is a Cluster whose operator can move the primary role to
// another instance on purpose (a planned switchover).
type Switchover interface {
	// Switchover asks the operator to promote the named instance; it returns
	// once the request is accepted, not when the switchover is complete.
	Switchover(ctx context.Context, instance string) error
}

// SwitchoverCandidates is a Switchover whose operator accepts only some
// replicas as the new primary (Patroni in synchronous mode: only a
// synchronous standby).
type SwitchoverCandidates interface {
	// SwitchoverCandidates names the instances a switchover may promote now.
	SwitchoverCandidates(ctx context.Context) ([]string, error)
}

// Primary returns the one instance the operator reports as primary.
func Primary(ctx context.Context, c Cluster) (Instance, error) {
	ins, err := c.Instances(ctx)
	if err != nil {
		return Instance{}, fmt.Errorf("finding primary of %s: %w", c.Ref(), err)
	}
	return PrimaryOf(ins, c.Ref())
}

// PrimaryOf picks the one primary of a list; none or two are errors.
func PrimaryOf(ins []Instance, ref Ref) (Instance, error) {
	var ps []Instance
	for _, in := range ins {
		if in.Role == RolePrimary {
			ps = append(ps, in)
		}
	}
	switch len(ps) {
	case 1:
		return ps[0], nil
	case 0:
		return Instance{}, fmt.Errorf("finding primary of %s: no instance is labelled primary (%d instances)", ref, len(ins))
	default:
		names := make([]string, len(ps))
		for i, p := range ps {
			names[i] = p.Name
		}
		return Instance{}, fmt.Errorf("finding primary of %s: %d instances labelled primary: %s", ref, len(ps), strings.Join(names, ", "))
	}
}

// Replicas returns the instances labelled replica.
func Replicas(ins []Instance) []Instance {
	var out []Instance
	for _, in := range ins {
		if in.Role == RoleReplica {
			out = append(out, in)
		}
	}
	return out
}
