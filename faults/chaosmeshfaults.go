package faults

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/faults/chaosmesh"
	"github.com/pgchaos/pgchaos/faults/iofs"
	"github.com/pgchaos/pgchaos/operators"
)

// ioRequests expresses a storage fault on one directory of an instance as
// Chaos Mesh IOChaos requests (one per kind of effect: IOChaos has either
// latency or an errno).
func ioRequests(env Env, in operators.Instance, dir string, s iofs.Spec) []chaosmesh.Request {
	ns := env.Cluster.Ref().Namespace
	base := chaosmesh.Request{Namespace: ns, RunID: env.RunID, Duration: time.Until(env.deadline()),
		Target:     chaosmesh.Selector{Namespace: ns, Pods: []string{in.Pod}, Mode: chaosmesh.All},
		Containers: []string{in.Container}}
	io := chaosmesh.IO{VolumePath: in.Layout.VolumePath, Path: strings.TrimSuffix(dir, "/") + "/**"}
	var out []chaosmesh.Request
	add := func(kind chaosmesh.Kind, x chaosmesh.IO) {
		r := base
		r.Kind, r.IO = kind, x
		out = append(out, r)
	}
	if s.FsyncDelay > 0 {
		x := io
		x.Latency, x.Methods = s.FsyncDelay, []string{"fsync"}
		add(chaosmesh.IOLatency, x)
	}
	if s.WriteDelay > 0 {
		x := io
		x.Latency, x.Methods = s.WriteDelay, []string{"write"}
		add(chaosmesh.IOLatency, x)
	}
	if s.ENOSPC {
		x := io
		x.Errno, x.Methods = 28, []string{"write", "create", "mknod", "mkdir"}
		add(chaosmesh.IOFault, x)
	}
	return out
}

// applyChaosMesh builds and applies requests; the Recover deletes every
// object applied (Chaos Mesh then reverts its effect).
func applyChaosMesh(ctx context.Context, env Env, reqs []chaosmesh.Request) (Recover, error) {
	var objs []chaosmesh.Object
	rec := func(ctx context.Context) error {
		var errs []error
		for _, o := range objs {
			errs = append(errs, env.ChaosMesh.Delete(ctx, o))
		}
		return errors.Join(errs...)
	}
	for _, r := range reqs {
		obj, err := chaosmesh.Build(r, chaosmesh.Options{})
		if err != nil {
			return rec, err
		}
		objs = append(objs, obj)
		if err := env.ChaosMesh.Apply(ctx, obj); err != nil {
			return rec, fmt.Errorf("applying %s: %w", r.Kind, err)
		}
	}
	return rec, nil
}

// podKillRequest expresses the deletion of an instance's pod (grace 0) as a
// Chaos Mesh PodChaos pod-kill.
func podKillRequest(env Env, in operators.Instance) chaosmesh.Request {
	ns := env.Cluster.Ref().Namespace
	return chaosmesh.Request{Kind: chaosmesh.PodKill, Namespace: ns, RunID: env.RunID,
		Target: chaosmesh.Selector{Namespace: ns, Pods: []string{in.Pod}, Mode: chaosmesh.All}}
}
