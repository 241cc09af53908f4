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
	"sync"
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
	// XSys is the golang.org/x/sys version pgchaos-podroutes is built with (as in go.mod).
	XSys string
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
		XSys:         "v0.49.0",
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
	opts Options
	// cachedOnly makes a step missing from the cache fail with ErrNotCached
	// instead of being built.
	cachedOnly bool
	start      time.Time
	mu         sync.Mutex // steps run concurrently: guards built and Progress
	built      []string
}

func (b *builder) progress(step, what string, took time.Duration, key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
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
	// The root filesystem (downloads and dpkg: disk and network bound) is made while
	// the Go builds (CPU bound) run one after the other.
	type rootfsResult struct {
		a   artifact
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rootfsc := make(chan rootfsResult, 1)
	go func() {
		a, err := b.scriptStep(ctx, "rootfs", "rootfs.sh", map[string]string{
			"SUITE": v.DebianSuite, "MIRROR": v.DebianMirror, "PACKAGES": strings.Join(nodePackages(), ","),
		})
		rootfsc <- rootfsResult{a, err}
	}()
	d, err := b.goSteps(ctx)
	if err != nil {
		cancel() // stop the root filesystem too; wait for it so nothing runs on
	}
	r := <-rootfsc
	if err != nil {
		return "", err
	}
	if r.err != nil {
		return "", r.err
	}
	d.rootfs = r.a
	comps, err := b.componentImages(ctx, d)
	if err != nil {
		return "", err
	}
	return b.nodeImage(ctx, d.rootfs, d.k8s, comps)
}

// goSteps builds every Go and C artifact, one after the other (each uses every core).
// The returned deps lack rootfs.
func (b *builder) goSteps(ctx context.Context) (deps, error) {
	v := b.opts.Versions
	k8s, err := b.k8sStep(ctx)
	if err != nil {
		return deps{}, err
	}
	etcd, err := b.etcdStep(ctx)
	if err != nil {
		return deps{}, err
	}
	coredns, err := b.scriptStep(ctx, "coredns", "coredns.sh", map[string]string{"VERSION": v.CoreDNS})
	if err != nil {
		return deps{}, err
	}
	lpp, err := b.scriptStep(ctx, "local-path", "gobuild.sh", map[string]string{
		"MODULE": "github.com/rancher/local-path-provisioner", "VERSION": v.LocalPath, "PKG": ".",
		"NAME": "local-path-provisioner", "MODE": "copy",
	})
	if err != nil {
		return deps{}, err
	}
	pause, err := b.scriptStep(ctx, "pause", "pause.sh", map[string]string{
		"K8S_VERSION": v.Kubernetes, "PAUSE_VERSION": v.Pause,
	})
	if err != nil {
		return deps{}, err
	}
	podroutes, err := b.podroutesStep(ctx)
	if err != nil {
		return deps{}, err
	}
	return deps{k8s: k8s, etcd: etcd, coredns: coredns, lpp: lpp, pause: pause, podroutes: podroutes}, nil
}

// k8sStep builds the Kubernetes binaries (bin/kube-apiserver, bin/kubelet, ...).
func (b *builder) k8sStep(ctx context.Context) (artifact, error) {
	return b.scriptStep(ctx, "kubernetes", "k8s.sh", map[string]string{"K8S_VERSION": b.opts.Versions.Kubernetes})
}

// etcdStep builds etcd (etcd at the top of the step's directory).
func (b *builder) etcdStep(ctx context.Context) (artifact, error) {
	return b.scriptStep(ctx, "etcd", "gobuild.sh", map[string]string{
		"MODULE": "go.etcd.io/etcd/server/v3", "VERSION": b.opts.Versions.Etcd, "PKG": "go.etcd.io/etcd/server/v3",
		"NAME": "etcd", "MODE": "require",
	})
}

// deps are the artifacts the images are made of.
type deps struct {
	rootfs, k8s, etcd, coredns, lpp, pause, podroutes artifact
}

func (d deps) all() []artifact {
	return []artifact{d.rootfs, d.k8s, d.etcd, d.coredns, d.lpp, d.pause, d.podroutes}
}

// podroutesSource is the source of the pod network daemon (package podroutes/,
// a main package of this module), embedded so that images build needs no checkout.
//
//go:embed podroutes/main.go podroutes/route_linux.go podroutes/doc.go
var podroutesSource embed.FS

// podroutesStep builds pgchaos-podroutes from its embedded source in a throwaway
// module that requires only golang.org/x/sys.
func (b *builder) podroutesStep(ctx context.Context) (artifact, error) {
	v := b.opts.Versions
	k, sum := newKeyer("podroutes")
	entries, err := podroutesSource.ReadDir("podroutes")
	if err != nil {
		return artifact{}, fmt.Errorf("reading embedded podroutes source: %w", err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		data, err := podroutesSource.ReadFile("podroutes/" + e.Name())
		if err != nil {
			return artifact{}, fmt.Errorf("reading embedded %s: %w", e.Name(), err)
		}
		files[e.Name()] = data
		k.add("src/"+e.Name(), string(data))
	}
	k.add("x/sys", v.XSys)
	k.add("go", goVersion())
	key := sum()
	dir, err := b.runStep(ctx, "podroutes", key, func(ctx context.Context, out, work string) error {
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(work, name), data, 0o644); err != nil {
				return fmt.Errorf("writing %s: %w", name, err)
			}
		}
		mod := "module pgchaos.local/podroutes\n\ngo 1.24\n\nrequire golang.org/x/sys " + v.XSys + "\n"
		if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte(mod), 0o644); err != nil {
			return fmt.Errorf("writing go.mod: %w", err)
		}
		for _, args := range [][]string{
			{"mod", "tidy"},
			{"build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(out, "pgchaos-podroutes"), "."},
		} {
			cmd := exec.CommandContext(ctx, "nice", append([]string{"-n", "10", "go"}, args...)...)
			cmd.Dir = work
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
			if outb, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("go %s for pgchaos-podroutes: %w: %s", args[0], err, lastLine(string(outb)))
			}
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
