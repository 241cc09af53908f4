package scenario

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/clusters"
	"github.com/pgchaos/pgchaos/clusters/nodeimage"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/faults/agent"
	"github.com/pgchaos/pgchaos/faults/chaosmesh"
	"github.com/pgchaos/pgchaos/faults/iofsclass"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
)

// FaultEnvOptions say where the faults of a run act.
type FaultEnvOptions struct {
	Kube  *kube.Client
	RunID string
	// Kind is the local kind cluster's name; "" when the target is not one.
	Kind string
	// AgentImage is the node agent image; "" builds one from Self on kind.
	AgentImage string
	// Self is a static pgchaos binary (the agent image's content, the host
	// watchdog and `agent nsexec`).
	Self string
	// Chosen are the faults the run will inject (the agent is installed
	// only when one of them needs it).
	Chosen []faults.Fault
	// Operator is the operator's Deployment (operator outages).
	Operator operators.Ref
	// Progress receives one line per step; nil discards them.
	Progress func(string)
}

// PrepareFaults builds the faults' environment of a run: the kind host
// executor, Chaos Mesh when it is installed, and, when a chosen fault needs
// it, the node agent (image built from Self and loaded on kind, DaemonSet
// installed). The returned func uninstalls the agent; it is never nil.
func PrepareFaults(ctx context.Context, o FaultEnvOptions) (faults.Env, func(context.Context), error) {
	say := o.Progress
	if say == nil {
		say = func(string) {}
	}
	none := func(context.Context) {}
	env := faults.Env{RunID: o.RunID, Operator: o.Operator}
	if o.Kind != "" {
		env.Host = faults.NewHost(o.Kind, o.Self)
	}
	if o.Kube.Config != nil {
		if cm, err := chaosmesh.New(o.Kube.Config); err == nil && cm.Available(ctx) == nil {
			env.ChaosMesh = cm
			say("Chaos Mesh is installed: partitions between instances go through NetworkChaos objects")
		}
	}
	var need []string
	for _, f := range o.Chosen {
		if faults.InfoOf(f).Needs.Agent {
			need = append(need, f.Name())
		}
	}
	if len(need) == 0 {
		return env, none, nil
	}
	img := o.AgentImage
	if img == "" {
		if o.Kind == "" {
			return env, none, fmt.Errorf("faults %s need the node agent: give an agent image (iptables and a static pgchaos at /usr/local/bin/pgchaos, pullable by the cluster)", strings.Join(need, ", "))
		}
		var err error
		base := "registry.k8s.io/kube-proxy:" + nodeimage.DefaultVersions().Kubernetes
		if img, err = agent.BuildImage(ctx, o.Self, base); err != nil {
			return env, none, err
		}
		if err := clusters.LoadIntoKind(ctx, o.Kind, img); err != nil {
			return env, none, err
		}
	}
	storage := false
	for _, f := range o.Chosen {
		storage = storage || faults.InfoOf(f).Needs.Storage
	}
	if storage {
		if err := installStorageClass(ctx, o.Kube, img, o.Kind != "", say); err != nil {
			return env, none, err
		}
	}
	// On a cluster pgchaos did not create, the agent itself refuses pods
	// of namespaces (and nodes) not labelled pgchaos.io/allow-chaos=true.
	guard := ""
	if o.Kind == "" {
		guard = operators.AllowChaosLabel
	}
	t := time.Now()
	if err := agent.Install(ctx, o.Kube, img, o.RunID, guard); err != nil {
		return env, none, err
	}
	guarded := ""
	if guard != "" {
		guarded = ", acting only on namespaces and nodes labelled " + guard + "=true"
	}
	say(fmt.Sprintf("node agent %s running on every node (%s)%s", img, time.Since(t).Round(time.Second), guarded))
	env.Agent = &agent.Client{Kube: o.Kube}
	return env, func(ctx context.Context) {
		if err := agent.Uninstall(ctx, o.Kube); err != nil {
			say("node agent: " + err.Error())
		}
	}, nil
}

// installStorageClass installs the pgchaos-iofs storage class with the
// agent image (it runs `pgchaos iofs serve`). On kind, local-path-provisioner
// and its helper come from the node image; elsewhere from their upstream
// registries.
func installStorageClass(ctx context.Context, kc *kube.Client, image string, onKind bool, say func(string)) error {
	o := iofsclass.Options{Image: image, ProvisionerImage: "docker.io/rancher/local-path-provisioner:" + nodeimage.DefaultVersions().LocalPath,
		HelperImage: "docker.io/library/busybox:1.36"}
	if onKind {
		o.ProvisionerImage, o.HelperImage = nodeimage.LocalPathImages(nodeimage.DefaultVersions())
	}
	t := time.Now()
	if err := iofsclass.Install(ctx, kc, o, say); err != nil {
		return fmt.Errorf("installing storage class %s: %w", iofsclass.ClassName, err)
	}
	say(fmt.Sprintf("storage class %s ready: a FUSE filesystem on every node (%s); it stays installed while volumes use it (pgchaos cleanup removes it after)",
		iofsclass.ClassName, time.Since(t).Round(time.Second)))
	return nil
}
