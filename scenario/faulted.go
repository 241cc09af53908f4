package scenario

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	"github.com/pgchaos/pgchaos/workload"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Schedule is the timing of a faulted trial: warm-up, inject, hold,
// recover, wait until the cluster is ready again, cool-down, final read.
type Schedule struct {
	WarmUp time.Duration
	// Hold is how long the fault stays applied before Recover.
	Hold time.Duration
	// ReadyTimeout bounds the wait for the cluster to be ready after Recover.
	ReadyTimeout time.Duration
	// CoolDown is the workload's time after the cluster is ready again.
	CoolDown time.Duration
	// FinalTimeout bounds the final read of every instance.
	FinalTimeout time.Duration
	// Settle is how long the cluster must stay ready, with the same
	// primary, before it counts as ready again: right after a fault the
	// operator's status may still describe the cluster before it.
	Settle time.Duration
	// ReplicationBudget is the replication-recovery budget the trial will be
	// judged with (0: assert.DefaultReplicationBudget). After the cool-down
	// the workload and the monitor keep running until that verdict has no
	// undecided event, at most until the latest fault or change of primary + this
	// budget + ReplicationMargin: no verdict is decided before its budget
	// elapsed (see DecideReplicationWait).
	ReplicationBudget time.Duration
}

// DefaultSchedule: 10 s warm-up, 5 s hold, up to 3 min to recover, 15 s
// cool-down, then up to the 60 s replication budget (after the latest event)
// for replicas to stream again.
func DefaultSchedule() Schedule {
	return Schedule{WarmUp: 10 * time.Second, Hold: 5 * time.Second, ReadyTimeout: 3 * time.Minute,
		CoolDown: 15 * time.Second, FinalTimeout: time.Minute, Settle: 10 * time.Second,
		ReplicationBudget: assert.DefaultReplicationBudget}
}

// Plan is one faulted trial against an operator-managed cluster.
type Plan struct {
	// Spec is the trial (directory, workload, monitor); Spec.Seed is the
	// run's seed (0 picks one, printed through Progress).
	Spec     Spec
	Kube     *kube.Client
	Cluster  operators.Cluster
	Fault    faults.Fault
	Schedule Schedule
	// Final lists where the final state is read from (every instance).
	Final []workload.FinalTarget
	// RWService, when set, is the Service whose endpoints mark the
	// "endpoint-switched" stage (namespace/name of pgchaos's NodePort Service).
	RWService string
	// Env carries what the faults act through beyond Kube and Cluster (the
	// run id, the node agent, the kind host, the operator's Deployment);
	// RunFaulted fills in Kube, Cluster, Rand and Hold.
	Env faults.Env
	// Placement is the operator placement policy for node faults
	// (PlacementApart when empty; see Placements).
	Placement string
	// ClientsHost is the address the workload connects to (a node's, for
	// NodePort access): recorded as the clients' path in placement.json.
	ClientsHost string
	// Progress receives one line per step; nil discards them.
	Progress func(string)
}

// Outcome is what a faulted trial did.
type Outcome struct {
	Dir    string
	Seed   int64
	Target faults.Hit
	// Injected and Ready are offsets on the trial's clock.
	Injected, Ready time.Duration
	// WatchFrom and WatchUntil bound the wait for replication to recover
	// after the cool-down, on the trial's clock (equal when it did not wait).
	WatchFrom, WatchUntil time.Duration
	// Placement is where the fault struck (DIR/placement.json).
	Placement history.Placement
}

// RunFaulted runs a faulted trial and writes the trial directory, including
// final.json; judging it is assert's job. Recover is registered the moment
// Inject starts and also runs when ctx is cancelled.
func RunFaulted(ctx context.Context, p Plan) (out Outcome, err error) {
	say := p.Progress
	if say == nil {
		say = func(string) {}
	}
	if p.Spec.Seed == 0 {
		p.Spec.Seed = rand.Int64N(1<<53) + 1
	}
	out.Seed, out.Dir = p.Spec.Seed, p.Spec.Out
	say(fmt.Sprintf("seed %d (replay with --seed %d)", p.Spec.Seed, p.Spec.Seed))
	env := p.Env
	env.Kube, env.Cluster, env.Hold = p.Kube, p.Cluster, p.Schedule.Hold
	env.Rand = rand.New(rand.NewPCG(uint64(p.Spec.Seed), 0x9e3779b97f4a7c15))
	if env.Superuser == nil && len(p.Spec.Monitor) > 0 {
		env.Superuser = map[string]string{}
		for _, m := range p.Spec.Monitor {
			env.Superuser[m.Name] = m.DSN
		}
	}
	if err := p.Fault.Available(ctx, env); err != nil {
		return out, fmt.Errorf("fault %s is not available here: %w", p.Fault.Name(), err)
	}
	policy := p.Placement
	if policy == "" {
		policy = PlacementApart
	}
	if err := CheckPlacement(policy); err != nil {
		return out, err
	}
	moved, predicted := "", []string(nil)
	if p.Kube != nil {
		// The fault's target, predicted with the trial's own random source
		// (the same choice when the cluster does not change meanwhile):
		// refused nodes are refused before anything starts, and the
		// operator is placed before the trial.
		penv := env
		penv.Rand = rand.New(rand.NewPCG(uint64(p.Spec.Seed), 0x9e3779b97f4a7c15))
		if h, terr := p.Fault.Target(ctx, penv); terr == nil {
			if err := faults.CheckNodesAllowed(ctx, env, h); err != nil {
				return out, fmt.Errorf("fault %s: %w", p.Fault.Name(), err)
			}
			if nodes, nodeFault := hitNodes(h); nodeFault && env.Operator.Name != "" && policy != PlacementAsScheduled {
				predicted = nodes
				m, restore, perr := placeOperator(ctx, p.Kube, env.Operator, policy, nodes, say)
				defer func() {
					rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 4*time.Minute)
					defer cancel()
					if rerr := restore(rctx); rerr != nil {
						say("restoring the operator's placement: " + rerr.Error())
						if err == nil {
							err = fmt.Errorf("restoring the operator's placement: %w", rerr)
						}
					}
				}()
				if perr != nil {
					return out, fmt.Errorf("operator placement %s: %w", policy, perr)
				}
				moved = m
			}
		}
	}
	tr, err := Start(ctx, p.Spec)
	if err != nil {
		return out, err
	}
	wctx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); watchStages(wctx, p, tr) }()
	defer func() {
		stopWatch()
		wg.Wait()
		tr.Stop()
		if werr := tr.Wait(); err == nil {
			err = werr
		}
		if err == nil {
			err = readFinal(ctx, p, tr, say)
		}
	}()

	say(fmt.Sprintf("warm-up %s", p.Schedule.WarmUp))
	if !Sleep(ctx, p.Schedule.WarmUp) {
		return out, ctx.Err()
	}
	target, err := p.Fault.Target(ctx, env)
	if err != nil {
		return out, fmt.Errorf("fault %s: %w", p.Fault.Name(), err)
	}
	out.Target = target
	if err := faults.CheckNodesAllowed(ctx, env, target); err != nil {
		return out, fmt.Errorf("fault %s: %w", p.Fault.Name(), err)
	}
	out.Placement = recordPlacement(ctx, p.Kube, p.Cluster, env.Operator, policy, target, p.ClientsHost, moved)
	if nodes, _ := hitNodes(target); predicted != nil && !slices.Equal(nodes, predicted) {
		out.Placement.Note = strings.TrimPrefix(out.Placement.Note+"; the fault hit "+strings.Join(nodes, "+")+
			", not the predicted "+strings.Join(predicted, "+")+" the operator was placed for", "; ")
	}
	if err := history.WritePlacement(p.Spec.Out, out.Placement); err != nil {
		return out, err
	}
	say("placement: " + out.Placement.Summary())
	detail := p.Fault.Describe(target)
	say(fmt.Sprintf("inject %s: %s", p.Fault.Name(), detail))
	env.Note = func(kind, detail string) { _, _ = tr.Faults.Event(kind, detail) }
	applied, err := Apply(ctx, tr.Faults, p.Fault, env, target, detail)
	if applied != nil {
		out.Injected = applied.At
		defer func() {
			if rerr := applied.Revert(); err == nil && rerr != nil {
				err = fmt.Errorf("recovering %s: %w", p.Fault.Name(), rerr)
			}
		}()
	}
	if err != nil {
		return out, err
	}
	say(fmt.Sprintf("hold %s", p.Schedule.Hold))
	if !Sleep(ctx, p.Schedule.Hold) {
		return out, ctx.Err()
	}
	say("recover")
	if err := applied.Revert(); err != nil {
		return out, fmt.Errorf("recovering %s: %w", p.Fault.Name(), err)
	}
	rctx, cancel := context.WithTimeout(ctx, p.Schedule.ReadyTimeout)
	rerr := WaitSettled(rctx, p.Cluster, p.Schedule.Settle)
	cancel()
	out.Ready = tr.Since()
	if rerr != nil {
		_, _ = tr.Faults.Event(history.EventClusterNotReady, rerr.Error())
		say(fmt.Sprintf("cluster not ready after %s: %v", p.Schedule.ReadyTimeout, rerr))
	} else {
		_, _ = tr.Faults.Event(history.EventClusterReady, "")
		say(fmt.Sprintf("cluster ready again %.1fs after injection", (out.Ready - out.Injected).Seconds()))
	}
	say(fmt.Sprintf("cool-down %s", p.Schedule.CoolDown))
	if !Sleep(ctx, p.Schedule.CoolDown) {
		return out, ctx.Err()
	}
	out.WatchFrom = tr.Since()
	out.WatchUntil, err = waitReplication(ctx, p, tr, say)
	return out, err
}

// WaitSettled waits until the cluster is ready, then ready again settle
// later with the same primary (a status written before the fault took
// effect does not count), until ctx ends.
func WaitSettled(ctx context.Context, c operators.Cluster, settle time.Duration) error {
	for {
		if err := c.WaitReady(ctx); err != nil {
			return err
		}
		if settle <= 0 {
			return nil
		}
		before, err := operators.Primary(ctx, c)
		if err != nil {
			if !Sleep(ctx, time.Second) {
				return ctx.Err()
			}
			continue
		}
		if !Sleep(ctx, settle) {
			return ctx.Err()
		}
		if err := c.WaitReady(ctx); err != nil {
			return err
		}
		after, err := operators.Primary(ctx, c)
		if err == nil && after.Name == before.Name {
			return nil
		}
		if !Sleep(ctx, time.Second) {
			return ctx.Err()
		}
	}
}

// watchStages records the operator's view as events: a new primary label
// ("new-primary-elected") and the read-write Service pointing elsewhere
// ("endpoint-switched").
func watchStages(ctx context.Context, p Plan, tr *Trial) {
	lastPrimary, lastEP := "", ""
	first := true
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if pr, err := operators.Primary(qctx, p.Cluster); err == nil && pr.Name != lastPrimary {
			if !first {
				_, _ = tr.Faults.Event(history.EventPromoted, pr.Name)
			}
			lastPrimary = pr.Name
		}
		if ep := endpointOf(qctx, p); ep != "" && ep != lastEP {
			if !first && lastEP != "" {
				_, _ = tr.Faults.Event(history.EventEndpointSwitch, ep)
			}
			lastEP = ep
		}
		cancel()
		first = false
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// endpointOf names the ready pod(s) behind the read-write Service, or "".
func endpointOf(ctx context.Context, p Plan) string {
	if p.RWService == "" || p.Kube == nil {
		return ""
	}
	ns, name := splitRef(p.RWService)
	sl, err := p.Kube.CS.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + name})
	if err != nil {
		return ""
	}
	out := ""
	for _, s := range sl.Items {
		for _, e := range s.Endpoints {
			if (e.Conditions.Ready == nil || *e.Conditions.Ready) && e.TargetRef != nil {
				if out != "" {
					out += "+"
				}
				out += e.TargetRef.Name
			}
		}
	}
	if out == "" {
		return "none"
	}
	return out
}

func splitRef(s string) (string, string) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok {
		return "", s
	}
	return ns, name
}

// readFinal reads every instance and writes final.json.
func readFinal(ctx context.Context, p Plan, tr *Trial, say func(string)) error {
	if len(p.Final) == 0 {
		return nil
	}
	say("final read of every instance")
	to := p.Schedule.FinalTimeout
	if to <= 0 {
		to = time.Minute
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), to)
	defer cancel()
	eff := tr.Workload.Config()
	if _, err := RecordFinal(fctx, p.Spec.Out, tr.Ledger.Start(), eff.Table, eff.Run, p.Final, 30*time.Second); err != nil {
		return fmt.Errorf("final read: %w", err)
	}
	return nil
}

// Sleep waits d or until ctx is done; it reports whether the full d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
