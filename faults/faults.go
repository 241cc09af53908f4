package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/faults/chaosmesh"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
)

// Env is what a fault acts on and through.
type Env struct {
	Kube    *kube.Client
	Cluster operators.Cluster
	// Rand is the run's seeded random source (target choice).
	Rand *rand.Rand
	// RunID labels what faults create and names agent actions.
	RunID string
	// Agent drives the node agent; nil when it is not installed.
	Agent *agent.Client
	// ChaosMesh, when set (Chaos Mesh is installed and its controller runs
	// on the target cluster), carries the faults it can express: partitions
	// between pods. The built-in mechanisms serve the rest.
	ChaosMesh *chaosmesh.Client
	// Host applies actions to kind node containers from this machine; nil
	// when the target is not a local kind cluster.
	Host *Host
	// Operator is the operator's Deployment (operator outages); zero when
	// the adapter does not say.
	Operator operators.Ref
	// Foreign: the target is a cluster pgchaos did not create; node
	// faults then act only on nodes labelled NodeAllowLabel=true.
	Foreign bool
	// Listing: availability is asked for a listing, with no particular
	// Postgres cluster; what depends on the cluster (its replication mode,
	// its volumes) is decided when a run has one.
	Listing bool
	// Hold is how long the fault will stay applied. Every agent action gets
	// the deadline Hold + Grace: if the harness dies, the fault still ends.
	Hold time.Duration
	// Superuser maps an instance name to a superuser DSN reaching it (the
	// monitor's): what faults ask PostgreSQL (its synchronous standbys, a
	// CHECKPOINT) goes through it rather than psql by pod exec.
	Superuser map[string]string
	// Note records a moment of the trial (history.Event kind and detail):
	// what a fault's mechanism measured of its effect. Nil discards.
	Note func(kind, detail string)
}

// note records an event through e.Note, if set.
func (e Env) note(kind, detail string) {
	if e.Note != nil {
		e.Note(kind, detail)
	}
}

// Grace is added to Hold for the deadline of agent actions.
const Grace = 90 * time.Second

// deadline is when an action injected now must be reverted at the latest.
func (e Env) deadline() time.Time {
	h := e.Hold
	if h <= 0 {
		h = 5 * time.Minute
	}
	return time.Now().Add(h + Grace)
}

// Recover reverts a fault. It is idempotent and safe to call after an
// interrupt (with a fresh context).
type Recover func(ctx context.Context) error

// Hit is what a fault hits: instances (the main one first) and, for node
// faults, their nodes.
type Hit struct {
	Instances []operators.Instance
	Nodes     []string
	// Label names a hit with neither instance nor node ("operator").
	Label string
}

// Main is the first instance hit (zero when none).
func (h Hit) Main() operators.Instance {
	if len(h.Instances) == 0 {
		return operators.Instance{}
	}
	return h.Instances[0]
}

// Name names the hit in records: node(s) for node faults, else instance(s).
func (h Hit) Name() string {
	if len(h.Nodes) > 0 {
		return strings.Join(h.Nodes, "+")
	}
	var n []string
	for _, in := range h.Instances {
		n = append(n, in.Name)
	}
	if len(n) == 0 {
		if h.Label != "" {
			return h.Label
		}
		return "cluster"
	}
	return strings.Join(n, "+")
}

// Fault is one kind of fault.
type Fault interface {
	// Name identifies the fault in trials and on the command line.
	Name() string
	// Available says why the fault cannot run against env (nil: it can).
	Available(ctx context.Context, env Env) error
	// Target picks what the fault will hit.
	Target(ctx context.Context, env Env) (Hit, error)
	// Describe says in a few words what Inject will do to the hit.
	Describe(h Hit) string
	// Inject applies the fault and returns its Recover (non-nil even on
	// error: whatever was applied must be reverted).
	Inject(ctx context.Context, env Env, h Hit) (Recover, error)
}

// Info describes a fault for listings.
type Info struct {
	Name, Target, Mechanism, Summary string
	// Needs is what the mechanism needs beyond the Kubernetes API.
	Needs Needs
	// Hold is how long the fault should stay applied by default (zero: the
	// run's schedule decides).
	Hold time.Duration
	// Scope is how far the fault reaches (see Scope).
	Scope Scope
}

// Needs are the mechanism's requirements beyond the Kubernetes API.
type Needs struct {
	// Agent: the pgchaos node agent (installed by pgchaos run).
	Agent bool
	// Kind: a local kind cluster (docker-level node faults).
	Kind bool
	// Storage: the cluster's volumes on the pgchaos-iofs storage class
	// (installed by pgchaos run, which then puts its clusters on it).
	Storage bool
}

// Describer is a Fault that can describe itself for listings.
type Describer interface {
	Info() Info
}

// InfoOf describes any fault (the name alone when it cannot say more).
func InfoOf(f Fault) Info {
	if d, ok := f.(Describer); ok {
		return d.Info()
	}
	return Info{Name: f.Name()}
}

// All lists every fault: ONE explicit list.
func All() []Fault {
	return []Fault{
		// Pods and processes (Kubernetes API, pod exec).
		PrimaryPodDelete, ReplicaPodDelete, PrimaryPostmasterKill, ReplicaPostmasterKill,
		PlannedSwitchover, LaggingPrimaryPodDelete, ReplicaPodRestart,
		// Processes frozen, networks cut (node agent).
		PrimaryFreeze, PrimaryIsolateFromReplicas, PrimaryIsolate, ReplicaIsolate, PrimaryClientsCut,
		// Kind nodes (docker, on this machine).
		PrimaryNodeIsolate, PrimaryNodeStop, PrimaryNodeKill, PrimaryNodeFreeze,
		// Control plane and operations.
		OperatorOutage, OperatorDownPrimaryPodDelete, PrimaryNodeDrain, AnyInstancePodDelete,
		// Synchronous standbys and correlated losses.
		SyncStandbyPodDelete, SyncStandbyIsolate, PrimaryAndReplicaPodDelete, ReplicasIsolate, PrimaryAndReplicaNodeStop,
		// Slow and full storage (node agent, pgchaos-iofs storage class).
		PrimaryWALSlow, PrimaryDataSlow, PrimaryWALFull,
	}
}

// Default lists the faults `pgchaos run` injects unless told otherwise:
// one of each family, so that a run stays within half an hour.
func Default() []Fault {
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

// fault composes a target and a mechanism.
type fault struct {
	name    string
	summary string
	target  Targeting
	mech    mechanism
	// hold, when set, is how long the fault should stay applied unless the
	// user says otherwise: long enough for the operator to react (a node
	// is declared lost only after tens of seconds).
	hold time.Duration
}

var _ Fault = fault{}
var _ Describer = fault{}

// mechanism is how a fault acts on what it hits.
type mechanism interface {
	// kind names the mechanism in listings.
	kind() string
	// scope is how far the mechanism reaches beyond the cluster's pods.
	scope() Scope
	needs() Needs
	available(ctx context.Context, env Env) error
	describe(h Hit) string
	inject(ctx context.Context, env Env, h Hit) (Recover, error)
}

func (f fault) Name() string { return f.name }

func (f fault) Info() Info {
	return Info{Name: f.name, Target: f.target.Name, Mechanism: f.mech.kind(), Summary: f.summary, Needs: f.mech.needs(), Hold: f.hold, Scope: f.mech.scope()}
}

func (f fault) Available(ctx context.Context, env Env) error {
	if err := f.mech.available(ctx, env); err != nil {
		return err
	}
	if f.target.Available != nil {
		return f.target.Available(ctx, env)
	}
	return nil
}

func (f fault) Target(ctx context.Context, env Env) (Hit, error) {
	h, err := f.target.Pick(ctx, env)
	if err != nil {
		return Hit{}, fmt.Errorf("choosing %s for %s: %w", f.target.Name, f.name, err)
	}
	return h, nil
}

func (f fault) Describe(h Hit) string { return f.mech.describe(h) }

func (f fault) Inject(ctx context.Context, env Env, h Hit) (Recover, error) {
	r, err := f.mech.inject(ctx, env, h)
	if r == nil {
		r = noRecover
	}
	if err != nil {
		return r, fmt.Errorf("fault %s on %s: %w", f.name, h.Name(), err)
	}
	return r, nil
}

func noRecover(context.Context) error { return nil }

// both runs every recover, in reverse order, and joins their errors.
func both(rs ...Recover) Recover {
	return func(ctx context.Context) error {
		var errs []error
		for i := len(rs) - 1; i >= 0; i-- {
			if rs[i] != nil {
				errs = append(errs, rs[i](ctx))
			}
		}
		return errors.Join(errs...)
	}
}

// actionID names an agent action uniquely: run, fault, what it hits.
func actionID(env Env, fault, what string) string {
	id := env.RunID
	if id == "" {
		id = "norun"
	}
	s := id + "-" + fault + "-" + what + "-" + fmt.Sprint(time.Now().UnixMilli()%1e8)
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := b.String()
	if len(out) > 80 {
		out = out[len(out)-80:]
		out = strings.TrimLeft(out, "-.")
	}
	return out
}
