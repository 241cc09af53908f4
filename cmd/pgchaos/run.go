package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/clusters"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	"github.com/pgchaos/pgchaos/operators/registry"
	"github.com/pgchaos/pgchaos/operators/target"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

type runFlags struct {
	operator, kubeconfig, kubeContext, kindName string
	scenario, replication, namespace, name      string
	out, version, operatorImage, pgImage        string
	manifest, agentImage, placement, allowScope string
	cacheDir, storageSize, storageClass         string
	instances, clients, repeat                  int
	rate                                        float64
	seed                                        int64
	sched                                       scenario.Schedule
	keep, upstream, inCluster, skipInstall      bool
	dryRun                                      bool
	check                                       assert.Config
	// target is a target file (--target) instead of an --operator.
	target string
	// plan, when set (pgchaos certify), gives each replication mode its own
	// faults and repeat count instead of --scenario, --replication, --repeat.
	plan map[string]modePlan
	// holdFixed: the hold was set (a profile's), like --hold.
	holdFixed bool
}

// modePlan is what runs on one replication mode's cluster.
type modePlan struct {
	faults []faults.Fault
	repeat int
}

func newRunCmd() *cobra.Command {
	f := runFlags{sched: scenario.DefaultSchedule(), check: assert.DefaultConfig()}
	cmd := &cobra.Command{
		Use:   "run --operator NAME [--kubeconfig F | --kind-name N] [--scenario S] --out DIR",
		Short: "Run one faulted trial against an operator's Postgres cluster and judge it",
		Long: `Uses the kind cluster (created if absent) or --kubeconfig, installs the
operator, creates a Postgres cluster, exposes its read-write Service and every
instance through NodePort Services, runs the workload and the monitor, injects
the scenario's fault, reads the final state of every instance, runs every
check and writes DIR/verdict.json. On kind, the operator and PostgreSQL images
are built offline and loaded into the nodes unless --upstream-images.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTrial(cmd, f) },
	}
	fl := cmd.Flags()
	addTargetFlags(fl, &f)
	fl.StringVar(&f.scenario, "scenario", "default", "faults to inject, comma-separated; default (one of each pod and process family) or all (every fault available here; see pgchaos faults): "+strings.Join(faultNames(), ", "))
	fl.StringVar(&f.replication, "replication", "both", "async, sync (quorum ANY 1), or both (a cluster each, async first)")
	fl.StringVar(&f.namespace, "namespace", "pgchaos", "namespace of the Postgres cluster")
	fl.StringVar(&f.name, "cluster", "", "Postgres cluster name (default pg-async / pg-sync)")
	fl.IntVar(&f.instances, "instances", 3, "PostgreSQL instances")
	fl.StringVar(&f.storageSize, "storage", "1Gi", "volume size per instance")
	fl.StringVar(&f.storageClass, "storage-class", "", "storage class of the volumes (default: pgchaos-iofs when a storage fault is chosen, else the cluster's default)")
	fl.StringVar(&f.out, "out", "", "trial directory to create")
	fl.StringVar(&f.manifest, "operator-manifest", "", "install from this release manifest file (default: the one in the operator's Go module, through the Go toolchain)")
	fl.BoolVar(&f.upstream, "upstream-images", false, "use the upstream images even on kind (needs a registry)")
	fl.IntVar(&f.clients, "clients", 4, "workload clients")
	fl.Float64Var(&f.rate, "rate", 200, "total write attempts per second (0: unlimited)")
	fl.Int64Var(&f.seed, "seed", 0, "random seed (0: pick one per trial and print it; N: trial i uses N+i-1)")
	fl.IntVar(&f.repeat, "repeat", 1, "trials in a row on the same cluster (DIR/trial-NNN each); the summary gives p50/p95/max unavailability")
	fl.DurationVar(&f.sched.WarmUp, "warm-up", f.sched.WarmUp, "workload time before the fault")
	fl.DurationVar(&f.sched.Hold, "hold", f.sched.Hold, "time the fault stays applied")
	fl.DurationVar(&f.sched.CoolDown, "cool-down", f.sched.CoolDown, "workload time after the cluster is ready again")
	fl.DurationVar(&f.sched.ReadyTimeout, "ready-timeout", f.sched.ReadyTimeout, "how long the cluster may take to be ready again")
	fl.DurationVar(&f.check.RTOBudget, "rto-budget", f.check.RTOBudget, "an unavailability window longer than this fails")
	fl.DurationVar(&f.check.ReplicationBudget, "replication-budget", f.check.ReplicationBudget, "replicas must stream again within this; after the cool-down a trial keeps watching until they do or this has elapsed since the latest fault or change of primary")
	fl.BoolVar(&f.inCluster, "in-cluster", false, "run from a pod of the target cluster: its service account, ClusterIP Services reached by DNS (no kind, no image build)")
	fl.BoolVar(&f.skipInstall, "skip-install", false, "the operator is installed already")
	fl.StringVar(&f.placement, "operator-placement", scenario.PlacementApart, "where the operator runs when a node fault strikes: apart (moved off the nodes the fault hits, so operators are compared on the same fault), together (put on the primary's node on purpose), as-scheduled")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print what each fault would touch (its scope, the nodes and other namespaces' pods it may hit, the operator's other clusters, the node agent) and exit; nothing is applied")
	fl.BoolVar(&f.keep, "keep", false, "keep the Postgres cluster and the NodePort Services afterwards")
	return cmd
}

func faultNames() []string {
	var n []string
	for _, f := range faults.All() {
		n = append(n, f.Name())
	}
	return n
}

func runTrial(cmd *cobra.Command, f runFlags) error {
	ctx := cmd.Context()
	p := newStepPrinter(cmd.ErrOrStderr())
	bad := func(format string, a ...any) error { return usageErr("run: "+format, a...) }
	adapter, err := chooseAdapter(&f)
	if err != nil {
		return bad("%v", err)
	}
	if f.out == "" && !f.dryRun {
		return bad("--out DIR is required")
	}
	allowed, err := faults.ParseScopes(f.allowScope)
	if err != nil {
		return bad("--allow-scope: %v", err)
	}
	chosen, err := chooseFaults(f.scenario)
	if err != nil {
		return bad("--scenario: %v", err)
	}
	modes, err := chooseModes(f.replication)
	if err != nil {
		return bad("--replication: %v", err)
	}
	if f.plan != nil {
		modes, chosen = nil, nil
		for _, m := range []string{faults.Async, faults.Sync} {
			if mp, ok := f.plan[m]; ok {
				modes = append(modes, m)
				for _, fl := range mp.faults {
					if !slices.ContainsFunc(chosen, func(c faults.Fault) bool { return c.Name() == fl.Name() }) {
						chosen = append(chosen, fl)
					}
				}
			}
		}
	}
	f.storageClass = storageClassFor(chosen, f.storageClass)
	if errs := validation.IsDNS1123Label(f.namespace); len(errs) > 0 {
		return bad("--namespace %q: %s", f.namespace, strings.Join(errs, "; "))
	}
	if f.name != "" && len(modes) > 1 {
		return bad("--cluster names one cluster; it cannot serve both replication modes")
	}
	if err := scenario.CheckPlacement(f.placement); err != nil {
		return bad("--operator-placement: %v", err)
	}
	if f.repeat < 1 || f.repeat > 1000 {
		return bad("--repeat must be between 1 and 1000, got %d", f.repeat)
	}
	if f.dryRun {
		return runDryRun(cmd, f, adapter, chosen, allowed)
	}
	started := time.Now()
	if err := scenario.PrepareDir(f.out); err != nil {
		return bad("%v", err)
	}
	runID := newRunID()
	p.line("run id " + runID)

	kc, onKind, pull, err := resolveTarget(cmd, &f, adapter, p, chosen, allowed)
	if err != nil {
		return err
	}
	opOpts := operators.Options{Kube: kc, Version: f.version, OperatorImage: f.operatorImage, PostgresImage: f.pgImage, Manifest: f.manifest, RunID: runID}
	op := adapter.New(opOpts)
	results := reports.NewResults(started, map[string]string{
		"go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH, "target": targetName(f),
	}, map[string]string{"pgchaos": version, adapter.VersionKey(): f.version, "operator_image": f.operatorImage, "postgres_image": f.pgImage})
	results.Budgets = runBudgets(f)
	opImageText := orText(f.operatorImage, "the release manifest's")
	if f.target != "" {
		opImageText = "none (target file " + f.target + ")"
	}
	results.Software = &reports.Software{PGChaos: version, Kubernetes: kubeVersion(kc, p), Operator: adapter.Name(),
		OperatorVersion: f.version, OperatorImage: opImageText,
		PostgresImage: orText(f.pgImage, "the operator's default"), OperatorSettings: adapter.Settings(opOpts)}
	single := len(modes) == 1 && len(chosen) == 1 && f.repeat == 1 && f.plan == nil
	kindName := ""
	if onKind {
		kindName = f.kindName
	}
	fenv, uninstall, err := prepareFaults(ctx, faultEnvOptions{kc: kc, runID: runID, kind: kindName, image: f.agentImage, chosen: chosen, say: p.line, operator: adapter.Deployment()})
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		uninstall(uctx)
	}()
	if err != nil {
		return bad("%v", err)
	}
	fenv.Foreign = !onKind
	worst := history.Pass
	for mi, mode := range modes {
		name := f.name
		if name == "" {
			name = "pg-" + mode
		}
		spec := operators.ClusterSpec{
			Ref: operators.Ref{Namespace: f.namespace, Name: name}, Instances: f.instances,
			Synchronous: mode == "sync", StorageClass: f.storageClass, StorageSize: f.storageSize, Image: f.pgImage, PullPolicy: pull, RunID: runID,
		}
		mf, mchosen := f, chosen
		if mp, ok := f.plan[mode]; ok {
			mf.repeat, mchosen = max(mp.repeat, 1), mp.faults
		}
		st, err := runMode(ctx, cmd, mf, p, kc, adapter, op, spec, mode, mchosen, runID, single, mi > 0 || f.skipInstall, results, fenv)
		if err != nil {
			return err
		}
		if st == history.Failed || (st == history.Undecided && worst == history.Pass) {
			worst = st
		}
	}
	if err := writeResults(f.out, results); err != nil {
		return bad("%v", err)
	}
	fmt.Fprintln(cmd.OutOrStdout())
	_ = reports.WriteTable(cmd.OutOrStdout(), results)
	fmt.Fprintf(cmd.OutOrStdout(), "results: %s, %s\n", filepath.Join(f.out, "results.json"), filepath.Join(f.out, "junit.xml"))
	if path, err := renderReport(f.out); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "report not written: %v\n", err)
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), "report: %s\n", path)
	}
	if len(modes) > 1 {
		if path, err := compareModes(f.out, results); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "comparison not written: %v\n", err)
		} else {
			fmt.Fprintf(cmd.OutOrStdout(), "async vs sync: %s\n", path)
		}
	}
	if worst == history.Failed {
		return &exitError{code: exitFailed}
	}
	return nil
}

// runBudgets is what every trial of the run is driven and judged by, as
// results.json records it (zero budgets are the checkers' defaults).
func runBudgets(f runFlags) *reports.Budgets {
	pos := func(d, dflt time.Duration) time.Duration {
		if d <= 0 {
			return dflt
		}
		return d
	}
	return &reports.Budgets{
		RTO: pos(f.check.RTOBudget, assert.DefaultRTOBudget), Replication: pos(f.check.ReplicationBudget, assert.DefaultReplicationBudget),
		WarmUp: f.sched.WarmUp, Hold: f.sched.Hold, CoolDown: f.sched.CoolDown, Clients: f.clients, Rate: f.rate,
	}
}

// kubeVersion is the API server's version ("" when discovery fails: the
// run goes on, results.json says "not recorded").
func kubeVersion(kc *kube.Client, p *stepPrinter) string {
	v, err := kc.CS.Discovery().ServerVersion()
	if err != nil {
		p.line(fmt.Sprintf("Kubernetes version not recorded: %v", err))
		return ""
	}
	return v.GitVersion
}

// clusterInfo summarises the cluster of one replication mode for
// results.json, with its PostgreSQL version asked through dsn (or, when the
// server does not answer, read from the image tag).
func clusterInfo(ctx context.Context, spec operators.ClusterSpec, mode, syncText, dsn string, p *stepPrinter) reports.ClusterInfo {
	ci := reports.ClusterInfo{Replication: mode, Namespace: spec.Namespace, Name: spec.Name, Instances: spec.Instances, Storage: spec.StorageSize}
	if spec.Synchronous {
		ci.Synchronous = syncText
		if ci.Synchronous == "" {
			ci.Synchronous = "synchronous (the adapter does not say how)"
		}
	}
	v, err := workload.ServerVersion(ctx, dsn, 10*time.Second)
	switch {
	case err == nil:
		ci.PostgreSQL = v
	case imageTagVersion(spec.Image) != "":
		ci.PostgreSQL = imageTagVersion(spec.Image) + " (image tag)"
		p.line(fmt.Sprintf("PostgreSQL version of %s from its image tag: %v", spec.Ref, err))
	default:
		p.line(fmt.Sprintf("PostgreSQL version of %s not recorded: %v", spec.Ref, err))
	}
	return ci
}

// imageTagVersion reads the version of an image's tag: "15" from
// "pgchaos.local/postgresql:15-0c5e5e3cc505", "16.4" from
// "ghcr.io/cloudnative-pg/postgresql:16.4" ("" without a tag).
func imageTagVersion(image string) string {
	i := strings.LastIndexByte(image, ':')
	if i < 0 || strings.Contains(image[i:], "/") {
		return ""
	}
	tag := image[i+1:]
	if j := strings.IndexAny(tag, "-@"); j >= 0 {
		tag = tag[:j]
	}
	if tag == "" || tag[0] < '0' || tag[0] > '9' {
		return ""
	}
	return tag
}

func orText(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// compareModes writes DIR/compare.html: the run's replication modes side by
// side (what 'pgchaos report compare DIR' writes).
func compareModes(dir string, r *reports.Results) (string, error) {
	cmp, err := reports.Compare([]reports.RunResults{{Dir: dir, Results: r}}, reports.CompareOptions{AllowMismatch: true})
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := cmp.HTML(&b); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "compare.html")
	return out, writeFileAtomic(out, b.Bytes())
}

func targetName(f runFlags) string {
	if f.inCluster {
		return "in-cluster"
	}
	if f.kubeconfig != "" {
		return "kubeconfig " + f.kubeconfig
	}
	return "kind " + f.kindName
}

// writeResults writes results.json and junit.xml into dir.
func writeResults(dir string, r *reports.Results) error {
	if err := reports.WriteJSON(filepath.Join(dir, "results.json"), r); err != nil {
		return err
	}
	path := filepath.Join(dir, "junit.xml")
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if err := reports.WriteJUnit(fh, r); err != nil {
		_ = fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// runMode provisions the cluster of one replication mode, runs every chosen
// fault f.repeat times on it, and deletes it unless --keep.
func runMode(ctx context.Context, cmd *cobra.Command, f runFlags, p *stepPrinter, kc *kube.Client, adapter operators.Adapter, op operators.Operator,
	spec operators.ClusterSpec, mode string, chosen []faults.Fault, runID string, single, skipInstall bool,
	results *reports.Results, fenv faults.Env) (history.Status, error) {
	bad := func(format string, a ...any) error { return usageErr("run: "+format, a...) }
	prov, cleanup, err := scenario.Provision(ctx, scenario.ProvisionOptions{Kube: kc, Operator: op, Spec: spec,
		SkipInstall: skipInstall, InCluster: f.inCluster, Progress: p.line})
	if !f.keep {
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
			defer cancel()
			if err := cleanup(dctx); err != nil {
				p.line("cleanup: " + err.Error())
			}
		}()
	}
	if err != nil {
		return history.Undecided, bad("%v", err)
	}
	results.SetCluster(clusterInfo(ctx, spec, mode, results.Software.OperatorSettings["synchronous"], prov.ReadWriteDSN, p))
	worst := history.Pass
	for _, fault := range chosen {
		sched := f.sched
		sched.ReplicationBudget = f.check.ReplicationBudget // watch until it is decided
		if h := faults.InfoOf(fault).Hold; h > 0 && !cmd.Flags().Changed("hold") && !f.holdFixed {
			sched.Hold = h // long enough for the operator to react; --hold overrides
		}
		aenv := fenv
		aenv.Kube, aenv.Cluster, aenv.Hold, aenv.Superuser = kc, prov.Cluster, sched.Hold, prov.Superuser()
		if err := fault.Available(ctx, aenv); err != nil {
			if single {
				return history.Undecided, bad("fault %s is not available here: %v", fault.Name(), err)
			}
			p.line(fmt.Sprintf("skipping %s on %s: not available here: %v", fault.Name(), mode, err))
			results.Skipped = append(results.Skipped, reports.Skip{Scenario: fault.Name(), Replication: mode, Reason: err.Error()})
			continue
		}
		for i := 1; i <= f.repeat; i++ {
			dir := f.out
			if !single {
				dir = filepath.Join(f.out, fmt.Sprintf("%s-%s", mode, fault.Name()))
				if f.repeat > 1 {
					dir = filepath.Join(f.out, fmt.Sprintf("%s-%s-%03d", mode, fault.Name(), i))
				}
				p.line(fmt.Sprintf("trial %s (%d of %d)", filepath.Base(dir), i, f.repeat))
			}
			seed := f.seed
			if seed != 0 {
				seed += int64(i - 1)
			}
			t := time.Now()
			plan := scenario.Plan{
				Spec: scenario.Spec{
					Out:      dir,
					Workload: workload.Config{DSN: prov.ReadWriteDSN, Clients: f.clients, Rate: f.rate, OpTimeout: 5 * time.Second},
					Monitor:  prov.Monitor,
					Command:  commandLine(cmd),
					Seed:     seed,
					Version:  version,
				},
				Kube: kc, Cluster: prov.Cluster, Fault: fault, Schedule: sched, Final: prov.Final,
				RWService: prov.Exposure.ReadWriteService, Progress: p.line, Env: aenv,
				Placement: f.placement, ClientsHost: prov.Exposure.ReadWrite.Host,
			}
			ex := scenario.ExpectationFor(adapter, fault, mode)
			j, err := scenario.Execute(ctx, plan, f.check, ex)
			if err != nil {
				return history.Undecided, bad("trial %s: %v", dir, err)
			}
			rep, outc := j.Report, j.Outcome
			printReport(cmd.OutOrStdout(), rep)
			fmt.Fprintf(cmd.OutOrStdout(), "trial %s: fault %s on %s at %.1fs, cluster ready again at %.1fs; seed %d\n",
				dir, fault.Name(), outc.Target.Name(), outc.Injected.Seconds(), outc.Ready.Seconds(), outc.Seed)
			if err := writeRunInfo(f, mode, fault.Name(), dir, runID, outc); err != nil {
				return history.Undecided, bad("%v", err)
			}
			pl := outc.Placement
			results.Add(reports.Result{Scenario: fault.Name(), Operator: f.operator, Replication: mode, Dir: dir,
				Seed: outc.Seed, Target: outc.Target.Name(), Elapsed: time.Since(t), Checks: rep.Checks,
				Expectation: ex.Text(), Placement: &pl})
			if err := writeResults(f.out, results); err != nil { // after each trial: a crash keeps the rest
				return history.Undecided, bad("%v", err)
			}
			if st := rep.Worst(); st == history.Failed || (st == history.Undecided && worst == history.Pass) {
				worst = st
			}
		}
	}
	return worst, nil
}

// chooseFaults parses --scenario: "default", "all", or names separated by commas.
func chooseFaults(s string) ([]faults.Fault, error) {
	switch s {
	case "all":
		return faults.All(), nil
	case "default", "":
		return faults.Default(), nil
	}
	var out []faults.Fault
	for _, n := range strings.Split(s, ",") {
		f, err := faults.ByName(strings.TrimSpace(n))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// chooseModes parses --replication: async, sync, or both (async then sync).
func chooseModes(s string) ([]string, error) {
	switch s {
	case "async", "sync":
		return []string{s}, nil
	case "both", "async,sync":
		return []string{"async", "sync"}, nil
	}
	return nil, fmt.Errorf("want async, sync or both, got %q", s)
}

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeRunInfo records what `run` set up next to the trial.
func writeRunInfo(f runFlags, mode, scn, dir, runID string, o scenario.Outcome) error {
	s := fmt.Sprintf("run_id=%s\noperator=%s %s\nreplication=%s\ninstances=%d\nscenario=%s\ntarget=%s\nseed=%d\ninjected_s=%.3f\nready_s=%.3f\noperator_image=%s\npostgres_image=%s\n",
		runID, f.operator, f.version, mode, f.instances, scn, o.Target.Name(), o.Seed,
		o.Injected.Seconds(), o.Ready.Seconds(), f.operatorImage, f.pgImage)
	p := filepath.Join(dir, "run.txt")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

// runDryRun is `run --dry-run`: the target is read, nothing is created or
// applied; on a cluster pgchaos did not create, the faults the run would
// refuse are refused after the listing (exit 2).
func runDryRun(cmd *cobra.Command, f runFlags, adapter operators.Adapter, chosen []faults.Fault, allowed []faults.Scope) error {
	ctx := cmd.Context()
	bad := func(format string, a ...any) error { return usageErr("run: "+format, a...) }
	w := cmd.OutOrStdout()
	kc, onKind, err := connectTarget(cmd, f, nil)
	if err != nil {
		return err
	}
	if kc == nil {
		return dryRun(ctx, w, nil, adapter, f.namespace, chosen, false)
	}
	if onKind {
		fmt.Fprintf(w, "target: kind cluster %s, created by pgchaos: every scope allowed\n", f.kindName)
	} else {
		fmt.Fprintf(w, "target: %s, a cluster pgchaos did not create: faults reach only namespace %s unless --allow-scope\n", targetName(f), f.namespace)
	}
	if err := dryRun(ctx, w, kc, adapter, f.namespace, chosen, !onKind); err != nil {
		return bad("%v", err)
	}
	if !onKind {
		if err := operators.CheckChaosAllowed(ctx, kc, f.namespace); err != nil {
			return bad("%v", err)
		}
		if err := faults.CheckScopes(chosen, allowed); err != nil {
			return bad("%v", err)
		}
	}
	return nil
}

// resolveTarget connects to the run's target: the kind cluster (created
// if absent, the adapter's images built offline and loaded) or the
// kubeconfig's cluster, where the namespace must be labelled and every
// chosen fault's scope allowed. It fills f's images and returns the pull
// policy of the PostgreSQL image.
func resolveTarget(cmd *cobra.Command, f *runFlags, adapter operators.Adapter, p *stepPrinter, chosen []faults.Fault,
	allowed []faults.Scope) (*kube.Client, bool, corev1.PullPolicy, error) {
	ctx := cmd.Context()
	bad := func(format string, a ...any) error { return usageErr("run: "+format, a...) }
	kc, onKind, err := connectTarget(cmd, *f, p)
	if err != nil {
		return nil, false, "", err
	}
	if !onKind {
		if err := operators.CheckChaosAllowed(ctx, kc, f.namespace); err != nil {
			return nil, false, "", bad("%v", err)
		}
		if err := faults.CheckScopes(chosen, allowed); err != nil {
			return nil, false, "", bad("%v", err)
		}
	}
	pull := corev1.PullPolicy("")
	if onKind && !f.upstream && (f.operatorImage == "" || f.pgImage == "") {
		t := time.Now()
		imgs, err := adapter.BuildImages(ctx, operators.ImageOptions{CacheDir: f.cacheDir, Version: f.version, Progress: p.line})
		if err != nil {
			return nil, false, "", bad("building images: %v", err)
		}
		if f.operatorImage == "" {
			f.operatorImage = imgs.Operator
		}
		if f.pgImage == "" {
			f.pgImage = imgs.Postgres
		}
		load := append([]string{f.operatorImage, f.pgImage}, imgs.Extra...)
		if err := clusters.LoadIntoKind(ctx, f.kindName, load...); err != nil {
			return nil, false, "", bad("%v", err)
		}
		pull = corev1.PullIfNotPresent
		p.line(fmt.Sprintf("images ready and loaded in %s: %s", time.Since(t).Round(time.Second), strings.Join(operators.Images{Operator: f.operatorImage, Postgres: f.pgImage, Extra: imgs.Extra}.All(), ", ")))
	}

	if pull == "" && f.pgImage != "" {
		pull = corev1.PullIfNotPresent // a given image may be local to the nodes
	}
	return kc, onKind, pull, nil
}

// chooseAdapter finds f's --operator in the registry and settles its
// version (the adapter's default when none is given); the error names
// the flag at fault.
func chooseAdapter(f *runFlags) (operators.Adapter, error) {
	if f.target != "" {
		if f.operator != "" {
			return nil, errors.New("--operator and --target exclude each other: a target file describes its own stack")
		}
		t, err := target.Load(f.target)
		if err != nil {
			return nil, fmt.Errorf("--target: %w", err)
		}
		if _, err := registry.ByName(t.Metadata.Name); err == nil {
			return nil, fmt.Errorf("--target: metadata.name %q is an operator adapter's name; choose another", t.Metadata.Name)
		}
		if t.Spec.Namespace != "" {
			f.namespace = t.Spec.Namespace
		}
		a := target.NewAdapter(t)
		if f.version == "" {
			f.version = a.DefaultVersion()
		}
		if err := a.CheckVersion(f.version); err != nil {
			return nil, fmt.Errorf("--operator-version: %w", err)
		}
		return a, nil
	}
	if f.operator == "" {
		return nil, fmt.Errorf("--operator (one of %s) or --target FILE is required", strings.Join(registry.Names(), ", "))
	}
	a, err := registry.ByName(f.operator)
	if err != nil {
		return nil, fmt.Errorf("--operator: %w", err)
	}
	if f.version == "" {
		f.version = a.DefaultVersion()
	}
	if err := a.CheckVersion(f.version); err != nil {
		return nil, fmt.Errorf("--operator-version: %w", err)
	}
	return a, nil
}

// addTargetFlags defines the flags run, certify and gameday share: the
// operator and its version and images, the target cluster, the image
// cache, the node agent's image, and the scopes allowed on a cluster
// pgchaos did not create.
func addTargetFlags(fl *pflag.FlagSet, f *runFlags) {
	fl.StringVar(&f.operator, "operator", "", "operator adapter: "+strings.Join(registry.Names(), ", ")+" (see pgchaos operators)")
	fl.StringVar(&f.target, "target", "", "a target file describing an HA stack no adapter knows (see targets/ and pgchaos target validate)")
	fl.StringVar(&f.version, "operator-version", "", "operator version (default: the adapter's, see pgchaos operators)")
	fl.StringVar(&f.operatorImage, "operator-image", "", "operator image (default: built offline on kind, upstream elsewhere)")
	fl.StringVar(&f.pgImage, "postgres-image", "", "PostgreSQL image (default: built offline on kind, the operator's default elsewhere)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "target an existing cluster through this kubeconfig (default: the local kind cluster)")
	fl.StringVar(&f.kubeContext, "context", "", "kubeconfig context")
	fl.StringVar(&f.kindName, "kind-name", clusters.DefaultKindName, "kind cluster to use (created if absent)")
	fl.StringVar(&f.cacheDir, "cache", "/var/cache/pgchaos", "cache directory for image builds")
	fl.StringVar(&f.agentImage, "agent-image", "", "node agent image (default: built from this binary and loaded on kind)")
	fl.StringVar(&f.allowScope, "allow-scope", "", "on a cluster pgchaos did not create, allow faults beyond the Postgres cluster's pods: node (node faults, on nodes labelled pgchaos.io/allow-chaos=true), operator (operator outages), agent (the privileged node agent); comma-separated")
}

// connectTarget connects to the target: the kubeconfig's cluster, or the
// local kind cluster. With a step printer p the kind cluster is created if
// absent (its node image built offline or cached); without one (a dry run)
// an absent kind cluster gives a nil client and no error.
func connectTarget(cmd *cobra.Command, f runFlags, p *stepPrinter) (*kube.Client, bool, error) {
	ctx := cmd.Context()
	bad := func(format string, a ...any) error { return usageErr("run: "+format, a...) }
	kubeconfig, onKind := f.kubeconfig, f.kubeconfig == "" && !f.inCluster
	if onKind {
		say := func(string) {}
		if p != nil {
			say = p.line
		}
		k := clusters.NewKind(clusters.KindOptions{Name: f.kindName, Progress: say})
		st, err := k.Status(ctx)
		if err != nil {
			return nil, onKind, bad("%v", err)
		}
		if !st.Exists {
			if p == nil {
				return nil, onKind, nil
			}
			p.line(fmt.Sprintf("kind cluster %s absent: creating it (node image built offline or cached)", f.kindName))
			img, err := buildNodeImage(cmd, f.cacheDir)
			if err != nil {
				return nil, onKind, err
			}
			k = clusters.NewKind(clusters.KindOptions{Name: f.kindName, NodeImage: img, Progress: p.line})
			if err := k.Create(ctx); err != nil {
				return nil, onKind, bad("%v", err)
			}
		}
		if kubeconfig, err = k.KubeConfig(ctx); err != nil {
			return nil, onKind, bad("%v", err)
		}
	}
	kc, err := kube.New(kubeconfig, f.kubeContext)
	if err != nil {
		return nil, onKind, bad("%v", err)
	}
	return kc, onKind, nil
}
