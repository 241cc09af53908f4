package operators

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators/kube"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Adapter is everything pgchaos knows about one operator, beside the
// clusters it creates: its name and versions, how its images are built
// offline, how it is installed, and where its objects are. Adding an
// operator is a folder operators/<name> implementing Adapter plus its line
// in operators/registry; nothing else names an operator.
type Adapter interface {
	// Name is the adapter's name on the command line ("cnpg").
	Name() string
	// Title is the operator's name for people ("CloudNativePG").
	Title() string
	// DefaultVersion is the version installed unless --operator-version.
	DefaultVersion() string
	// Versions lists the versions known to build here, the default first.
	Versions() []string
	// VersionKey names the operator's version in results.json's versions
	// map ("cloudnative-pg").
	VersionKey() string
	// CheckVersion says why a version cannot be used (nil when it can):
	// the message is meant for a one-line error.
	CheckVersion(version string) error
	// Available says why the adapter cannot run on this machine (nil when
	// it can): the tools its image builds need.
	Available(ctx context.Context) error
	// BuildImages builds, or finds in the cache, the operator's image and
	// the PostgreSQL image its clusters run, without a registry.
	BuildImages(ctx context.Context, opts ImageOptions) (Images, error)
	// New returns the Operator that installs this version and creates
	// clusters with it.
	New(opts Options) Operator
	// Deployment is the operator's Deployment once installed (the
	// operator-outage faults scale it; cleanup scales it back).
	Deployment() Ref
	// ClusterKinds are the custom resources that define its Postgres
	// clusters (cleanup deletes them; artifacts save them).
	ClusterKinds() []schema.GroupVersionKind
	// Settings are the operator's settings that matter for comparing it
	// (failover timings, grace periods), as installed by New's Operator:
	// recorded in results.json and shown in reports.
	Settings(opts Options) map[string]string
}

// ImageOptions configure Adapter.BuildImages.
type ImageOptions struct {
	// CacheDir holds the build outputs keyed by their inputs (default
	// /var/cache/pgchaos).
	CacheDir string
	// Version of the operator (default: the adapter's DefaultVersion).
	Version string
	// PostgresMajor is the PostgreSQL major version from Debian (default 15).
	PostgresMajor string
	// Progress receives one line per step; nil discards them.
	Progress func(line string)
}

// Images are locally built image references.
type Images struct {
	// Operator is the operator's image.
	Operator string
	// Postgres is the PostgreSQL image of the clusters.
	Postgres string
	// Extra are further images the clusters run (a target's proxy).
	Extra []string
}

// All lists the non-empty images, to load into a cluster.
func (i Images) All() []string {
	var out []string
	for _, s := range append([]string{i.Operator, i.Postgres}, i.Extra...) {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Options configure Adapter.New.
type Options struct {
	Kube *kube.Client
	// Version is the operator's version (default: the adapter's DefaultVersion).
	Version string
	// OperatorImage overrides the release's operator image (a locally
	// built one).
	OperatorImage string
	// PostgresImage is the default PostgreSQL image of the operator's
	// clusters where the operator, not the cluster, names it (empty: the
	// release's).
	PostgresImage string
	// Manifest, when set, is a release manifest file to install instead of
	// the one read from the operator's Go module.
	Manifest string
	// RunID labels what Install creates.
	RunID string
	// Timeouts of Install and of a cluster's WaitReady (defaults 3m, 5m).
	InstallTimeout, ReadyTimeout time.Duration
}

// WithDefaults fills the zero timeouts and the version.
func (o Options) WithDefaults(defaultVersion string) Options {
	if o.Version == "" {
		o.Version = defaultVersion
	}
	if o.InstallTimeout == 0 {
		o.InstallTimeout = 3 * time.Minute
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 5 * time.Minute
	}
	return o
}

// CheckRelease is the usual CheckVersion: a listed version, or a release
// number 1.N.M (whether its module is served is found when the images are
// built). title names the operator in the error.
func CheckRelease(title, version string, known []string) error {
	if slices.Contains(known, version) {
		return nil
	}
	parts := strings.Split(version, ".")
	if len(parts) != 3 || parts[0] != "1" {
		return fmt.Errorf("%s version %q: want a release such as %s (known to build here: %s)", title, version, known[0], strings.Join(known, ", "))
	}
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return fmt.Errorf("%s version %q: want a release such as %s (known to build here: %s)", title, version, known[0], strings.Join(known, ", "))
		}
	}
	return nil
}

// ExpectOverride is a known, accepted difference between one operator and
// the expectations table (faults.Expectations): an operator with no
// synchronous mode has no "zero loss" line to meet, one that moves its
// primary before a drain may be held to "no failover". Each override is
// documented by its Reason, recorded with the trial (results.json) and
// shown in the report next to the table's line.
type ExpectOverride struct {
	// Fault names the fault; Mode is "async", "sync" or "" (both).
	Fault, Mode string
	// Adjust returns what this operator is held to instead.
	Adjust func(history.Expect) history.Expect
	// Reason says why, with the evidence (a measurement, the operator's
	// documentation or source).
	Reason string
}

// ExpectOverrider is an Adapter with overrides of the expectations table.
type ExpectOverrider interface {
	ExpectOverrides() []ExpectOverride
}
