package nodeimage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kindContainerdConfig = `version = 2

[proxy_plugins]
# fuse-overlayfs is used for rootless
[proxy_plugins."fuse-overlayfs"]
  type = "snapshot"
  address = "/run/containerd-fuse-overlayfs.sock"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    SystemdCgroup = true
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.test-handler.options]
    SystemdCgroup = true
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = false
`

func TestAdaptContainerdConfig(t *testing.T) {
	got, err := adaptContainerdConfig(kindContainerdConfig, true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "fuse-overlayfs") || !strings.Contains(got, "restrict_oom_score_adj = true") ||
		strings.Count(got, `BinaryName = "/usr/local/bin/pgchaos-runc-shim"`) != 2 {
		t.Fatalf("adapted config:\n%s", got)
	}
	got, err = adaptContainerdConfig(kindContainerdConfig, false)
	if err != nil || strings.Contains(got, "BinaryName") {
		t.Fatalf("without shim: %v\n%s", err, got)
	}
	if _, err := adaptContainerdConfig("version = 2\n", false); err == nil {
		t.Fatal("want an error when kind's config changed shape")
	}
}

func TestKeyerDependsOnContent(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "a")
	key := func() string {
		k, sum := newKeyer("s")
		k.add("v", "1")
		if err := k.addTree("t", dir); err != nil {
			t.Fatal(err)
		}
		return sum()
	}
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	k1 := key()
	if k1 != key() {
		t.Fatal("key not stable")
	}
	if err := os.WriteFile(f, []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	if key() == k1 {
		t.Fatal("key ignores file content")
	}
}

func TestComponentsNames(t *testing.T) {
	b := &builder{opts: Options{Versions: DefaultVersions()}}
	a := artifact{dir: "/x", key: strings.Repeat("a", 64)}
	want := []string{
		"registry.k8s.io/kube-apiserver:v1.33.13", "registry.k8s.io/kube-controller-manager:v1.33.13",
		"registry.k8s.io/kube-scheduler:v1.33.13", "registry.k8s.io/kube-proxy:v1.33.13",
		"registry.k8s.io/etcd:3.5.24-0", "registry.k8s.io/coredns/coredns:v1.12.0", "registry.k8s.io/pause:3.10",
	}
	var got []string
	for _, c := range b.components(deps{a, a, a, a, a, a, a}) {
		got = append(got, c.tag)
	}
	for _, w := range want {
		if !strings.Contains(strings.Join(got, " "), w) {
			t.Errorf("missing image %s in %v", w, got)
		}
	}
}

func TestRunStepCachesAndFailsClean(t *testing.T) {
	b := &builder{opts: Options{CacheDir: t.TempDir()}}
	key := strings.Repeat("b", 64)
	runs := 0
	fn := func(ctx context.Context, out, work string) error {
		runs++
		return os.WriteFile(filepath.Join(out, "artifact"), []byte("x"), 0o644)
	}
	dir, err := b.runStep(context.Background(), "s", key, fn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "artifact")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.runStep(context.Background(), "s", key, fn); err != nil || runs != 1 {
		t.Fatalf("second run: runs=%d err=%v, want the cached result", runs, err)
	}
	other := strings.Repeat("c", 64)
	_, err = b.runStep(context.Background(), "s", other, func(ctx context.Context, out, work string) error {
		return errors.New("boom")
	})
	if err == nil || !strings.Contains(err.Error(), "step s") {
		t.Fatalf("failing step: %v", err)
	}
	if _, ok := b.stepDir("s", other); ok {
		t.Fatal("a failed step must not be marked done")
	}
}

func TestXSysMatchesGoMod(t *testing.T) {
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := "golang.org/x/sys " + DefaultVersions().XSys
	if !strings.Contains(string(data), want) {
		t.Fatalf("go.mod does not require %s: keep DefaultVersions().XSys in step with go.mod", want)
	}
}

func TestPodroutesSourceEmbedded(t *testing.T) {
	entries, err := podroutesSource.ReadDir("podroutes")
	if err != nil || len(entries) != 3 {
		t.Fatalf("embedded podroutes source: %v %v", entries, err)
	}
}

func TestControlPlaneBinariesCachedOnly(t *testing.T) {
	_, err := ControlPlaneBinaries(context.Background(), Options{CacheDir: t.TempDir()}, false)
	if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "step kubernetes") {
		t.Fatalf("empty cache: %v, want ErrNotCached for step kubernetes", err)
	}
	b := &builder{opts: Options{CacheDir: t.TempDir()}, cachedOnly: true}
	ran := false
	_, err = b.runStep(context.Background(), "s", strings.Repeat("d", 64), func(ctx context.Context, out, work string) error {
		ran = true
		return nil
	})
	if !errors.Is(err, ErrNotCached) || ran {
		t.Fatalf("cachedOnly runStep: ran=%t err=%v", ran, err)
	}
}
