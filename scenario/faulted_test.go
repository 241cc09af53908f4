package scenario_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/internal/bedcluster"
	"github.com/pgchaos/pgchaos/internal/pgtestbed"
	"github.com/pgchaos/pgchaos/monitor"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// markFault only records its window: the schedule is what is under test.
type markFault struct{ recovered *int }

func (m markFault) Name() string                                        { return "mark" }
func (m markFault) Available(ctx context.Context, env faults.Env) error { return nil }
func (m markFault) Target(ctx context.Context, env faults.Env) (faults.Hit, error) {
	return faults.AnyReplica.Pick(ctx, env)
}
func (m markFault) Describe(t faults.Hit) string { return "nothing to " + t.Name() }
func (m markFault) Inject(ctx context.Context, env faults.Env, t faults.Hit) (faults.Recover, error) {
	return func(context.Context) error { *m.recovered++; return nil }, nil
}

func TestRunFaultedSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real PostgreSQL servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	var targets []monitor.Target
	var final []workload.FinalTarget
	for _, in := range tb.Instances {
		targets = append(targets, monitor.Target{Name: in.Name, DSN: tb.DSN(in)})
		final = append(final, workload.FinalTarget{Name: in.Name, DSN: tb.DSN(in)})
	}
	dir := filepath.Join(t.TempDir(), "trial")
	recovered := 0
	var lines []string
	out, err := scenario.RunFaulted(ctx, scenario.Plan{
		Spec: scenario.Spec{Out: dir, Seed: 7, Monitor: targets,
			Workload: workload.Config{DSN: tb.MultiHostDSN(), Clients: 2, Rate: 200}},
		Cluster: bedcluster.Cluster{TB: tb}, Fault: markFault{&recovered}, Final: final,
		Schedule: scenario.Schedule{WarmUp: time.Second, Hold: 500 * time.Millisecond, ReadyTimeout: time.Minute,
			CoolDown: time.Second, FinalTimeout: 30 * time.Second},
		Progress: func(s string) { lines = append(lines, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if recovered != 1 {
		t.Fatalf("recover ran %d times, want exactly once", recovered)
	}
	if lines[0] != "seed 7 (replay with --seed 7)" {
		t.Fatalf("first progress line %q: the seed must be printed first", lines[0])
	}
	if out.Seed != 7 || out.Target.Main().Role != operators.RoleReplica || out.Injected < time.Second || out.Ready < out.Injected {
		t.Fatalf("outcome %+v", out)
	}
	// Every replica streams throughout: replication-recovery is decided at
	// once, so the trial must not sit out the 60 s budget.
	if out.WatchFrom < out.Ready || out.WatchUntil < out.WatchFrom || out.WatchUntil-out.WatchFrom > 5*time.Second {
		t.Fatalf("waited for replication from %s to %s with every replica streaming", out.WatchFrom, out.WatchUntil)
	}
	tr, err := history.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Faults) != 1 || tr.Faults[0].Name != "mark" || tr.Faults[0].Recovered < tr.Faults[0].Injected+500*time.Millisecond {
		t.Fatalf("fault windows %+v", tr.Faults)
	}
	ready := false
	for _, e := range tr.Events {
		ready = ready || e.Kind == "cluster-ready"
	}
	if !ready {
		t.Fatalf("no cluster-ready event in %+v", tr.Events)
	}
	if tr.Final == nil || len(tr.Final.Instances) != 3 || tr.Meta.Seed != 7 {
		t.Fatalf("final %+v seed %d", tr.Final, tr.Meta.Seed)
	}
	rep := assert.Run(tr, assert.DefaultConfig())
	if rep.Worst() != history.Pass {
		t.Fatalf("a trial without a real fault must pass every check: %+v", rep.Checks)
	}
}

// stopReplicaFault stops a replica at Inject; its Recover restarts it only
// after delay, in the background (done is closed when it is up again): a
// replica that streams again long after the cluster is ready.
type stopReplicaFault struct {
	tb    *pgtestbed.Cluster
	delay time.Duration
	done  chan error
}

func (f stopReplicaFault) Name() string                                        { return "stop-replica" }
func (f stopReplicaFault) Available(ctx context.Context, env faults.Env) error { return nil }
func (f stopReplicaFault) Target(ctx context.Context, env faults.Env) (faults.Hit, error) {
	return faults.AnyReplica.Pick(ctx, env)
}
func (f stopReplicaFault) Describe(t faults.Hit) string { return "stop " + t.Name() }
func (f stopReplicaFault) Inject(ctx context.Context, env faults.Env, t faults.Hit) (faults.Recover, error) {
	var in *pgtestbed.Instance
	for _, i := range f.tb.Instances {
		if i.Name == t.Name() {
			in = i
		}
	}
	if in == nil {
		return nil, fmt.Errorf("no instance %s", t.Name())
	}
	if err := in.StopFast(ctx); err != nil {
		return nil, err
	}
	return func(context.Context) error {
		go func() {
			time.Sleep(f.delay)
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			f.done <- in.Start(sctx)
		}()
		return nil
	}, nil
}

// TestRunFaultedWaitsForReplication: a replica streams again 6 s after the
// fault is recovered, after the cool-down: the trial must keep watching
// (within the 12 s budget) and stop as soon as it streams, so that the
// verdict passes instead of being decided early.
func TestRunFaultedWaitsForReplication(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real PostgreSQL servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	var targets []monitor.Target
	var final []workload.FinalTarget
	for _, in := range tb.Instances {
		targets = append(targets, monitor.Target{Name: in.Name, DSN: tb.DSN(in)})
		final = append(final, workload.FinalTarget{Name: in.Name, DSN: tb.DSN(in)})
	}
	dir := filepath.Join(t.TempDir(), "trial")
	budget := 12 * time.Second
	f := stopReplicaFault{tb: tb, delay: 6 * time.Second, done: make(chan error, 1)}
	var lines []string
	out, err := scenario.RunFaulted(ctx, scenario.Plan{
		Spec: scenario.Spec{Out: dir, Seed: 7, Monitor: targets,
			Workload: workload.Config{DSN: tb.MultiHostDSN(), Clients: 2, Rate: 200}},
		Cluster: bedcluster.Cluster{TB: tb}, Fault: f, Final: final,
		Schedule: scenario.Schedule{WarmUp: time.Second, Hold: 500 * time.Millisecond, ReadyTimeout: time.Minute,
			CoolDown: time.Second, FinalTimeout: 30 * time.Second, ReplicationBudget: budget},
		Progress: func(s string) { lines = append(lines, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-f.done; err != nil {
		t.Fatalf("restarting the replica: %v", err)
	}
	tr, err := history.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := tr.Faults[0].Recovered
	if out.WatchUntil < rec+f.delay {
		t.Fatalf("stopped watching at %s, before the replica was even restarted (%s): %q", out.WatchUntil, rec+f.delay, lines)
	}
	if out.WatchUntil > rec+budget+scenario.ReplicationMargin {
		t.Fatalf("watched until %s, past the deadline %s", out.WatchUntil, rec+budget+scenario.ReplicationMargin)
	}
	waiting := false
	for _, l := range lines {
		waiting = waiting || strings.HasPrefix(l, "waiting up to ") && strings.Contains(l, "for replication to recover (replica ")
	}
	if !waiting {
		t.Fatalf("no progress line says what it waits for: %q", lines)
	}
	cfg := assert.DefaultConfig()
	cfg.ReplicationBudget = budget
	if v := (assert.ReplicationRecovery{}).Check(tr, cfg); v.Status != history.Pass {
		t.Fatalf("replication-recovery %s (%s): the replica streamed again within the budget", v.Status, v.Summary)
	}
}
