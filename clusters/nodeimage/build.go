package nodeimage

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

//go:embed scripts/*.sh
var scripts embed.FS

// Versions pins every input of the node image.
type Versions struct {
	// Kubernetes is the k8s.io/kubernetes module version (v1.33.13).
	Kubernetes string
	// Kind is the sigs.k8s.io/kind module version whose node base files are used.
	Kind string
	// Etcd is the go.etcd.io/etcd/server/v3 version; the image tag adds "-0".
	Etcd string
	// CoreDNS is the github.com/coredns/coredns version.
	CoreDNS string
	// Pause is the tag of the pause image kubeadm expects.
	Pause string
	// LocalPath is the github.com/rancher/local-path-provisioner version.
	LocalPath string
	// DebianSuite and DebianMirror locate the packages of the node root filesystem.
	DebianSuite, DebianMirror string
}

// DefaultVersions are the versions kubeadm v1.33.13 and kind v0.29.0 expect.
func DefaultVersions() Versions {
	return Versions{
		Kubernetes:   "v1.33.13",
		Kind:         "v0.29.0",
		Etcd:         "v3.5.24",
		CoreDNS:      "v1.12.0",
		Pause:        "3.10",
		LocalPath:    "v0.0.30",
		DebianSuite:  "bookworm",
		DebianMirror: "http://deb.debian.org/debian",
	}
}

// nodePackages are the Debian packages of the node root filesystem.
func nodePackages() []string {
	return []string{
		"systemd", "systemd-sysv", "dbus", "containerd", "runc", "containernetworking-plugins",
		"conntrack", "iptables", "nftables", "iproute2", "ethtool", "util-linux", "mount", "kmod",
		"libseccomp2", "pigz", "bash", "ca-certificates", "curl", "jq", "procps", "socat",
		"busybox-static",
	}
}

// Options configures Build.
type Options struct {
	// CacheDir holds every artifact, keyed by the content of its inputs.
	CacheDir string
	// Versions pins the inputs.
	Versions Versions
	// ShimBinary, when set, is the runtime shim installed in the node and used by
	// its containerd as runc (for hosts whose bounding set lacks CAP_SYS_RESOURCE).
	ShimBinary string
	// SourceDir is the root of the pgchaos module, to build pgchaos-podroutes.
	SourceDir string
	// Progress receives one line per step event; nil discards them.
	Progress func(line string)
}

// Result describes a built node image.
type Result struct {
	// Image is the node image tag to give kind.
	Image string
	// Built lists the steps that ran (the others came from the cache).
	Built []string
}

type builder struct {
	opts  Options
	start time.Time
	built []string
}

func (b *builder) progress(step, what string, took time.Duration, key string) {
	if what == "done" {
		b.built = append(b.built, step)
	}
	if b.opts.Progress == nil {
		return
	}
	line := fmt.Sprintf("%-12s %s", step, what)
	if took > 0 {
		line += " (" + took.Round(time.Second).String() + ")"
	}
	if key != "" && what != "running" {
		line += " key " + key[:12]
	}
	b.opts.Progress(line)
}

// Build builds (or finds in the cache) the node image and everything it preloads.
func Build(ctx context.Context, opts Options) (Result, error) {
	if opts.CacheDir == "" {
		opts.CacheDir = "/var/cache/pgchaos"
	}
	if opts.Versions == (Versions{}) {
		opts.Versions = DefaultVersions()
	}
	b := &builder{opts: opts, start: time.Now()}
	for _, tool := range []string{"docker", "go", "debootstrap", "gcc", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			return Result{}, fmt.Errorf("%s not found: run ci/host-prep.sh first: %w", tool, err)
		}
	}
	img, err := b.build(ctx)
	if err != nil {
		return Result{}, err
	}
	return Result{Image: img, Built: b.built}, nil
}

// artifact is the output directory of a step and the key it was made under.
type artifact struct {
	dir, key string
}

func (b *builder) scriptStep(ctx context.Context, step, script string, env map[string]string) (artifact, error) {
	k, sum := newKeyer(step)
	text, err := scripts.ReadFile("scripts/" + script)
	if err != nil {
		return artifact{}, fmt.Errorf("reading script %s: %w", script, err)
	}
	k.add("script", string(text))
	for _, name := range sortedKeys(env) {
		k.add("env:"+name, env[name])
	}
	key := sum()
	dir, err := b.runStep(ctx, step, key, func(ctx context.Context, out, work string) error {
		e := map[string]string{"OUT": out, "WORK": work}
		for n, v := range env {
			e[n] = v
		}
		return b.runScript(ctx, script, work, e)
	})
	return artifact{dir: dir, key: key}, err
}

func (b *builder) build(ctx context.Context) (string, error) {
	v := b.opts.Versions
	rootfs, err := b.scriptStep(ctx, "rootfs", "rootfs.sh", map[string]string{
		"SUITE": v.DebianSuite, "MIRROR": v.DebianMirror, "PACKAGES": strings.Join(nodePackages(), ","),
	})
	if err != nil {
		return "", err
	}
	k8s, err := b.scriptStep(ctx, "kubernetes", "k8s.sh", map[string]string{"K8S_VERSION": v.Kubernetes})
	if err != nil {
		return "", err
	}
	etcd, err := b.scriptStep(ctx, "etcd", "gobuild.sh", map[string]string{
		"MODULE": "go.etcd.io/etcd/server/v3", "VERSION": v.Etcd, "PKG": "go.etcd.io/etcd/server/v3",
		"NAME": "etcd", "MODE": "require",
	})
	if err != nil {
		return "", err
	}
	coredns, err := b.scriptStep(ctx, "coredns", "gobuild.sh", map[string]string{
		"MODULE": "github.com/coredns/coredns", "VERSION": v.CoreDNS, "PKG": "github.com/coredns/coredns",
		"NAME": "coredns", "MODE": "require",
	})
	if err != nil {
		return "", err
	}
	lpp, err := b.scriptStep(ctx, "local-path", "gobuild.sh", map[string]string{
		"MODULE": "github.com/rancher/local-path-provisioner", "VERSION": v.LocalPath, "PKG": ".",
		"NAME": "local-path-provisioner", "MODE": "copy",
	})
	if err != nil {
		return "", err
	}
	pause, err := b.scriptStep(ctx, "pause", "pause.sh", map[string]string{
		"K8S_VERSION": v.Kubernetes, "PAUSE_VERSION": v.Pause,
	})
	if err != nil {
		return "", err
	}
	podroutes, err := b.podroutesStep(ctx)
	if err != nil {
		return "", err
	}
	comps, err := b.componentImages(ctx, deps{rootfs, k8s, etcd, coredns, lpp, pause, podroutes})
	if err != nil {
		return "", err
	}
	return b.nodeImage(ctx, rootfs, k8s, comps)
}

// deps are the artifacts the images are made of.
type deps struct {
	rootfs, k8s, etcd, coredns, lpp, pause, podroutes artifact
}

func (d deps) all() []artifact {
	return []artifact{d.rootfs, d.k8s, d.etcd, d.coredns, d.lpp, d.pause, d.podroutes}
}

// podroutesStep builds cmd/pgchaos-podroutes from the pgchaos module source.
func (b *builder) podroutesStep(ctx context.Context) (artifact, error) {
	src := b.opts.SourceDir
	if src == "" {
		return artifact{}, fmt.Errorf("building pgchaos-podroutes: SourceDir (the pgchaos module root) is not set")
	}
	k, sum := newKeyer("podroutes")
	if err := k.addTree("src", filepath.Join(src, "cmd", "pgchaos-podroutes")); err != nil {
		return artifact{}, err
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := k.addFile(f, filepath.Join(src, f)); err != nil {
			return artifact{}, err
		}
	}
	k.add("go", goVersion())
	key := sum()
	dir, err := b.runStep(ctx, "podroutes", key, func(ctx context.Context, out, work string) error {
		cmd := exec.CommandContext(ctx, "nice", "-n", "10", "go", "build", "-trimpath", "-ldflags", "-s -w",
			"-o", filepath.Join(out, "pgchaos-podroutes"), "./cmd/pgchaos-podroutes")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build pgchaos-podroutes: %w: %s", err, out)
		}
		return nil
	})
	return artifact{dir: dir, key: key}, err
}

func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// moduleDir returns the directory of a module version in the module cache.
func moduleDir(ctx context.Context, mod, version string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod+"@"+version).Output()
	if err != nil {
		return "", fmt.Errorf("downloading module %s@%s: %w", mod, version, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("reading module info of %s@%s: %w", mod, version, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("module %s@%s: %s", mod, version, info.Error)
	}
	return info.Dir, nil
}

// HostNeedsShim reports whether this host's capability bounding set lacks
// CAP_SYS_RESOURCE, so that privileged containers need pgchaos-runc-shim.
func HostNeedsShim() (bool, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false, fmt.Errorf("reading /proc/self/status: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			var bnd uint64
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%x", &bnd); err != nil {
				return false, fmt.Errorf("parsing CapBnd %q: %w", rest, err)
			}
			const capSysResource = 24
			return bnd&(1<<capSysResource) == 0, nil
		}
	}
	return false, fmt.Errorf("no CapBnd line in /proc/self/status")
}
