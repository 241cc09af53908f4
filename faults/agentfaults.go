package faults

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/faults/chaosmesh"
	"github.com/pgchaos/pgchaos/operators"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// shape is a network partition's shape around an instance.
type shape int

const (
	// cutAll: everything but loopback, the Kubernetes API included (the
	// self-fencing case).
	cutAll shape = iota
	// cutPeers: the other instances of the cluster only; clients still reach it.
	cutPeers
	// cutClients: PostgreSQL's port for everyone but the other instances.
	cutClients
)

// partition cuts each instance hit, in its pod's network namespace, through
// the node agent.
type partition struct {
	shape shape
}

func (partition) scope() Scope { return ScopeCluster }

func (m partition) kind() string {
	if m.shape == cutPeers {
		return "iptables in the pod's network namespace (node agent), or a Chaos Mesh NetworkChaos"
	}
	return "iptables in the pod's network namespace (node agent)"
}
func (m partition) needs() Needs { return Needs{Agent: true} }
func (m partition) available(ctx context.Context, env Env) error {
	if m.shape == cutPeers && env.ChaosMesh != nil {
		return nil
	}
	if env.Agent == nil {
		return errors.New("needs the pgchaos node agent (pgchaos run installs it)")
	}
	return nil
}

func (m partition) describe(h Hit) string {
	var what string
	switch m.shape {
	case cutAll:
		what = "cut %s from everything, Kubernetes API included"
	case cutPeers:
		what = "cut %s from the other instances (clients still reach it)"
	case cutClients:
		what = "cut clients from %s (PostgreSQL's port dropped except for the other instances)"
	}
	return fmt.Sprintf(what, h.Name())
}

// peerIPs are the pod IPs of the cluster's instances other than in.
func peerIPs(ctx context.Context, env Env, in operators.Instance) ([]string, error) {
	ins, err := env.Cluster.Instances(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing instances of %s: %w", env.Cluster.Ref(), err)
	}
	var ips []string
	for _, o := range ins {
		if o.Name != in.Name && o.PodIP != "" {
			ips = append(ips, o.PodIP)
		}
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("%s has no other instance with an IP", env.Cluster.Ref())
	}
	return ips, nil
}

// podAction starts an action aimed at an instance's pod.
func podAction(ctx context.Context, env Env, fault string, kind agent.Kind, in operators.Instance) (agent.Action, error) {
	ns := env.Cluster.Ref().Namespace
	p, err := env.Kube.CS.CoreV1().Pods(ns).Get(ctx, in.Pod, metav1.GetOptions{})
	if err != nil {
		return agent.Action{}, fmt.Errorf("reading pod %s/%s: %w", ns, in.Pod, err)
	}
	return agent.Action{ID: actionID(env, fault, in.Name), RunID: env.RunID, Kind: kind,
		PodUID: string(p.UID), Pod: ns + "/" + in.Pod, Deadline: env.deadline()}, nil
}

// applyOnAgents applies one action per instance and returns a Recover that
// reverts every action applied.
func applyOnAgents(ctx context.Context, env Env, actions []agent.Action, nodes []string) (Recover, error) {
	type held struct{ node, id string }
	var done []held
	rec := func(ctx context.Context) error {
		var errs []error
		for _, h := range done {
			errs = append(errs, env.Agent.Revert(ctx, h.node, h.id))
		}
		return errors.Join(errs...)
	}
	for i, a := range actions {
		// Recorded before the attempt: a failed apply may have half-happened.
		done = append(done, held{nodes[i], a.ID})
		if _, err := env.Agent.Apply(ctx, nodes[i], a); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

func (m partition) inject(ctx context.Context, env Env, h Hit) (Recover, error) {
	if m.shape == cutPeers && env.ChaosMesh != nil {
		return m.chaosMesh(ctx, env, h)
	}
	var actions []agent.Action
	var nodes []string
	for _, in := range h.Instances {
		a, err := podAction(ctx, env, "cut", agent.Partition, in)
		if err != nil {
			return noRecover, err
		}
		switch m.shape {
		case cutPeers:
			if a.Peers, err = peerIPs(ctx, env, in); err != nil {
				return noRecover, err
			}
		case cutClients:
			if a.Except, err = peerIPs(ctx, env, in); err != nil {
				return noRecover, err
			}
			a.Ports = []int{in.Layout.Port}
		}
		actions = append(actions, a)
		nodes = append(nodes, in.Node)
	}
	return applyOnAgents(ctx, env, actions, nodes)
}

// freeze SIGSTOPs every PostgreSQL process of each instance hit, through
// the node agent: a hung server whose pod still looks alive.
type freeze struct{}

func (freeze) scope() Scope { return ScopeCluster }

func (freeze) kind() string { return "SIGSTOP of every PostgreSQL process (node agent)" }
func (freeze) needs() Needs { return Needs{Agent: true} }
func (freeze) available(ctx context.Context, env Env) error {
	return partition{}.available(ctx, env)
}
func (freeze) describe(h Hit) string {
	return "SIGSTOP the postmaster and every backend of " + h.Name() + " (SIGCONT on recovery)"
}

func (freeze) inject(ctx context.Context, env Env, h Hit) (Recover, error) {
	var actions []agent.Action
	var nodes []string
	for _, in := range h.Instances {
		a, err := podAction(ctx, env, "freeze", agent.Freeze, in)
		if err != nil {
			return noRecover, err
		}
		actions = append(actions, a)
		nodes = append(nodes, in.Node)
	}
	return applyOnAgents(ctx, env, actions, nodes)
}

// describeNodes lists node names.
func describeNodes(h Hit) string { return strings.Join(h.Nodes, " and ") }

// chaosMesh expresses the cut from the peers as one NetworkChaos partition
// per instance hit (direction both, the other instances' pods as target).
func (m partition) chaosMesh(ctx context.Context, env Env, h Hit) (Recover, error) {
	ns := env.Cluster.Ref().Namespace
	ins, err := env.Cluster.Instances(ctx)
	if err != nil {
		return noRecover, fmt.Errorf("listing instances of %s: %w", env.Cluster.Ref(), err)
	}
	var objs []chaosmesh.Object
	rec := func(ctx context.Context) error {
		var errs []error
		for _, o := range objs {
			errs = append(errs, env.ChaosMesh.Delete(ctx, o))
		}
		return errors.Join(errs...)
	}
	for _, in := range h.Instances {
		var peers []string
		for _, o := range ins {
			if o.Name != in.Name {
				peers = append(peers, o.Pod)
			}
		}
		obj, err := chaosmesh.Build(chaosmesh.Request{Kind: chaosmesh.Partition, Namespace: ns, RunID: env.RunID,
			Target:    chaosmesh.Selector{Namespace: ns, Pods: []string{in.Pod}, Mode: chaosmesh.All},
			Direction: chaosmesh.Both, Peer: &chaosmesh.Selector{Namespace: ns, Pods: peers, Mode: chaosmesh.All},
			Duration: time.Until(env.deadline())}, chaosmesh.Options{})
		if err != nil {
			return rec, err
		}
		objs = append(objs, obj)
		if err := env.ChaosMesh.Apply(ctx, obj); err != nil {
			return rec, err
		}
	}
	return rec, nil
}
