package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/pgchaos/pgchaos/clusters"
	"github.com/pgchaos/pgchaos/clusters/nodeimage"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/faults/chaosmesh"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/cnpg"
	"github.com/pgchaos/pgchaos/operators/kube"
)

// faultEnvOptions say where the faults of a run act.
type faultEnvOptions struct {
	kc      *kube.Client
	runID   string
	kind    string // kind cluster name; "" when not on a local kind cluster
	image   string // node agent image; "" builds one on kind
	chosen  []faults.Fault
	say     func(string)
	noAgent bool
}

// prepareFaults builds the faults' environment of a run: the operator's
// Deployment, the kind host executor, and, when a chosen fault needs it, the
// node agent (image built and loaded on kind, DaemonSet installed). The
// returned func uninstalls the agent.
func prepareFaults(ctx context.Context, o faultEnvOptions) (faults.Env, func(context.Context), error) {
	env := faults.Env{RunID: o.runID, Operator: operators.Ref{Namespace: cnpg.OperatorNamespace, Name: cnpg.OperatorDeployment}}
	self, err := os.Executable()
	if err != nil {
		return env, func(context.Context) {}, fmt.Errorf("finding the pgchaos executable: %w", err)
	}
	if o.kind != "" {
		env.Host = faults.NewHost(o.kind, self)
	}
	if o.kc.Config != nil {
		if cm, err := chaosmesh.New(o.kc.Config); err == nil {
			if err := cm.Available(ctx); err == nil {
				env.ChaosMesh = cm
				o.say("Chaos Mesh is installed: partitions between instances go through NetworkChaos objects")
			}
		}
	}
	need := false
	for _, f := range o.chosen {
		need = need || faults.InfoOf(f).Needs.Agent
	}
	if !need || o.noAgent {
		return env, func(context.Context) {}, nil
	}
	img := o.image
	if img == "" {
		if o.kind == "" {
			return env, func(context.Context) {}, fmt.Errorf("faults %s need the node agent: give --agent-image (an image with iptables and a static pgchaos at /usr/local/bin/pgchaos, pullable by the cluster)", agentFaults(o.chosen))
		}
		base := "registry.k8s.io/kube-proxy:" + nodeimage.DefaultVersions().Kubernetes
		if img, err = agent.BuildImage(ctx, self, base); err != nil {
			return env, func(context.Context) {}, err
		}
		if err := clusters.LoadIntoKind(ctx, o.kind, img); err != nil {
			return env, func(context.Context) {}, err
		}
	}
	if needsStorage(o.chosen) {
		if err := installStorageClass(ctx, o.kc, img, o.kind != "", o.say); err != nil {
			return env, func(context.Context) {}, err
		}
	}
	t := time.Now()
	if err := agent.Install(ctx, o.kc, img, o.runID); err != nil {
		return env, func(context.Context) {}, err
	}
	o.say(fmt.Sprintf("node agent %s running on every node (%s)", img, time.Since(t).Round(time.Second)))
	env.Agent = &agent.Client{Kube: o.kc}
	return env, func(ctx context.Context) {
		if err := agent.Uninstall(ctx, o.kc); err != nil {
			o.say("node agent: " + err.Error())
		}
	}, nil
}

func agentFaults(fs []faults.Fault) string {
	s := ""
	for _, f := range fs {
		if faults.InfoOf(f).Needs.Agent {
			if s != "" {
				s += ", "
			}
			s += f.Name()
		}
	}
	return s
}
