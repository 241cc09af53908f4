package suites

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pgchaos/pgchaos/clusters"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	corev1 "k8s.io/api/core/v1"
)

// Env is the target of a suite run, read from the environment:
//
//	PGCHAOS_E2E=1              run the end-to-end specs (they are skipped otherwise)
//	PGCHAOS_KUBECONFIG=F       an existing cluster (default: the kind cluster below)
//	PGCHAOS_KIND_NAME=N        the kind cluster (default "pgchaos"); it must exist
//	PGCHAOS_CACHE=DIR          image build cache (default /var/cache/pgchaos)
//	PGCHAOS_ARTIFACTS=DIR      where trials and failure artifacts go (default a temp dir)
//	PGCHAOS_SEED=N             the seed of every trial (default: a new one each, printed)
//	PGCHAOS_GATE_FINDINGS=1    fail a spec on a finding about the operator (see below)
//	PGCHAOS_TIMEOUT_*          see Timeouts
//
// What a spec asserts, always (the harness's own CI, `make test`, is green
// every time the harness works): the trial completed; the ledger is complete
// (an end record) and checkable (it loads, writes were acknowledged); the
// fault was recorded and reverted; final.json was read from every instance;
// every verdict is present in verdict.json, an unknown one with its reason;
// no replication event recorded before the end of the cool-down was left
// undecided (the harness watched until its budget elapsed); where
// lost-acked-writes is decided, its "lost" equals an independent recount (the
// acknowledged ids of the raw ledger file absent from the primary's table,
// read with SQL); split-brain and phantom-writes do not fail (one primary pod
// deleted cannot make two primaries accept writes, and the workload never
// writes an id twice); nothing labelled with the run is left after the
// cluster is deleted.
//
// Findings about the operator, whose outcome is not deterministic: any
// verdict of unavailability, wal-continuity, replication-recovery and
// expectations (the fault's own) other than pass; lost acknowledged writes
// with synchronous replication (or the check unknown); split-brain or
// phantom-writes unknown; the primary changing after the trial. They are
// always recorded (a report entry each, DIR/findings.json next to
// verdict.json) and fail the spec only with PGCHAOS_GATE_FINDINGS=1
// (nightly and certification runs; `make e2e` sets it).
type Env struct {
	Enabled    bool
	Kubeconfig string
	KindName   string
	CacheDir   string
	Artifacts  string
	Seed       int64
	// GateFindings: a finding about the operator fails the spec.
	GateFindings bool
	Timeouts     Timeouts
}

// EnvFromOS reads Env through getenv.
func EnvFromOS(getenv func(string) string) (Env, error) {
	e := Env{
		Enabled:    getenv("PGCHAOS_E2E") == "1",
		Kubeconfig: getenv("PGCHAOS_KUBECONFIG"),
		KindName:   getenv("PGCHAOS_KIND_NAME"),
		CacheDir:   getenv("PGCHAOS_CACHE"),
		Artifacts:  getenv("PGCHAOS_ARTIFACTS"),
	}
	switch g := getenv("PGCHAOS_GATE_FINDINGS"); g {
	case "", "0":
	case "1":
		e.GateFindings = true
	default:
		return e, fmt.Errorf("PGCHAOS_GATE_FINDINGS=%q: want 1 (gate findings about the operator) or 0", g)
	}
	if e.KindName == "" {
		e.KindName = clusters.DefaultKindName
	}
	if e.CacheDir == "" {
		e.CacheDir = "/var/cache/pgchaos"
	}
	if s := getenv("PGCHAOS_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return e, fmt.Errorf("PGCHAOS_SEED=%q: %w", s, err)
		}
		e.Seed = v
	}
	var err error
	if e.Timeouts, err = TimeoutsFromEnv(getenv); err != nil {
		return e, err
	}
	if e.Artifacts == "" {
		if e.Artifacts, err = os.MkdirTemp("", "pgchaos-suite-"); err != nil {
			return e, fmt.Errorf("creating an artifacts directory: %w", err)
		}
	}
	return e, nil
}

// OnKind reports whether the target is the local kind cluster.
func (e Env) OnKind() bool { return e.Kubeconfig == "" }

// Target is what a suite needs to drive an operator's clusters.
type Target struct {
	Kube     *kube.Client
	Adapter  operators.Adapter
	Operator operators.Operator
	// Image and PullPolicy of PostgreSQL (empty: the operator's default).
	Image      string
	PullPolicy corev1.PullPolicy
}

// Target connects to the target cluster and, on kind, builds the
// adapter's images offline and loads them into the nodes. The operator is
// not installed yet (Operator.Install).
func (e Env) Target(ctx context.Context, a operators.Adapter, runID string, progress func(string)) (Target, error) {
	kubeconfig := e.Kubeconfig
	t := Target{Adapter: a}
	opImage := ""
	if e.OnKind() {
		k := clusters.NewKind(clusters.KindOptions{Name: e.KindName})
		st, err := k.Status(ctx)
		if err != nil {
			return t, err
		}
		if !st.Ready() {
			return t, fmt.Errorf("kind cluster %s is absent or not ready: create it with `pgchaos cluster create --name %s`", e.KindName, e.KindName)
		}
		if kubeconfig, err = k.KubeConfig(ctx); err != nil {
			return t, err
		}
		ictx, cancel := context.WithTimeout(ctx, e.Timeouts.Images)
		defer cancel()
		imgs, err := a.BuildImages(ictx, operators.ImageOptions{CacheDir: e.CacheDir, Progress: progress})
		if err != nil {
			return t, err
		}
		if err := clusters.LoadIntoKind(ictx, e.KindName, imgs.All()...); err != nil {
			return t, err
		}
		opImage, t.Image, t.PullPolicy = imgs.Operator, imgs.Postgres, corev1.PullIfNotPresent
	}
	kc, err := kube.New(kubeconfig, "")
	if err != nil {
		return t, err
	}
	t.Kube = kc
	t.Operator = a.New(operators.Options{Kube: kc, OperatorImage: opImage, PostgresImage: t.Image, RunID: runID,
		InstallTimeout: e.Timeouts.Install, ReadyTimeout: e.Timeouts.ClusterReady})
	return t, nil
}

// SpecDir returns a fresh directory for a spec's trial under Artifacts.
func (e Env) SpecDir(name string) string {
	return filepath.Join(e.Artifacts, time.Now().UTC().Format("150405")+"-"+name)
}
