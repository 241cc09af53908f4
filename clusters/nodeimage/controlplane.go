package nodeimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNotCached says a step's output is not in the cache (ControlPlaneBinaries
// with build false).
var ErrNotCached = errors.New("not built yet")

// ControlPlane locates a kube-apiserver and an etcd binary, for tests that
// need a real API server without a cluster (controller-runtime's envtest).
type ControlPlane struct {
	// APIServer is the kube-apiserver binary.
	APIServer string
	// Etcd is the etcd binary.
	Etcd string
}

// ControlPlaneBinaries returns the kube-apiserver and etcd the node image is
// built with, from the same cache steps as Build. With build false a step
// missing from the cache is an error wrapping ErrNotCached; with build true it
// is built (Go only, no Docker: about 5 minutes on 2 cores for Kubernetes).
func ControlPlaneBinaries(ctx context.Context, opts Options, build bool) (ControlPlane, error) {
	if opts.CacheDir == "" {
		opts.CacheDir = "/var/cache/pgchaos"
	}
	if opts.Versions == (Versions{}) {
		opts.Versions = DefaultVersions()
	}
	b := &builder{opts: opts, cachedOnly: !build}
	apiserver, err := b.binary(ctx, "kubernetes", b.k8sStep, "bin/kube-apiserver", "Kubernetes "+opts.Versions.Kubernetes)
	if err != nil {
		return ControlPlane{}, err
	}
	etcd, err := b.binary(ctx, "etcd", b.etcdStep, "etcd", "etcd Version: "+strings.TrimPrefix(opts.Versions.Etcd, "v"))
	if err != nil {
		return ControlPlane{}, err
	}
	return ControlPlane{APIServer: apiserver, Etcd: etcd}, nil
}

// binary returns file (a path inside the directory of the step called name). A
// step missing from the cache under its current key may still have been
// built under an older key (its script changed since): with cachedOnly, any
// finished directory of the step whose binary's --version output contains
// version is used.
func (b *builder) binary(ctx context.Context, name string, step func(context.Context) (artifact, error), file, version string) (string, error) {
	a, err := step(ctx)
	if err == nil {
		p := filepath.Join(a.dir, file)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("control plane binary: %w", err)
		}
		return p, nil
	}
	if !errors.Is(err, ErrNotCached) {
		return "", err
	}
	dones, _ := filepath.Glob(filepath.Join(b.opts.CacheDir, name, "*", ".done"))
	for _, done := range dones {
		p := filepath.Join(filepath.Dir(done), file)
		out, verr := exec.CommandContext(ctx, p, "--version").Output()
		if verr == nil && strings.Contains(string(out), version) {
			return p, nil
		}
	}
	return "", err
}
