package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/clusters"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/cnpg"
	"github.com/pgchaos/pgchaos/operators/kube"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
)

// operatorNames is the one list of operators `run` knows.
func operatorNames() []string { return []string{"cnpg"} }

type runFlags struct {
	operator, kubeconfig, kubeContext, kindName string
	scenario, replication, namespace, name      string
	out, version, operatorImage, pgImage        string
	cacheDir, storageSize                       string
	instances, clients, repeat                  int
	rate                                        float64
	seed                                        int64
	sched                                       scenario.Schedule
	keep, upstream, inCluster, skipInstall      bool
	check                                       assert.Config
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
	fl.StringVar(&f.operator, "operator", "", "operator adapter: "+strings.Join(operatorNames(), ", "))
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "target an existing cluster through this kubeconfig (default: the local kind cluster)")
	fl.StringVar(&f.kubeContext, "context", "", "kubeconfig context")
	fl.StringVar(&f.kindName, "kind-name", clusters.DefaultKindName, "kind cluster to use (created if absent)")
	fl.StringVar(&f.scenario, "scenario", faults.PrimaryPodDelete.Name(), "fault to inject: "+strings.Join(faultNames(), ", "))
	fl.StringVar(&f.replication, "replication", "async", "async, or sync (quorum ANY 1)")
	fl.StringVar(&f.namespace, "namespace", "pgchaos", "namespace of the Postgres cluster")
	fl.StringVar(&f.name, "cluster", "", "Postgres cluster name (default pg-<replication>)")
	fl.IntVar(&f.instances, "instances", 3, "PostgreSQL instances")
	fl.StringVar(&f.storageSize, "storage", "1Gi", "volume size per instance")
	fl.StringVar(&f.out, "out", "", "trial directory to create")
	fl.StringVar(&f.version, "operator-version", cnpg.DefaultVersion, "operator version")
	fl.StringVar(&f.operatorImage, "operator-image", "", "operator image (default: built offline on kind, upstream elsewhere)")
	fl.StringVar(&f.pgImage, "postgres-image", "", "PostgreSQL image (default: built offline on kind, the operator's default elsewhere)")
	fl.BoolVar(&f.upstream, "upstream-images", false, "use the upstream images even on kind (needs a registry)")
	fl.StringVar(&f.cacheDir, "cache", "/var/cache/pgchaos", "cache directory for image builds")
	fl.IntVar(&f.clients, "clients", 4, "workload clients")
	fl.Float64Var(&f.rate, "rate", 200, "total write attempts per second (0: unlimited)")
	fl.Int64Var(&f.seed, "seed", 0, "random seed (0: pick one per trial and print it; N: trial i uses N+i-1)")
	fl.IntVar(&f.repeat, "repeat", 1, "trials in a row on the same cluster (DIR/trial-NNN each); the summary gives p50/p95/max unavailability")
	fl.DurationVar(&f.sched.WarmUp, "warm-up", f.sched.WarmUp, "workload time before the fault")
	fl.DurationVar(&f.sched.Hold, "hold", f.sched.Hold, "time the fault stays applied")
	fl.DurationVar(&f.sched.CoolDown, "cool-down", f.sched.CoolDown, "workload time after the cluster is ready again")
	fl.DurationVar(&f.sched.ReadyTimeout, "ready-timeout", f.sched.ReadyTimeout, "how long the cluster may take to be ready again")
	fl.DurationVar(&f.check.RTOBudget, "rto-budget", f.check.RTOBudget, "an unavailability window longer than this fails")
	fl.DurationVar(&f.check.ReplicationBudget, "replication-budget", f.check.ReplicationBudget, "replicas must stream again within this")
	fl.BoolVar(&f.inCluster, "in-cluster", false, "run from a pod of the target cluster: its service account, ClusterIP Services reached by DNS (no kind, no image build)")
	fl.BoolVar(&f.skipInstall, "skip-install", false, "the operator is installed already")
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
	if f.operator != "cnpg" {
		return bad("--operator must be one of: %s (got %q)", strings.Join(operatorNames(), ", "), f.operator)
	}
	if f.out == "" {
		return bad("--out DIR is required")
	}
	fault, err := faults.ByName(f.scenario)
	if err != nil {
		return bad("--scenario: %v", err)
	}
	if f.replication != "async" && f.replication != "sync" {
		return bad("--replication must be async or sync, got %q", f.replication)
	}
	if f.repeat < 1 || f.repeat > 1000 {
		return bad("--repeat must be between 1 and 1000, got %d", f.repeat)
	}
	started := time.Now()
	if f.name == "" {
		f.name = "pg-" + f.replication
	}
	if err := scenario.PrepareDir(f.out); err != nil {
		return bad("%v", err)
	}
	runID := newRunID()
	p.line("run id " + runID)

	kubeconfig, onKind := f.kubeconfig, f.kubeconfig == "" && !f.inCluster
	if onKind {
		k := clusters.NewKind(clusters.KindOptions{Name: f.kindName, Progress: p.line})
		st, err := k.Status(ctx)
		if err != nil {
			return bad("%v", err)
		}
		if !st.Exists {
			p.line(fmt.Sprintf("kind cluster %s absent: creating it (node image built offline or cached)", f.kindName))
			img, err := buildNodeImage(cmd, f.cacheDir, "")
			if err != nil {
				return err
			}
			k = clusters.NewKind(clusters.KindOptions{Name: f.kindName, NodeImage: img, Progress: p.line})
			if err := k.Create(ctx); err != nil {
				return bad("%v", err)
			}
		}
		if kubeconfig, err = k.KubeConfig(ctx); err != nil {
			return bad("%v", err)
		}
	}
	kc, err := kube.New(kubeconfig, f.kubeContext)
	if err != nil {
		return bad("%v", err)
	}
	pull := corev1.PullPolicy("")
	if onKind && !f.upstream && (f.operatorImage == "" || f.pgImage == "") {
		t := time.Now()
		imgs, err := cnpg.BuildImages(ctx, cnpg.ImageOptions{CacheDir: f.cacheDir, Version: f.version, Progress: p.line})
		if err != nil {
			return bad("building images: %v", err)
		}
		if f.operatorImage == "" {
			f.operatorImage = imgs.Operator
		}
		if f.pgImage == "" {
			f.pgImage = imgs.Postgres
		}
		if err := cnpg.LoadIntoKind(ctx, f.kindName, f.operatorImage, f.pgImage); err != nil {
			return bad("%v", err)
		}
		pull = corev1.PullIfNotPresent
		p.line(fmt.Sprintf("images ready and loaded in %s: %s, %s", time.Since(t).Round(time.Second), f.operatorImage, f.pgImage))
	}

	if pull == "" && f.pgImage != "" {
		pull = corev1.PullIfNotPresent // a given image may be local to the nodes
	}
	op := cnpg.New(cnpg.Options{Kube: kc, Version: f.version, OperatorImage: f.operatorImage, RunID: runID})
	spec := operators.ClusterSpec{
		Ref: operators.Ref{Namespace: f.namespace, Name: f.name}, Instances: f.instances,
		Synchronous: f.replication == "sync", StorageSize: f.storageSize, Image: f.pgImage, PullPolicy: pull, RunID: runID,
	}
	prov, cleanup, err := scenario.Provision(ctx, scenario.ProvisionOptions{Kube: kc, Operator: op, Spec: spec,
		SkipInstall: f.skipInstall, InCluster: f.inCluster, Progress: p.line})
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
		return bad("%v", err)
	}
	results := reports.NewResults(started, map[string]string{
		"go": runtime.Version(), "os": runtime.GOOS + "/" + runtime.GOARCH, "target": targetName(f),
	}, map[string]string{"pgchaos": version, "cloudnative-pg": f.version, "operator_image": f.operatorImage, "postgres_image": f.pgImage})
	worst := history.Pass
	for i := 1; i <= f.repeat; i++ {
		dir := f.out
		if f.repeat > 1 {
			dir = filepath.Join(f.out, fmt.Sprintf("trial-%03d", i))
			p.line(fmt.Sprintf("trial %d of %d", i, f.repeat))
		}
		seed := f.seed
		if seed != 0 {
			seed += int64(i - 1)
		}
		if i > 1 {
			if err := prov.Cluster.WaitReady(ctx); err != nil {
				return bad("before trial %d: %v", i, err)
			}
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
			Kube: kc, Cluster: prov.Cluster, Fault: fault, Schedule: f.sched, Final: prov.Final,
			RWService: prov.Exposure.Services[0], Progress: p.line,
		}
		outc, err := scenario.RunFaulted(ctx, plan)
		if err != nil {
			return bad("%v (the trial so far is in %s)", err, dir)
		}
		tr, err := history.Load(dir)
		if err != nil {
			return bad("%v", err)
		}
		rep := assert.Run(tr, f.check)
		if err := history.WriteReport(dir, rep); err != nil {
			return bad("%v", err)
		}
		printReport(cmd.OutOrStdout(), rep)
		fmt.Fprintf(cmd.OutOrStdout(), "trial %s: fault %s on %s at %.1fs, cluster ready again at %.1fs; seed %d\n",
			dir, fault.Name(), outc.Target.Name, outc.Injected.Seconds(), outc.Ready.Seconds(), outc.Seed)
		if err := writeRunInfo(f, dir, runID, outc); err != nil {
			return bad("%v", err)
		}
		results.Add(reports.Trial{Scenario: fault.Name(), Operator: f.operator, Replication: f.replication, Dir: dir,
			Seed: outc.Seed, Target: outc.Target.Name, Elapsed: time.Since(t), Checks: rep.Checks})
		if st := rep.Worst(); st == history.Failed || (st == history.Undecided && worst == history.Pass) {
			worst = st
		}
	}
	if err := writeResults(f.out, results); err != nil {
		return bad("%v", err)
	}
	fmt.Fprintln(cmd.OutOrStdout())
	_ = reports.WriteTable(cmd.OutOrStdout(), results)
	fmt.Fprintf(cmd.OutOrStdout(), "results: %s, %s\n", filepath.Join(f.out, "results.json"), filepath.Join(f.out, "junit.xml"))
	if worst == history.Failed {
		return &exitError{code: exitFailed}
	}
	return nil
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

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeRunInfo records what `run` set up next to the trial.
func writeRunInfo(f runFlags, dir, runID string, o scenario.Outcome) error {
	s := fmt.Sprintf("run_id=%s\noperator=%s %s\nreplication=%s\ninstances=%d\nscenario=%s\ntarget=%s\nseed=%d\ninjected_s=%.3f\nready_s=%.3f\noperator_image=%s\npostgres_image=%s\n",
		runID, f.operator, f.version, f.replication, f.instances, f.scenario, o.Target.Name, o.Seed,
		o.Injected.Seconds(), o.Ready.Seconds(), f.operatorImage, f.pgImage)
	p := filepath.Join(dir, "run.txt")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}
