package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/gameday"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/util/validation"
)

type gamedayFlags struct {
	plan, metricsAddr string
	yes, noTUI        bool
}

// newGamedayCmd is `pgchaos gameday`: a plan over one continuous workload,
// with a live view, metrics, notes and abort.
func newGamedayCmd() *cobra.Command {
	f := runFlags{sched: scenario.DefaultSchedule(), check: assert.DefaultConfig()}
	var g gamedayFlags
	cmd := &cobra.Command{
		Use:   "gameday --plan FILE --operator NAME --out DIR [--kubeconfig F --namespace NS --allow-scope ...] [--dry-run] [--metrics-addr A]",
		Short: "Run a game day: a plan of faults (at times or on a key) over one workload, with a live view, notes, metrics and abort",
		Long: `Shows the plan and asks for confirmation (--yes skips it; --dry-run shows
what each fault would touch and exits), creates the Postgres cluster, then
runs one continuous workload and monitor while the plan's steps happen:
faults at their times or when you press c, notes on the timeline (n, then
Enter). a or Ctrl-C aborts: the active fault is reverted and the day is
recorded and judged as far as it went. The terminal shows writes per second,
the current unavailability, each instance's role, timeline and lag, the
active fault and its deadline, the latest events; with no terminal (CI, a
pipe) it prints plain lines and reads c, a and "n TEXT" lines on stdin.
--metrics-addr serves the same on /metrics for Prometheus. At the end DIR
holds the trial, verdict.json and report.html. On a cluster pgchaos did not
create, the namespace must be labelled and faults beyond it allowed
(--allow-scope), as for run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runGameday(cmd, f, g) },
	}
	fl := cmd.Flags()
	fl.StringVar(&g.plan, "plan", "", "game-day plan file (format pgchaos-gameday)")
	fl.StringVar(&g.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9187)")
	fl.BoolVar(&g.yes, "yes", false, "start without asking for confirmation")
	fl.BoolVar(&g.noTUI, "no-tui", false, "plain lines even on a terminal")
	addTargetFlags(fl, &f)
	fl.StringVar(&f.out, "out", "", "directory to create: the game day's trial and report")
	fl.StringVar(&f.namespace, "namespace", "pgchaos-gameday", "namespace of the Postgres cluster (labelled pgchaos.io/allow-chaos=true outside kind)")
	fl.StringVar(&f.name, "cluster", "pg-gameday", "Postgres cluster name")
	fl.StringVar(&f.replication, "replication", "sync", "async or sync")
	fl.IntVar(&f.instances, "instances", 3, "PostgreSQL instances")
	fl.IntVar(&f.clients, "clients", 4, "workload clients")
	fl.Float64Var(&f.rate, "rate", 200, "total write attempts per second")
	fl.Int64Var(&f.seed, "seed", 0, "random seed (0: one is picked and recorded)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "show the plan and what each fault would touch, then exit")
	fl.BoolVar(&f.keep, "keep", false, "keep the Postgres cluster afterwards")
	fl.BoolVar(&f.skipInstall, "skip-install", false, "the operator is installed already")
	return cmd
}

func runGameday(cmd *cobra.Command, f runFlags, g gamedayFlags) error {
	ctx := cmd.Context()
	bad := func(format string, a ...any) error { return usageErr("gameday: "+format, a...) }
	if g.plan == "" {
		return bad("--plan FILE is required")
	}
	plan, err := gameday.LoadPlan(g.plan)
	if err != nil {
		return bad("%v", err)
	}
	adapter, err := chooseAdapter(&f)
	if err != nil {
		return bad("%v", err)
	}
	if errs := validation.IsDNS1123Label(f.namespace); len(errs) > 0 {
		return bad("--namespace %q: %s", f.namespace, strings.Join(errs, "; "))
	}
	if err := faults.CheckMode(f.replication); err != nil {
		return bad("--replication: %v", err)
	}
	if f.out == "" && !f.dryRun {
		return bad("--out DIR is required")
	}
	allowed, err := faults.ParseScopes(f.allowScope)
	if err != nil {
		return bad("--allow-scope: %v", err)
	}
	chosen := plan.Faults()
	plan.Print(cmd.OutOrStdout())
	if f.dryRun {
		return runDryRun(cmd, f, adapter, chosen, allowed)
	}
	if !g.yes {
		fmt.Fprint(cmd.OutOrStdout(), "Start the game day? [y/N] ")
		line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return bad("not confirmed: nothing was done")
		}
	}
	if err := scenario.PrepareDir(f.out); err != nil {
		return bad("%v", err)
	}
	p := newStepPrinter(cmd.ErrOrStderr())
	runID := newRunID()
	p.line("run id " + runID)
	kc, onKind, pull, err := resolveTarget(cmd, &f, adapter, p, chosen, allowed)
	if err != nil {
		return err
	}
	op := adapter.New(operators.Options{Kube: kc, Version: f.version, OperatorImage: f.operatorImage, PostgresImage: f.pgImage, RunID: runID})
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
	spec := operators.ClusterSpec{Ref: operators.Ref{Namespace: f.namespace, Name: f.name}, Instances: f.instances,
		Synchronous: f.replication == faults.Sync, StorageClass: storageClassFor(chosen, ""), StorageSize: "1Gi",
		Image: f.pgImage, PullPolicy: pull, RunID: runID}
	prov, cleanup, err := scenario.Provision(ctx, scenario.ProvisionOptions{Kube: kc, Operator: op, Spec: spec, SkipInstall: f.skipInstall, Progress: p.line})
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
	fenv.Superuser = prov.Superuser()
	metrics := gameday.NewMetrics()
	gctx, abort := context.WithCancel(ctx)
	defer abort()
	if g.metricsAddr != "" {
		addr, err := metrics.Serve(gctx, g.metricsAddr)
		if err != nil {
			return bad("%v", err)
		}
		p.line("metrics on http://" + addr + "/metrics")
	}
	cont, notes := make(chan struct{}, 1), make(chan string, 16)
	// The first Ctrl-C aborts (main's context); a second one (or a second
	// a in plain mode) skips the wait for a settled cluster.
	skip := make(chan struct{})
	var skipOnce sync.Once
	skipWait := func() { skipOnce.Do(func() { close(skip) }) }
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		n := 0
		for {
			select {
			case <-sigs:
				if n++; n >= 2 {
					skipWait()
				}
			case <-skip:
				return
			}
		}
	}()
	opts := gameday.Options{Plan: plan, Kube: kc, Cluster: prov.Cluster, Env: fenv, Final: prov.Final,
		Spec: scenario.Spec{Out: f.out, Seed: f.seed, Monitor: prov.Monitor, Command: commandLine(cmd), Version: version,
			Workload: workload.Config{DSN: prov.ReadWriteDSN, Clients: f.clients, Rate: f.rate, OpTimeout: 5 * time.Second}},
		Control: gameday.Control{Continue: cont, Notes: notes, SkipWait: skip}}
	var out gameday.Outcome
	var runErr error
	tui := !g.noTUI && readerIsTerminal(cmd.InOrStdin()) && isTerminal(cmd.OutOrStdout())
	if tui {
		view := gameday.NewView(plan.Name, cont, notes, abort)
		prog := tea.NewProgram(view, tea.WithContext(context.WithoutCancel(ctx)), tea.WithInput(cmd.InOrStdin()), tea.WithOutput(cmd.OutOrStdout()))
		opts.Live = func(s gameday.Snapshot) { metrics.Observe(s); prog.Send(gameday.SnapMsg(s)) }
		opts.Progress = func(string) {}
		done := make(chan struct{})
		go func() {
			defer close(done)
			out, runErr = gameday.Run(gctx, opts)
			end := "game day over: judging"
			if out.Aborted {
				end = "game day aborted: judging what ran"
			}
			prog.Send(gameday.EndMsg(end))
		}()
		if _, err := prog.Run(); err != nil {
			abort()
		}
		<-done
	} else {
		opts.Live = metrics.Observe
		opts.Progress = p.line
		// Read beyond the abort (a second a skips the wait); stops on return.
		rctx, stopReading := context.WithCancel(context.WithoutCancel(ctx))
		defer stopReading()
		go readControls(rctx, cmd.InOrStdin(), cont, notes, func() {
			if gctx.Err() != nil {
				skipWait()
			}
			abort()
		})
		out, runErr = gameday.Run(gctx, opts)
	}
	if runErr != nil {
		return bad("%v (what was recorded is in %s)", runErr, f.out)
	}
	tr, err := history.Load(f.out)
	if err != nil {
		return bad("%v", err)
	}
	cfg := f.check
	rep, err := scenario.Judge(f.out, tr, cfg)
	if err != nil {
		return bad("%v", err)
	}
	w := cmd.OutOrStdout()
	printReport(w, rep)
	state := "completed"
	if out.Aborted {
		state = "aborted"
	}
	fmt.Fprintf(w, "game day %s after %d of %d steps; seed %d; trial %s\n", state, out.Steps, len(plan.Steps), out.Seed, f.out)
	if path, err := renderReport(f.out); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "report not written: %v\n", err)
	} else {
		fmt.Fprintf(w, "report: %s\n", path)
	}
	if rep.Worst() == history.Failed {
		return &exitError{code: exitFailed}
	}
	return nil
}

// readControls reads plain-mode controls, one per line: c (continue),
// a (abort), n TEXT (a note); it stops with ctx or at the end of input.
func readControls(ctx context.Context, in io.Reader, cont chan<- struct{}, notes chan<- string, abort func()) {
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case l, ok := <-lines:
			if !ok {
				return
			}
			l = strings.TrimSpace(l)
			switch {
			case l == "c":
				select {
				case cont <- struct{}{}:
				default:
				}
			case l == "a":
				abort()
			case strings.HasPrefix(l, "n "):
				select {
				case notes <- strings.TrimSpace(l[2:]):
				default:
				}
			}
		}
	}
}

// readerIsTerminal reports whether r is a terminal file.
func readerIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
