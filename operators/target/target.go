package target

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pgchaos/pgchaos/internal/strictyaml"
	"github.com/pgchaos/pgchaos/operators"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
)

// APIVersion and Kind are what every target file declares.
const (
	APIVersion = "pgchaos.io/v1"
	Kind       = "Target"
)

// RoleProbeSQL is the role probe that asks each instance pg_is_in_recovery().
const RoleProbeSQL = "sql"

// neverLabel selects nothing: the generic view's primary selector when
// roles come from the probe.
const neverLabel = "pgchaos.io/role-by-probe=primary"

// Synchronous modes of a target: whether its manifests can run with
// synchronous replication (${synchronous} is "true"), only with it, or
// never.
const (
	SyncOptional = "optional"
	SyncAlways   = "always"
	SyncNever    = "never"
)

// Target is a target file: a PostgreSQL HA stack that no adapter knows,
// described by its objects. Unknown fields are errors.
type Target struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	Spec       Spec     `json:"spec"`

	// dir is the file's directory (manifests are relative to it).
	dir string
}

// Metadata names the target.
type Metadata struct {
	// Name is the target's name (a DNS-1123 label): the adapter is
	// "target:<name>" and the Postgres cluster's name defaults to it.
	Name string `json:"name"`
}

// Spec describes the stack.
type Spec struct {
	// Title names the stack for people ("Patroni 3.0.2 StatefulSet").
	Title string `json:"title"`
	// Version of the stack's HA software, as reports show it.
	Version string `json:"version"`
	// Namespace the stack runs in (default: run's --namespace).
	Namespace string `json:"namespace,omitempty"`
	// Images the manifests use, by name (${image.NAME}).
	Images map[string]Image `json:"images,omitempty"`
	// Manifests are YAML files (relative to the target file) applied in
	// order when the cluster is created and deleted in reverse order when
	// it is deleted; none means the stack is already deployed.
	Manifests []string `json:"manifests,omitempty"`
	// Instances says how pgchaos finds the instances and their roles.
	Instances Instances `json:"instances"`
	// ReadWrite is the endpoint writes go through.
	ReadWrite ReadWrite `json:"readWrite"`
	// Credentials are the app's and a superuser's.
	Credentials Credentials `json:"credentials"`
	// Switchover is how a planned switchover is requested (none: not
	// supported, the switchover faults are unavailable).
	Switchover *Switchover `json:"switchover,omitempty"`
	// Synchronous is optional, always or never (default never).
	Synchronous string `json:"synchronous,omitempty"`
	// Settings that decide the stack's failover, as reports show them.
	Settings map[string]string `json:"settings,omitempty"`
}

// Image is an image the manifests use: Build names an image pgchaos
// builds offline (Builds lists them), or Ref is an image the cluster can
// pull or already has.
type Image struct {
	Build string `json:"build,omitempty"`
	Ref   string `json:"ref,omitempty"`
}

// Instances finds the instance pods and their roles.
type Instances struct {
	// Selector selects every instance pod.
	Selector string `json:"selector"`
	// Primary and Replica select, among them, the primary and the
	// replicas by label (Replica empty: every instance not primary).
	Primary string `json:"primary,omitempty"`
	Replica string `json:"replica,omitempty"`
	// RoleProbe "sql", when no label marks the roles, asks each instance
	// `select pg_is_in_recovery()` with psql in its container (local
	// socket, the container's user): f is primary, t replica.
	RoleProbe string `json:"roleProbe,omitempty"`
	// InstanceLabel is a label unique per instance pod (empty: pods are
	// told apart through their StatefulSet).
	InstanceLabel string `json:"instanceLabel,omitempty"`
	// Container is the PostgreSQL container (default the pod's first).
	Container string `json:"container,omitempty"`
	// DataDir, VolumePath (the mount of the data volume) and Port
	// (default 5432) of an instance; WAL is DataDir/pg_wal (a separate WAL
	// volume is not supported yet).
	DataDir    string `json:"dataDir"`
	VolumePath string `json:"volumePath"`
	Port       int    `json:"port,omitempty"`
}

// ReadWrite is the Service that routes to the primary.
type ReadWrite struct {
	Service string `json:"service"`
	// TargetSessionAttrs is what the workload's DSN asks of a server:
	// read-write (the default: libpq's check that the server takes writes)
	// or any, for a proxy that routes writes itself but may answer the
	// check from a standby (Pgpool-II load-balancing SHOW).
	TargetSessionAttrs string `json:"targetSessionAttrs,omitempty"`
}

// Credentials locate the app's and a superuser's credentials.
type Credentials struct {
	App       Secret `json:"app"`
	Superuser Secret `json:"superuser"`
}

// Secret is a Secret with a user's credentials; keys default to
// username, password and dbname; Database is used when it has no database.
type Secret struct {
	Name        string `json:"secret"`
	UserKey     string `json:"userKey,omitempty"`
	PasswordKey string `json:"passwordKey,omitempty"`
	DatabaseKey string `json:"databaseKey,omitempty"`
	Database    string `json:"database,omitempty"`
}

// Switchover requests a planned switchover by running Exec in the
// primary's container, ${primary} and ${candidate} replaced by the
// instances' names; exit 0 means accepted. Candidates, when the stack
// accepts only some replicas (Patroni in synchronous mode: the synchronous
// standby), runs in the primary's container and prints their names.
type Switchover struct {
	Exec       []string `json:"exec"`
	Candidates []string `json:"candidates,omitempty"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Load reads and checks a target file.
func Load(path string) (*Target, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", path, err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", path, err)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", path, err)
	}
	t.dir = abs
	for _, m := range t.Spec.Manifests {
		p := t.ManifestPath(m)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("target %s: manifest %s: %w", path, m, err)
		}
	}
	return t, nil
}

// Parse reads a target from YAML and checks it, without the files it names.
func Parse(data []byte) (*Target, error) {
	var t Target
	if err := strictyaml.Unmarshal(data, &t); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

// ManifestPath is where manifest m is (relative to the target file).
func (t *Target) ManifestPath(m string) string {
	if filepath.IsAbs(m) {
		return m
	}
	return filepath.Join(t.dir, m)
}

// Validate reports the first unusable field, naming it.
func (t *Target) Validate() error {
	s := t.Spec
	switch {
	case t.APIVersion != APIVersion:
		return fmt.Errorf("apiVersion %q: want %s", t.APIVersion, APIVersion)
	case t.Kind != Kind:
		return fmt.Errorf("kind %q: want %s", t.Kind, Kind)
	case !nameRE.MatchString(t.Metadata.Name) || len(t.Metadata.Name) > 40:
		return fmt.Errorf("metadata.name %q: want a DNS-1123 label of at most 40 characters", t.Metadata.Name)
	case s.Title == "":
		return errors.New("spec.title is required")
	case s.Version == "":
		return errors.New("spec.version is required (the HA software's version, as reports show it)")
	}
	if s.Namespace != "" && !strings.Contains(s.Namespace, "${") {
		if errs := validation.IsDNS1123Label(s.Namespace); len(errs) > 0 {
			return fmt.Errorf("spec.namespace %q: %s", s.Namespace, strings.Join(errs, "; "))
		}
	}
	for name, im := range s.Images {
		if !nameRE.MatchString(name) {
			return fmt.Errorf("spec.images.%s: want a lower-case name", name)
		}
		if (im.Build == "") == (im.Ref == "") {
			return fmt.Errorf("spec.images.%s: give exactly one of build (one of %s) or ref", name, strings.Join(Builds(), ", "))
		}
		if im.Build != "" && !knownBuild(im.Build) {
			return fmt.Errorf("spec.images.%s.build %q: pgchaos builds %s", name, im.Build, strings.Join(Builds(), ", "))
		}
	}
	for i, m := range s.Manifests {
		if strings.TrimSpace(m) == "" {
			return fmt.Errorf("spec.manifests[%d] is empty", i)
		}
	}
	in := s.Instances
	switch in.RoleProbe {
	case "":
		if in.Primary == "" {
			return errors.New("spec.instances.primary is required (a label selector), or roleProbe: sql when no label marks the primary")
		}
	case RoleProbeSQL:
		if in.Primary != "" || in.Replica != "" {
			return errors.New("spec.instances: give roleProbe or the primary and replica selectors, not both")
		}
	default:
		return fmt.Errorf("spec.instances.roleProbe %q: want sql (or leave it out and give the primary selector)", in.RoleProbe)
	}
	for _, f := range []struct{ name, sel string }{{"spec.instances.selector", in.Selector}, {"spec.instances.primary", in.Primary}, {"spec.instances.replica", in.Replica}} {
		if f.sel == "" {
			if f.name != "spec.instances.selector" {
				continue
			}
			return fmt.Errorf("%s is required (a label selector)", f.name)
		}
		if _, err := labels.Parse(Expand(f.sel, sampleVars())); err != nil {
			return fmt.Errorf("%s %q: %w", f.name, f.sel, err)
		}
	}
	if err := layout(in).Validate(); err != nil {
		return fmt.Errorf("spec.instances: %w", err)
	}
	if s.ReadWrite.Service == "" {
		return errors.New("spec.readWrite.service is required (the Service that routes to the primary)")
	}
	switch s.ReadWrite.TargetSessionAttrs {
	case "", "read-write", "any":
	default:
		return fmt.Errorf("spec.readWrite.targetSessionAttrs %q: want read-write or any", s.ReadWrite.TargetSessionAttrs)
	}
	if s.Credentials.App.Name == "" {
		return errors.New("spec.credentials.app.secret is required")
	}
	if s.Credentials.Superuser.Name == "" {
		return errors.New("spec.credentials.superuser.secret is required (the monitor and the final read read every instance as superuser)")
	}
	if s.Switchover != nil && len(s.Switchover.Exec) == 0 {
		return errors.New("spec.switchover.exec is empty (leave switchover out when the stack has none)")
	}
	switch s.Synchronous {
	case "", SyncNever, SyncOptional, SyncAlways:
	default:
		return fmt.Errorf("spec.synchronous %q: want %s, %s or %s", s.Synchronous, SyncOptional, SyncAlways, SyncNever)
	}
	// Every ${...} of the file's strings must be a known variable.
	for _, str := range t.templated() {
		if err := checkVars(str, t.varNames()); err != nil {
			return err
		}
	}
	return nil
}

// layout is the instance layout of in (defaults applied).
func layout(in Instances) operators.Layout {
	l := operators.Layout{DataDir: in.DataDir, VolumePath: in.VolumePath, Port: in.Port}
	if l.Port == 0 {
		l.Port = 5432
	}
	return l
}

// SyncMode is Spec.Synchronous with its default.
func (t *Target) SyncMode() string {
	if t.Spec.Synchronous == "" {
		return SyncNever
	}
	return t.Spec.Synchronous
}

// templated lists the strings of the file that may hold ${...}.
func (t *Target) templated() []string {
	s := t.Spec
	out := []string{s.Namespace, s.Instances.Selector, s.Instances.Primary, s.Instances.Replica, s.ReadWrite.Service,
		s.Credentials.App.Name, s.Credentials.Superuser.Name}
	if s.Switchover != nil {
		out = append(out, s.Switchover.Exec...)
		out = append(out, s.Switchover.Candidates...)
	}
	return out
}

// varNames are the variables a target's strings and manifests may use.
func (t *Target) varNames() map[string]bool {
	v := map[string]bool{"name": true, "namespace": true, "runID": true, "instances": true, "synchronous": true,
		"storageSize": true, "storageClass": true, "primary": true, "candidate": true}
	for name := range t.Spec.Images {
		v["image."+name] = true
	}
	return v
}

// varRE matches ${var}, and $${...}, the escape for a literal ${...}
// (a shell's own expansions in a manifest's script).
var varRE = regexp.MustCompile(`\$?\$\{([^}]*)\}`)

// checkVars refuses a ${...} that is not a known variable.
func checkVars(s string, known map[string]bool) error {
	for _, m := range varRE.FindAllStringSubmatch(s, -1) {
		if strings.HasPrefix(m[0], "$$") {
			continue
		}
		if !known[m[1]] {
			var names []string
			for k := range known {
				names = append(names, k)
			}
			sort.Strings(names)
			line := m[0]
			for _, l := range strings.Split(s, "\n") {
				if strings.Contains(l, m[0]) {
					line = strings.TrimSpace(l)
					break
				}
			}
			if len(line) > 80 {
				line = line[:77] + "..."
			}
			return fmt.Errorf("${%s} in %q is not a variable (have: %s)", m[1], line, strings.Join(names, ", "))
		}
	}
	return nil
}

// Expand replaces each ${var} of s by its value (unknown ones stay) and
// each $${...} by ${...}.
func Expand(s string, vars map[string]string) string {
	return varRE.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "$$") {
			return m[1:]
		}
		if v, ok := vars[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// sampleVars are values that let selectors be parsed before a cluster exists.
func sampleVars() map[string]string {
	return map[string]string{"name": "x", "namespace": "x", "runID": "x", "instances": "3", "synchronous": "false",
		"storageSize": "1Gi", "storageClass": "", "primary": "x", "candidate": "x"}
}
