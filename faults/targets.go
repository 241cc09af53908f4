package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/pgchaos/pgchaos/operators"
)

// Targeting picks what a fault hits.
type Targeting struct {
	// Name says what is picked ("the primary", "a replica").
	Name string
	// Pick chooses, with the run's random source where there is a choice.
	Pick func(ctx context.Context, env Env) (Hit, error)
	// Available, when set, says why the target cannot exist in env.
	Available func(ctx context.Context, env Env) error
}

func instances(ctx context.Context, env Env) ([]operators.Instance, operators.Instance, []operators.Instance, error) {
	ins, err := env.Cluster.Instances(ctx)
	if err != nil {
		return nil, operators.Instance{}, nil, fmt.Errorf("listing instances of %s: %w", env.Cluster.Ref(), err)
	}
	p, err := operators.PrimaryOf(ins, env.Cluster.Ref())
	if err != nil {
		return nil, operators.Instance{}, nil, err
	}
	return ins, p, operators.Replicas(ins), nil
}

func pickReplica(env Env, reps []operators.Instance) (operators.Instance, error) {
	if len(reps) == 0 {
		return operators.Instance{}, fmt.Errorf("%s has no replica", env.Cluster.Ref())
	}
	return reps[env.Rand.IntN(len(reps))], nil
}

// Targetings.
var (
	// Primary is the instance the operator labels primary.
	Primary = Targeting{Name: "the primary", Pick: func(ctx context.Context, env Env) (Hit, error) {
		_, p, _, err := instances(ctx, env)
		return Hit{Instances: []operators.Instance{p}}, err
	}}
	// AnyReplica is one replica, chosen with the run's random source.
	AnyReplica = Targeting{Name: "a replica", Pick: func(ctx context.Context, env Env) (Hit, error) {
		_, _, reps, err := instances(ctx, env)
		if err != nil {
			return Hit{}, err
		}
		r, err := pickReplica(env, reps)
		return Hit{Instances: []operators.Instance{r}}, err
	}}
	// SwitchoverCandidate is a replica the operator accepts as the new
	// primary of a planned switchover (any replica unless the cluster says
	// otherwise: operators.SwitchoverCandidates), chosen with the run's
	// random source.
	SwitchoverCandidate = Targeting{Name: "a replica the operator would promote", Pick: func(ctx context.Context, env Env) (Hit, error) {
		_, _, reps, err := instances(ctx, env)
		if err != nil {
			return Hit{}, err
		}
		if sc, ok := env.Cluster.(operators.SwitchoverCandidates); ok {
			names, err := sc.SwitchoverCandidates(ctx)
			if err != nil {
				return Hit{}, fmt.Errorf("asking %s for switchover candidates: %w", env.Cluster.Ref(), err)
			}
			var ok []operators.Instance
			for _, r := range reps {
				if slices.Contains(names, r.Name) {
					ok = append(ok, r)
				}
			}
			if len(ok) == 0 {
				return Hit{}, fmt.Errorf("%s has no replica the operator would promote (candidates %v)", env.Cluster.Ref(), names)
			}
			reps = ok
		}
		r, err := pickReplica(env, reps)
		return Hit{Instances: []operators.Instance{r}}, err
	}}
	// AnyInstance is any instance, primary included, chosen with the run's
	// random source.
	AnyInstance = Targeting{Name: "any instance", Pick: func(ctx context.Context, env Env) (Hit, error) {
		ins, _, _, err := instances(ctx, env)
		if err != nil {
			return Hit{}, err
		}
		sort.Slice(ins, func(i, j int) bool { return ins[i].Name < ins[j].Name })
		return Hit{Instances: []operators.Instance{ins[env.Rand.IntN(len(ins))]}}, nil
	}}
	// Operator is the operator itself: no instance is hit.
	Operator = Targeting{Name: "the operator", Pick: func(ctx context.Context, env Env) (Hit, error) {
		return Hit{Label: "operator"}, nil
	}}
	// AllReplicas is every replica.
	AllReplicas = Targeting{Name: "every replica", Pick: func(ctx context.Context, env Env) (Hit, error) {
		_, _, reps, err := instances(ctx, env)
		if err == nil && len(reps) == 0 {
			err = fmt.Errorf("%s has no replica", env.Cluster.Ref())
		}
		return Hit{Instances: reps}, err
	}}
	// PrimaryAndReplica is the primary and one replica: two of three instances.
	PrimaryAndReplica = Targeting{Name: "the primary and a replica", Pick: func(ctx context.Context, env Env) (Hit, error) {
		_, p, reps, err := instances(ctx, env)
		if err != nil {
			return Hit{}, err
		}
		r, err := pickReplica(env, reps)
		return Hit{Instances: []operators.Instance{p, r}}, err
	}}
	// PrimaryNode is the primary's node.
	PrimaryNode = Targeting{Name: "the primary's node", Pick: func(ctx context.Context, env Env) (Hit, error) {
		_, p, _, err := instances(ctx, env)
		if err == nil && p.Node == "" {
			err = fmt.Errorf("primary %s is on no node", p.Name)
		}
		return Hit{Instances: []operators.Instance{p}, Nodes: []string{p.Node}}, err
	}}
	// PrimaryAndReplicaNodes are the nodes of the primary and of one replica
	// on another node.
	PrimaryAndReplicaNodes = Targeting{Name: "the nodes of the primary and a replica", Pick: func(ctx context.Context, env Env) (Hit, error) {
		_, p, reps, err := instances(ctx, env)
		if err != nil {
			return Hit{}, err
		}
		var others []operators.Instance
		for _, r := range reps {
			if r.Node != "" && r.Node != p.Node {
				others = append(others, r)
			}
		}
		r, err := pickReplica(env, others)
		if err != nil {
			return Hit{}, fmt.Errorf("no replica on another node than the primary's (%s): %w", p.Node, err)
		}
		return Hit{Instances: []operators.Instance{p, r}, Nodes: []string{p.Node, r.Node}}, nil
	}}
	// SyncStandby is one standby the primary currently counts for
	// synchronous commit (pg_stat_replication.sync_state sync or quorum).
	SyncStandby = Targeting{Name: "a synchronous standby", Pick: pickSyncStandby, Available: func(ctx context.Context, env Env) error {
		if len(env.Superuser) == 0 {
			if err := needExec(ctx, env); err != nil {
				return err
			}
		}
		if env.Listing {
			return nil // decided per cluster: a synchronous one has such standbys
		}
		if env.Cluster == nil {
			return errors.New("needs a cluster to ask for its synchronous standbys")
		}
		if env.Rand == nil {
			env.Rand = rand.New(rand.NewPCG(1, 1)) // the pick is thrown away
		}
		_, err := pickSyncStandby(ctx, env)
		return err
	}}
)

// syncQuery lists the standbys that count for synchronous commit.
const syncQuery = `SELECT application_name FROM pg_stat_replication WHERE sync_state IN ('sync','quorum') ORDER BY 1`

func needExec(ctx context.Context, env Env) error {
	if env.Kube == nil || env.Kube.Config == nil {
		return errors.New("needs pod exec through the Kubernetes API")
	}
	return nil
}

func pickSyncStandby(ctx context.Context, env Env) (Hit, error) {
	ins, p, _, err := instances(ctx, env)
	if err != nil {
		return Hit{}, err
	}
	out, err := env.query(ctx, p, syncQuery, 0)
	if err != nil {
		return Hit{}, fmt.Errorf("asking primary %s for its synchronous standbys: %w", p.Name, err)
	}
	names := strings.Fields(out)
	var syncs []operators.Instance
	for _, in := range ins {
		for _, n := range names {
			if in.Name == n && in.Role == operators.RoleReplica {
				syncs = append(syncs, in)
			}
		}
	}
	if len(syncs) == 0 {
		return Hit{}, fmt.Errorf("primary %s has no synchronous standby (asynchronous replication?): pg_stat_replication says %q", p.Pod, strings.TrimSpace(out))
	}
	sort.Slice(syncs, func(i, j int) bool { return syncs[i].Name < syncs[j].Name })
	return Hit{Instances: []operators.Instance{syncs[env.Rand.IntN(len(syncs))]}}, nil
}
