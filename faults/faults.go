package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
)

// Env is what a fault acts on.
type Env struct {
	Kube    *kube.Client
	Cluster operators.Cluster
	// Rand is the run's seeded random source (target choice).
	Rand *rand.Rand
}

// Recover reverts a fault. It is idempotent and safe to call after an
// interrupt (with a fresh context).
type Recover func(ctx context.Context) error

// Fault is one kind of fault.
type Fault interface {
	// Name identifies the fault in trials and on the command line.
	Name() string
	// Available says why the fault cannot run against env (nil: it can).
	Available(ctx context.Context, env Env) error
	// Target picks the instance the fault will hit.
	Target(ctx context.Context, env Env) (operators.Instance, error)
	// Describe says in a few words what Inject will do to target.
	Describe(target operators.Instance) string
	// Inject applies the fault to target and returns its Recover.
	Inject(ctx context.Context, env Env, target operators.Instance) (Recover, error)
}

// All lists every fault: ONE explicit list.
func All() []Fault {
	return []Fault{PrimaryPodDelete, ReplicaPodDelete, PrimaryPostmasterKill, PlannedSwitchover, LaggingPrimaryPodDelete}
}

// ByName finds a fault in All.
func ByName(name string) (Fault, error) {
	var names []string
	for _, f := range All() {
		if f.Name() == name {
			return f, nil
		}
		names = append(names, f.Name())
	}
	return nil, fmt.Errorf("no fault named %q (have: %s)", name, strings.Join(names, ", "))
}

// Targeting picks an instance.
type Targeting func(ctx context.Context, env Env) (operators.Instance, error)

// Primary targets the instance the operator labels primary.
func Primary(ctx context.Context, env Env) (operators.Instance, error) {
	return operators.Primary(ctx, env.Cluster)
}

// AnyReplica targets one replica, chosen with the run's random source.
func AnyReplica(ctx context.Context, env Env) (operators.Instance, error) {
	ins, err := env.Cluster.Instances(ctx)
	if err != nil {
		return operators.Instance{}, fmt.Errorf("choosing a replica of %s: %w", env.Cluster.Ref(), err)
	}
	reps := operators.Replicas(ins)
	if len(reps) == 0 {
		return operators.Instance{}, fmt.Errorf("choosing a replica of %s: none (%d instances)", env.Cluster.Ref(), len(ins))
	}
	return reps[env.Rand.IntN(len(reps))], nil
}

func noRecover(context.Context) error { return nil }

// podDelete deletes the target's pod with a grace period.
type podDelete struct {
	name   string
	target Targeting
	grace  int64
}

var _ Fault = podDelete{}

// PrimaryPodDelete deletes the primary's pod with grace period 0.
var PrimaryPodDelete Fault = podDelete{name: "primary-pod-delete", target: Primary, grace: 0}

// ReplicaPodDelete deletes a replica's pod with grace period 0.
var ReplicaPodDelete Fault = podDelete{name: "replica-pod-delete", target: AnyReplica, grace: 0}

func (f podDelete) Name() string { return f.name }

func (f podDelete) Available(ctx context.Context, env Env) error { return nil }

func (f podDelete) Target(ctx context.Context, env Env) (operators.Instance, error) {
	return f.target(ctx, env)
}

func (f podDelete) Describe(t operators.Instance) string {
	return "delete pod " + t.Pod + " (grace " + strconv.FormatInt(f.grace, 10) + "s) on node " + t.Node
}

// Inject deletes the pod; the operator recreates it, so Recover has nothing to undo.
func (f podDelete) Inject(ctx context.Context, env Env, t operators.Instance) (Recover, error) {
	_, err := env.Kube.DeletePod(ctx, env.Cluster.Ref().Namespace, t.Pod, f.grace)
	if err != nil {
		return noRecover, fmt.Errorf("fault %s on %s: %w", f.name, t.Pod, err)
	}
	return noRecover, nil
}

// postmasterKill SIGKILLs the postmaster inside the target's container: a
// crash of PostgreSQL without the pod going away.
type postmasterKill struct {
	name   string
	target Targeting
}

var _ Fault = postmasterKill{}

// PrimaryPostmasterKill SIGKILLs the primary's postmaster (read from
// postmaster.pid in its data directory) from inside its container.
var PrimaryPostmasterKill Fault = postmasterKill{name: "primary-postmaster-kill", target: Primary}

// killScript kills the postmaster named in postmaster.pid: the data
// directory comes from $PGDATA, CloudNativePG's default otherwise.
const killScript = `d="${PGDATA:-/var/lib/postgresql/data/pgdata}"; pid="$(head -n 1 "$d/postmaster.pid")" && kill -KILL "$pid" && echo "$pid"`

func (f postmasterKill) Name() string { return f.name }

func (f postmasterKill) Available(ctx context.Context, env Env) error {
	if env.Kube == nil || env.Kube.Config == nil {
		return errors.New("needs pod exec through the Kubernetes API")
	}
	return nil
}

func (f postmasterKill) Target(ctx context.Context, env Env) (operators.Instance, error) {
	return f.target(ctx, env)
}

func (f postmasterKill) Describe(t operators.Instance) string {
	return "SIGKILL the postmaster in " + t.Pod + "/" + t.Container
}

func (f postmasterKill) Inject(ctx context.Context, env Env, t operators.Instance) (Recover, error) {
	_, _, err := env.Kube.Exec(ctx, env.Cluster.Ref().Namespace, t.Pod, t.Container, []string{"sh", "-c", killScript})
	if err != nil {
		return noRecover, fmt.Errorf("fault %s on %s: %w", f.name, t.Pod, err)
	}
	return noRecover, nil
}

// switchover asks the operator to move the primary role to a replica.
type switchover struct {
	name string
}

var _ Fault = switchover{}

// PlannedSwitchover promotes a replica (chosen with the run's random
// source) through the operator's own switchover mechanism.
var PlannedSwitchover Fault = switchover{name: "planned-switchover"}

func (f switchover) Name() string { return f.name }

func (f switchover) Available(ctx context.Context, env Env) error {
	if _, ok := env.Cluster.(operators.Switchover); !ok {
		return fmt.Errorf("the adapter of %s cannot ask its operator for a switchover", env.Cluster.Ref())
	}
	return nil
}

func (f switchover) Target(ctx context.Context, env Env) (operators.Instance, error) {
	return AnyReplica(ctx, env)
}

func (f switchover) Describe(t operators.Instance) string {
	return "switchover to " + t.Name + " through the operator"
}

func (f switchover) Inject(ctx context.Context, env Env, t operators.Instance) (Recover, error) {
	s, ok := env.Cluster.(operators.Switchover)
	if !ok {
		return noRecover, fmt.Errorf("fault %s: the adapter of %s has no switchover", f.name, env.Cluster.Ref())
	}
	if err := s.Switchover(ctx, t.Name); err != nil {
		return noRecover, fmt.Errorf("fault %s: %w", f.name, err)
	}
	return noRecover, nil
}

// laggingDelete freezes the primary's WAL senders (SIGSTOP) for Lag, so the
// writes acknowledged meanwhile exist only on the primary, then deletes the
// primary's pod with grace 0. Under asynchronous replication those writes
// are lost by design (a weakened configuration made visible); under
// synchronous replication no commit is acknowledged while the senders are
// frozen, so none may be lost.
type laggingDelete struct {
	name string
	lag  time.Duration
}

var _ Fault = laggingDelete{}

// LaggingPrimaryPodDelete freezes the primary's WAL senders for 1 s, then
// deletes the primary's pod with grace 0.
var LaggingPrimaryPodDelete Fault = laggingDelete{name: "lagging-primary-pod-delete", lag: time.Second}

// freezeScript stops (or continues, with CONT) every WAL sender of the
// instance; it fails when there is none.
const freezeScript = `pids="$(pgrep -f '^postgres: .*walsender')" && [ -n "$pids" ] && kill -%s $pids && echo $pids`

func (f laggingDelete) Name() string { return f.name }

func (f laggingDelete) Available(ctx context.Context, env Env) error {
	if env.Kube == nil || env.Kube.Config == nil {
		return errors.New("needs pod exec through the Kubernetes API")
	}
	return nil
}

func (f laggingDelete) Target(ctx context.Context, env Env) (operators.Instance, error) {
	return Primary(ctx, env)
}

func (f laggingDelete) Describe(t operators.Instance) string {
	return fmt.Sprintf("SIGSTOP the WAL senders of %s for %s, then delete pod %s (grace 0s)", t.Pod, f.lag, t.Pod)
}

func (f laggingDelete) Inject(ctx context.Context, env Env, t operators.Instance) (Recover, error) {
	ns := env.Cluster.Ref().Namespace
	thaw := func(ctx context.Context) error {
		// The pod is normally gone by now; a thaw that finds nothing is fine.
		_, _, _ = env.Kube.Exec(ctx, ns, t.Pod, t.Container, []string{"sh", "-c", fmt.Sprintf(freezeScript, "CONT")})
		return nil
	}
	if _, _, err := env.Kube.Exec(ctx, ns, t.Pod, t.Container, []string{"sh", "-c", fmt.Sprintf(freezeScript, "STOP")}); err != nil {
		return thaw, fmt.Errorf("fault %s: freezing the WAL senders of %s: %w", f.name, t.Pod, err)
	}
	select {
	case <-ctx.Done():
		return thaw, ctx.Err()
	case <-time.After(f.lag):
	}
	if _, err := env.Kube.DeletePod(ctx, ns, t.Pod, 0); err != nil {
		return thaw, fmt.Errorf("fault %s on %s: %w", f.name, t.Pod, err)
	}
	return thaw, nil
}
