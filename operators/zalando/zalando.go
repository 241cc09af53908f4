package zalando

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
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ClusterGVK is the operator's postgresql kind.
var ClusterGVK = schema.GroupVersionKind{Group: "acid.zalan.do", Version: "v1", Kind: "postgresql"}

// The operator's labels and names (pkg/util/config/config.go defaults,
// pkg/cluster/types.go).
const (
	LabelApplication = "application"
	LabelCluster     = "cluster-name"
	LabelRole        = "spilo-role"
	RoleMaster       = "master"
	RoleReplica      = "replica"
	Container        = "postgres"
	// VolumePath is where the operator mounts the data volume; PGROOT is
	// $VolumePath/pgroot and the data directory $PGROOT/data.
	VolumePath = "/home/postgres/pgdata"
	DataDir    = VolumePath + "/pgroot/data"
	// StatusRunning is status.PostgresClusterStatus of a healthy cluster.
	StatusRunning = "Running"
	// AppUser and AppDatabase are the role and database pgchaos asks for.
	AppUser     = "app"
	AppDatabase = "app"
)

// Operator is the Zalando postgres-operator adapter.
type Operator struct {
	opts operators.Options
	// ManifestDir, when set, holds the manifests instead of the module.
	manifestDir string
}

var (
	_ operators.Operator             = (*Operator)(nil)
	_ operators.Cluster              = (*Cluster)(nil)
	_ operators.Switchover           = (*Cluster)(nil)
	_ operators.SwitchoverCandidates = (*Cluster)(nil)
)

// New returns the adapter's Operator. opts.Manifest, when set, is a
// directory holding a copy of the module's manifests/.
func New(opts operators.Options) *Operator {
	opts = opts.WithDefaults(DefaultVersion)
	return &Operator{opts: opts, manifestDir: opts.Manifest}
}

// Name is "zalando".
func (o *Operator) Name() string { return "zalando" }

// Install applies the manifests (server-side), the CRD first, and waits
// until the operator's Deployment is available.
func (o *Operator) Install(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.opts.InstallTimeout)
	defer cancel()
	objs, err := Manifest(ctx, o.opts, o.manifestDir)
	if err != nil {
		return err
	}
	kc := o.opts.Kube
	for _, ob := range objs {
		if err := kc.Apply(ctx, ob); err != nil {
			return fmt.Errorf("installing Zalando's operator %s: %w", o.opts.Version, err)
		}
		if ob.GetKind() == "CustomResourceDefinition" {
			if err := kc.WaitCRDEstablished(ctx, ob.GetName()); err != nil {
				return fmt.Errorf("installing Zalando's operator %s: %w", o.opts.Version, err)
			}
		}
	}
	if err := kc.WaitDeploymentAvailable(ctx, OperatorNamespace, OperatorDeployment); err != nil {
		return fmt.Errorf("installing Zalando's operator %s: %w", o.opts.Version, err)
	}
	return nil
}

// ClusterObject builds the postgresql resource for spec. Synchronous is
// Patroni's synchronous_mode with one synchronous standby, strict: writes
// wait rather than degrade to asynchronous (as CloudNativePG's
// dataDurability: required). The count is always stated: the operator
// compares it with Patroni's on every sync.
func ClusterObject(spec operators.ClusterSpec) (*unstructured.Unstructured, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if len(spec.Name) > 58 || strings.ContainsAny(spec.Name, "._") {
		return nil, fmt.Errorf("cluster spec %s: the operator wants a DNS-1035 name of at most 58 characters", spec.Ref)
	}
	vol := map[string]any{"size": spec.StorageSize}
	if spec.StorageClass != "" {
		vol["storageClass"] = spec.StorageClass
	}
	s := map[string]any{
		"teamId":            "pgchaos",
		"numberOfInstances": int64(spec.Instances),
		"postgresql":        map[string]any{"version": "15"},
		"volume":            vol,
		"users":             map[string]any{AppUser: []any{"createdb"}},
		"databases":         map[string]any{AppDatabase: AppUser},
		"patroni": map[string]any{
			"synchronous_mode":        spec.Synchronous,
			"synchronous_mode_strict": spec.Synchronous,
			"synchronous_node_count":  int64(1),
		},
	}
	if spec.Image != "" {
		s["dockerImage"] = spec.Image
	}
	if r, err := generic.Resources(spec.Resources); err != nil {
		return nil, fmt.Errorf("cluster %s: resources: %w", spec.Ref, err)
	} else if r != nil {
		s["resources"] = r
	}
	u := &unstructured.Unstructured{Object: map[string]any{"spec": s}}
	u.SetGroupVersionKind(ClusterGVK)
	u.SetName(spec.Name)
	u.SetNamespace(spec.Namespace)
	if spec.RunID != "" {
		u.SetLabels(map[string]string{operators.RunIDLabel: spec.RunID})
	}
	return u, nil
}

// Create applies the postgresql object.
func (o *Operator) Create(ctx context.Context, spec operators.ClusterSpec) (operators.Cluster, error) {
	obj, err := ClusterObject(spec)
	if err != nil {
		return nil, err
	}
	if err := o.opts.Kube.EnsureNamespace(ctx, spec.Namespace, map[string]string{operators.RunIDLabel: spec.RunID, operators.AllowChaosLabel: "true"}); err != nil {
		return nil, err
	}
	if err := o.opts.Kube.Apply(ctx, obj); err != nil {
		return nil, fmt.Errorf("creating cluster %s: %w", spec.Ref, err)
	}
	return o.Open(spec.Ref), nil
}

// Open returns the cluster named ref.
func (o *Operator) Open(ref operators.Ref) operators.Cluster { return o.open(ref) }

func (o *Operator) open(ref operators.Ref) *Cluster {
	g, err := generic.New(o.opts.Kube, GenericConfig(ref))
	if err != nil {
		panic(fmt.Sprintf("zalando: the built-in generic config is invalid: %v", err)) // a bug, not input
	}
	return &Cluster{Cluster: g, kc: o.opts.Kube, ref: ref, readyTimeout: o.opts.ReadyTimeout}
}

// SecretName is the operator's Secret of a role (secret_name_template).
func SecretName(user, cluster string) string {
	return user + "." + cluster + ".credentials.postgresql.acid.zalan.do"
}

// GenericConfig describes the operator's objects for the generic adapter.
// Instances are singled out by their StatefulSet pod name.
func GenericConfig(ref operators.Ref) generic.Config {
	return generic.Config{
		Ref:              ref,
		Instances:        LabelApplication + "=spilo," + LabelCluster + "=" + ref.Name,
		Primary:          LabelRole + "=" + RoleMaster,
		Replica:          LabelRole + "=" + RoleReplica,
		ReadWriteService: ref.Name,
		Container:        Container,
		Layout:           operators.Layout{DataDir: DataDir, VolumePath: VolumePath, Port: 5432},
		App:              generic.Secret{Name: SecretName(AppUser, ref.Name), Database: AppDatabase},
		Superuser:        generic.Secret{Name: SecretName("postgres", ref.Name), Database: AppDatabase},
	}
}

// Delete deletes the postgresql object and waits until its pods are gone.
func (o *Operator) Delete(ctx context.Context, ref operators.Ref) error {
	return o.open(ref).DeleteResource(ctx, ClusterGVK)
}

// Cluster is a cluster of the operator: the generic label-based view plus
// the postgresql resource's status and Patroni's own view.
type Cluster struct {
	*generic.Cluster
	kc           *kube.Client
	ref          operators.Ref
	readyTimeout time.Duration
}

// Status reads status.PostgresClusterStatus.
func (c *Cluster) Status(ctx context.Context) (string, error) {
	ri, err := c.kc.Resource(ClusterGVK, c.ref.Namespace)
	if err != nil {
		return "", fmt.Errorf("reading cluster %s: %w", c.ref, err)
	}
	u, err := ri.Get(ctx, c.ref.Name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading cluster %s: %w", c.ref, err)
	}
	st, _, _ := unstructured.NestedString(u.Object, "status", "PostgresClusterStatus")
	return st, nil
}

// PatroniMember is one member of Patroni's GET /cluster.
type PatroniMember struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	State    string `json:"state"`
	Timeline int    `json:"timeline"`
	Lag      any    `json:"lag"`
}

// Patroni asks Patroni's REST API in pod (through pod exec: pod IPs are
// not reachable from the host) with method on path and an optional JSON
// body; it returns the body and the HTTP status.
func (c *Cluster) Patroni(ctx context.Context, pod, method, path string, body any) ([]byte, int, error) {
	data := []byte("null")
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return nil, 0, err
		}
	}
	script := `import json, sys, urllib.request, urllib.error
body = sys.argv[3].encode() if sys.argv[3] != "null" else None
req = urllib.request.Request("http://127.0.0.1:8008" + sys.argv[2], data=body, method=sys.argv[1], headers={"Content-Type": "application/json"})
try:
    r = urllib.request.urlopen(req, timeout=10); code, out = r.status, r.read()
except urllib.error.HTTPError as e:
    code, out = e.code, e.read()
sys.stdout.write("%d\n" % code); sys.stdout.write(out.decode(errors="replace"))`
	out, stderr, err := c.kc.Exec(ctx, c.ref.Namespace, pod, Container, []string{"python3", "-c", script, method, path, string(data)})
	if err != nil {
		return nil, 0, fmt.Errorf("patroni %s %s in %s: %s: %w", method, path, pod, strings.TrimSpace(stderr), err)
	}
	code, rest, _ := strings.Cut(out, "\n")
	var status int
	if _, err := fmt.Sscanf(code, "%d", &status); err != nil {
		return nil, 0, fmt.Errorf("patroni %s %s in %s: unreadable answer %q", method, path, pod, out)
	}
	return []byte(rest), status, nil
}

// Members reads Patroni's members through the pod of any instance.
func (c *Cluster) Members(ctx context.Context, pod string) ([]PatroniMember, error) {
	body, code, err := c.Patroni(ctx, pod, "GET", "/cluster", nil)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("patroni GET /cluster in %s: HTTP %d: %s", pod, code, body)
	}
	var doc struct {
		Members []PatroniMember `json:"members"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("patroni GET /cluster in %s: %w", pod, err)
	}
	return doc.Members, nil
}

// WaitReady waits until the operator reports the cluster Running, every
// pod is Ready (Patroni's /readiness), one primary, the read-write
// Service routes to it, and Patroni sees every member running.
func (c *Cluster) WaitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.readyTimeout)
	defer cancel()
	return kube.Poll(ctx, time.Second, "cluster "+c.ref.String()+" ready", func(ctx context.Context) (bool, string, error) {
		st, err := c.Status(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		if st != StatusRunning {
			return false, fmt.Sprintf("status %q", st), nil
		}
		if ok, why, err := c.Cluster.ReadyNow(ctx); !ok || err != nil {
			return ok, why, err
		}
		ins, err := c.Instances(ctx)
		if err != nil {
			return false, err.Error(), nil
		}
		p, err := operators.PrimaryOf(ins, c.ref)
		if err != nil {
			return false, err.Error(), nil
		}
		ms, err := c.Members(ctx, p.Pod)
		if err != nil {
			return false, err.Error(), nil
		}
		if len(ms) != len(ins) {
			return false, fmt.Sprintf("patroni knows %d members, %d pods", len(ms), len(ins)), nil
		}
		for _, m := range ms {
			if m.State != "running" && m.State != "streaming" {
				return false, fmt.Sprintf("patroni member %s is %s", m.Name, m.State), nil
			}
		}
		return true, "", nil
	})
}

// Switchover asks Patroni (through the primary's REST API, as the
// operator itself does) to hand the leader lock to instance.
func (c *Cluster) Switchover(ctx context.Context, instance string) error {
	ins, err := c.Instances(ctx)
	if err != nil {
		return fmt.Errorf("switchover of %s to %s: %w", c.ref, instance, err)
	}
	p, err := operators.PrimaryOf(ins, c.ref)
	if err != nil {
		return fmt.Errorf("switchover of %s to %s: %w", c.ref, instance, err)
	}
	body, code, err := c.Patroni(ctx, p.Pod, "POST", "/switchover", map[string]string{"leader": p.Name, "candidate": instance})
	if err != nil {
		return fmt.Errorf("switchover of %s to %s: %w", c.ref, instance, err)
	}
	if code != 200 {
		return fmt.Errorf("switchover of %s to %s: patroni answered HTTP %d: %s", c.ref, instance, code, strings.TrimSpace(string(body)))
	}
	return nil
}

// SwitchoverCandidates are the members Patroni accepts for a switchover:
// in synchronous mode only a synchronous standby (else HTTP 412), otherwise
// every running replica.
func (c *Cluster) SwitchoverCandidates(ctx context.Context) ([]string, error) {
	ins, err := c.Instances(ctx)
	if err != nil {
		return nil, err
	}
	p, err := operators.PrimaryOf(ins, c.ref)
	if err != nil {
		return nil, err
	}
	ms, err := c.Members(ctx, p.Pod)
	if err != nil {
		return nil, err
	}
	return candidates(ms), nil
}

// candidates picks the synchronous standbys when there are any, else the
// replicas.
func candidates(ms []PatroniMember) []string {
	var sync, reps []string
	for _, m := range ms {
		switch m.Role {
		case "sync_standby":
			sync = append(sync, m.Name)
		case "replica":
			reps = append(reps, m.Name)
		}
	}
	if len(sync) > 0 {
		return sync
	}
	return reps
}
