package clusters

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	kindlog "sigs.k8s.io/kind/pkg/log"
)

// DefaultKindName is the name of the kind cluster pgchaos creates by default.
const DefaultKindName = "pgchaos"

// KindOptions configures a kind cluster.
type KindOptions struct {
	// Name is the kind cluster name (default DefaultKindName).
	Name string
	// Workers is the number of worker nodes (default 3).
	Workers int
	// NodeImage is the node image; empty means kind's default.
	NodeImage string
	// KubeconfigPath is where the cluster's kubeconfig is written
	// (default $HOME/.kube/pgchaos-<name>.kubeconfig).
	KubeconfigPath string
	// Retain keeps the nodes of a failed create for debugging.
	Retain bool
	// ReadyTimeout bounds the wait for every node to become Ready (default 3m).
	ReadyTimeout time.Duration
	// LogDir receives the logs of a failed create (default a new temp dir).
	LogDir string
	// Progress receives one line per step; nil discards them.
	Progress func(line string)
}

// Kind is a kind cluster managed through the sigs.k8s.io/kind library.
type Kind struct {
	opts     KindOptions
	provider *kindcluster.Provider
}

var (
	_ Lifecycle    = (*Kind)(nil)
	_ LogCollector = (*Kind)(nil)
)

// NewKind returns the kind cluster described by opts, with defaults filled in.
func NewKind(opts KindOptions) *Kind {
	if opts.Name == "" {
		opts.Name = DefaultKindName
	}
	if opts.Workers == 0 {
		opts.Workers = 3
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 3 * time.Minute
	}
	if opts.KubeconfigPath == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		opts.KubeconfigPath = filepath.Join(home, ".kube", "pgchaos-"+opts.Name+".kubeconfig")
	}
	if opts.Progress == nil {
		opts.Progress = func(string) {}
	}
	k := &Kind{opts: opts}
	k.provider = kindcluster.NewProvider(kindcluster.ProviderWithDocker(),
		kindcluster.ProviderWithLogger(&kindLogger{progress: opts.Progress}))
	return k
}

// Name returns the kind cluster name.
func (k *Kind) Name() string { return k.opts.Name }

// KubeconfigPath returns where the kubeconfig is (or will be) written.
func (k *Kind) KubeconfigPath() string { return k.opts.KubeconfigPath }

// config is the kind cluster configuration: 1 control plane + N workers, each
// labelled for placement, and kube-proxy that never writes host-wide conntrack sysctls.
func (k *Kind) config() *v1alpha4.Cluster {
	cfg := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     k.opts.Name,
		KubeadmConfigPatches: []string{`kind: KubeProxyConfiguration
apiVersion: kubeproxy.config.k8s.io/v1alpha1
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`},
	}
	cfg.Nodes = append(cfg.Nodes, v1alpha4.Node{
		Role:   v1alpha4.ControlPlaneRole,
		Image:  k.opts.NodeImage,
		Labels: map[string]string{"pgchaos.io/node": "control-plane"},
	})
	for i := 1; i <= k.opts.Workers; i++ {
		cfg.Nodes = append(cfg.Nodes, v1alpha4.Node{
			Role:  v1alpha4.WorkerRole,
			Image: k.opts.NodeImage,
			Labels: map[string]string{
				"pgchaos.io/node":             "worker-" + strconv.Itoa(i),
				"topology.kubernetes.io/zone": "zone-" + strconv.Itoa(i),
			},
		})
	}
	v1alpha4.SetDefaultsCluster(cfg)
	return cfg
}

// checkDocker fails with ErrBadInput when the docker daemon does not answer.
func checkDocker(ctx context.Context) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return fmt.Errorf("%w: docker is not installed (run ci/host-prep.sh): %w", ErrBadInput, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(cctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return fmt.Errorf("%w: docker daemon not reachable (run ci/host-prep.sh): %s", ErrBadInput, strings.TrimSpace(string(out)))
	}
	return nil
}

// Create creates the cluster, waits until every node is Ready and every system
// Deployment and DaemonSet is available, and on failure
// collects logs and deletes what it created (unless Retain).
func (k *Kind) Create(ctx context.Context) error {
	if err := checkDocker(ctx); err != nil {
		return err
	}
	existing, err := k.provider.List()
	if err != nil {
		return fmt.Errorf("listing kind clusters: %w", err)
	}
	if slices.Contains(existing, k.opts.Name) {
		return fmt.Errorf("%w: kind cluster %q already exists (delete it with `pgchaos cluster delete --name %s`)", ErrBadInput, k.opts.Name, k.opts.Name)
	}
	if err := os.MkdirAll(filepath.Dir(k.opts.KubeconfigPath), 0o755); err != nil {
		return fmt.Errorf("creating directory of %s: %w", k.opts.KubeconfigPath, err)
	}
	done := make(chan error, 1)
	go func() {
		done <- k.provider.Create(k.opts.Name,
			kindcluster.CreateWithV1Alpha4Config(k.config()),
			kindcluster.CreateWithRetain(true), // cleanup is ours, after collecting logs
			kindcluster.CreateWithWaitForReady(0),
			kindcluster.CreateWithKubeconfigPath(k.opts.KubeconfigPath),
			kindcluster.CreateWithDisplayUsage(false),
			kindcluster.CreateWithDisplaySalutation(false))
	}()
	var createErr error
	select {
	case createErr = <-done:
	case <-ctx.Done():
		createErr = <-done // kind's create cannot be interrupted; it is bounded by kubeadm's own timeouts
		if createErr == nil {
			createErr = ctx.Err()
		}
	}
	if createErr != nil {
		return k.failed(ctx, fmt.Errorf("creating kind cluster %s: %w", k.opts.Name, createErr))
	}
	k.opts.Progress(fmt.Sprintf("waiting for %d nodes to be Ready, and CoreDNS, the pod network and storage to be available", k.opts.Workers+1))
	wctx, cancel := context.WithTimeout(ctx, k.opts.ReadyTimeout)
	defer cancel()
	if err := waitReady(wctx, k.opts.KubeconfigPath, k.opts.Workers+1, 2*time.Second); err != nil {
		return k.failed(ctx, fmt.Errorf("kind cluster %s: %w", k.opts.Name, err))
	}
	return nil
}

// failed collects logs, deletes the cluster unless Retain, and returns err annotated.
func (k *Kind) failed(ctx context.Context, err error) error {
	dir := k.opts.LogDir
	if dir == "" {
		d, derr := os.MkdirTemp("", "pgchaos-kind-logs-")
		if derr == nil {
			dir = d
		}
	}
	note := ""
	if dir != "" {
		note = "; logs in " + dir
		if cerr := k.CollectLogs(ctx, dir); cerr != nil {
			// kind's export ends with a crictl error on these nodes (no crictl): partial logs.
			note = "; logs (partial) in " + dir
		}
	}
	if k.opts.Retain {
		return fmt.Errorf("%w%s; nodes retained", err, note)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if derr := k.Delete(cctx); derr != nil {
		return fmt.Errorf("%w%s; cleanup also failed: %v", err, note, derr)
	}
	return fmt.Errorf("%w%s", err, note)
}

// Delete deletes the cluster's nodes and volumes, its kubeconfig, and kind's
// docker network when no other container uses it.
func (k *Kind) Delete(ctx context.Context) error {
	if err := checkDocker(ctx); err != nil {
		return err
	}
	if err := k.provider.Delete(k.opts.Name, k.opts.KubeconfigPath); err != nil {
		// A node killed while its runc was updating a pod's cgroup leaves that cgroup
		// FROZEN (cgroup v1 freezer): the node can then not be killed. Thaw, retry once.
		ids, lerr := k.containerIDs(ctx)
		if lerr != nil {
			return fmt.Errorf("deleting kind cluster %s: %w", k.opts.Name, err)
		}
		n := thawFrozen(ids)
		k.opts.Progress(fmt.Sprintf("delete failed (%v); thawed %d frozen cgroups, retrying", err, n))
		if err := k.provider.Delete(k.opts.Name, k.opts.KubeconfigPath); err != nil {
			return fmt.Errorf("deleting kind cluster %s (after thawing %d frozen cgroups): %w", k.opts.Name, n, err)
		}
	}
	_ = os.Remove(k.opts.KubeconfigPath)
	ids, err := k.containerIDs(ctx)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		return fmt.Errorf("deleting kind cluster %s: containers left: %s", k.opts.Name, strings.Join(ids, " "))
	}
	out, err := exec.CommandContext(ctx, "docker", "network", "inspect", "kind", "--format", "{{len .Containers}}").Output()
	if err == nil && strings.TrimSpace(string(out)) == "0" {
		if out, err := exec.CommandContext(ctx, "docker", "network", "rm", "kind").CombinedOutput(); err != nil {
			return fmt.Errorf("removing docker network kind: %w: %s", err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// Exists reports whether a kind cluster of this name exists.
func (k *Kind) Exists(ctx context.Context) (bool, error) {
	if err := checkDocker(ctx); err != nil {
		return false, err
	}
	names, err := k.provider.List()
	if err != nil {
		return false, fmt.Errorf("listing kind clusters: %w", err)
	}
	return slices.Contains(names, k.opts.Name), nil
}

// containerIDs lists the full IDs of the cluster's node containers.
func (k *Kind) containerIDs(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, "docker", "ps", "-aq", "--no-trunc", "--filter", "label=io.x-k8s.kind.cluster="+k.opts.Name).Output()
	if err != nil {
		return nil, fmt.Errorf("listing containers of kind cluster %s: %w", k.opts.Name, err)
	}
	return strings.Fields(string(out)), nil
}

// thawFrozen writes THAWED into every FROZEN cgroup-v1 freezer under the given
// containers (cgroupfs and systemd cgroup drivers) and returns how many it thawed.
func thawFrozen(ids []string) int {
	n := 0
	for _, id := range ids {
		for _, root := range []string{
			filepath.Join("/sys/fs/cgroup/freezer/docker", id),
			filepath.Join("/sys/fs/cgroup/freezer/system.slice", "docker-"+id+".scope"),
		} {
			_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.Name() != "freezer.state" {
					return nil
				}
				if st, rerr := os.ReadFile(p); rerr == nil && strings.TrimSpace(string(st)) == "FROZEN" {
					if os.WriteFile(p, []byte("THAWED"), 0o644) == nil {
						n++
					}
				}
				return nil
			})
		}
	}
	return n
}

// KubeConfig writes the cluster's kubeconfig (external address) and returns its path.
func (k *Kind) KubeConfig(ctx context.Context) (string, error) {
	if err := k.provider.ExportKubeConfig(k.opts.Name, k.opts.KubeconfigPath, false); err != nil {
		return "", fmt.Errorf("exporting kubeconfig of kind cluster %s: %w", k.opts.Name, err)
	}
	return k.opts.KubeconfigPath, nil
}

// Status reports whether the cluster exists and the readiness of its nodes.
func (k *Kind) Status(ctx context.Context) (Status, error) {
	exists, err := k.Exists(ctx)
	if err != nil || !exists {
		return Status{}, err
	}
	path, err := k.KubeConfig(ctx)
	if err != nil {
		return Status{Exists: true}, err
	}
	nodes, err := nodeStatuses(ctx, path, "")
	if err != nil {
		return Status{Exists: true}, fmt.Errorf("kind cluster %s: %w", k.opts.Name, err)
	}
	return Status{Exists: true, Nodes: nodes}, nil
}

// CollectLogs exports kind's node logs (journal, containerd, pods) under dir.
func (k *Kind) CollectLogs(ctx context.Context, dir string) error {
	if err := k.provider.CollectLogs(k.opts.Name, dir); err != nil {
		return fmt.Errorf("collecting logs of kind cluster %s into %s: %w", k.opts.Name, dir, err)
	}
	return nil
}

// kindLogger forwards kind's user-facing messages to a progress function.
type kindLogger struct {
	progress func(string)
}

var _ kindlog.Logger = (*kindLogger)(nil)

func (l *kindLogger) Warn(message string)                      { l.progress("kind: warning: " + message) }
func (l *kindLogger) Warnf(format string, args ...interface{}) { l.Warn(fmt.Sprintf(format, args...)) }
func (l *kindLogger) Error(message string)                     { l.progress("kind: error: " + message) }
func (l *kindLogger) Errorf(format string, args ...interface{}) {
	l.Error(fmt.Sprintf(format, args...))
}
func (l *kindLogger) V(level kindlog.Level) kindlog.InfoLogger {
	return kindInfo{enabled: level <= 0, progress: l.progress}
}

type kindInfo struct {
	enabled  bool
	progress func(string)
}

func (i kindInfo) Info(message string) {
	if i.enabled && strings.TrimSpace(message) != "" {
		i.progress("kind: " + strings.TrimSpace(message))
	}
}
func (i kindInfo) Infof(format string, args ...interface{}) { i.Info(fmt.Sprintf(format, args...)) }
func (i kindInfo) Enabled() bool                            { return i.enabled }
