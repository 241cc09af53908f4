package nodeimage

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// component is one image preloaded into the node's containerd.
type component struct {
	// tag is the exact name kubeadm or a manifest refers to.
	tag string
	// files maps a path inside the image to a file on the host.
	files map[string]string
	// layers are tarballs extracted into the image first (e.g. the netfilter layer).
	layers []string
	// links maps a path inside the image to a symlink target.
	links map[string]string
	// changes are docker import --change instructions.
	changes []string
}

const imagePath = "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// components lists every image of the cluster, in one place.
func (b *builder) components(d deps) []component {
	v := b.opts.Versions
	rootfs, k8s, etcd, coredns, lpp, pause, podroutes := d.rootfs, d.k8s, d.etcd, d.coredns, d.lpp, d.pause, d.podroutes
	var out []component
	for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		out = append(out, component{
			tag:     "registry.k8s.io/" + c + ":" + v.Kubernetes,
			files:   map[string]string{"usr/local/bin/" + c: filepath.Join(k8s.dir, "bin", c)},
			changes: []string{imagePath},
		})
	}
	out = append(out,
		component{
			tag:     "registry.k8s.io/kube-proxy:" + v.Kubernetes,
			files:   map[string]string{"usr/local/bin/kube-proxy": filepath.Join(k8s.dir, "bin", "kube-proxy")},
			layers:  []string{filepath.Join(rootfs.dir, "netfilter.tar")},
			changes: []string{imagePath},
		},
		component{
			tag:     "registry.k8s.io/etcd:" + strings.TrimPrefix(v.Etcd, "v") + "-0",
			files:   map[string]string{"usr/local/bin/etcd": filepath.Join(etcd.dir, "etcd")},
			changes: []string{imagePath},
		},
		component{
			tag:     "registry.k8s.io/coredns/coredns:" + v.CoreDNS,
			files:   map[string]string{"coredns": filepath.Join(coredns.dir, "coredns")},
			changes: []string{imagePath, `ENTRYPOINT ["/coredns"]`},
		},
		component{
			tag:     "registry.k8s.io/pause:" + v.Pause,
			files:   map[string]string{"pause": filepath.Join(pause.dir, "pause")},
			changes: []string{`ENTRYPOINT ["/pause"]`},
		},
		component{
			tag:     localPathImage(v),
			files:   map[string]string{"usr/bin/local-path-provisioner": filepath.Join(lpp.dir, "local-path-provisioner")},
			changes: []string{imagePath},
		},
		component{
			tag:     localPathHelperImage,
			files:   map[string]string{"bin/busybox": filepath.Join(rootfs.dir, "busybox")},
			links:   busyboxLinks(),
			changes: []string{imagePath},
		},
		component{
			tag:     podroutesImage(podroutes),
			files:   map[string]string{"pgchaos-podroutes": filepath.Join(podroutes.dir, "pgchaos-podroutes")},
			changes: []string{`ENTRYPOINT ["/pgchaos-podroutes"]`},
		},
	)
	return out
}

func localPathImage(v Versions) string {
	return "docker.io/rancher/local-path-provisioner:" + v.LocalPath
}

// localPathHelperImage runs local-path-provisioner's helper pods (busybox from Debian).
const localPathHelperImage = "docker.io/pgchaos/local-path-helper:bookworm"

func podroutesImage(a artifact) string {
	return "docker.io/pgchaos/podroutes:" + a.key[:12]
}

// busyboxLinks are the applets the local-path helper scripts use.
func busyboxLinks() map[string]string {
	m := map[string]string{}
	for _, a := range []string{"sh", "mkdir", "rm", "rmdir", "chmod", "chown", "ls", "cat", "echo", "test", "[", "sleep", "du", "cp", "mv", "touch", "stat"} {
		m["bin/"+a] = "busybox"
	}
	return m
}

// componentSet is the output of the images step: tag -> image ID.
type componentSet struct {
	artifact
	ids map[string]string
}

// componentImages builds (or finds) every component image with docker import.
func (b *builder) componentImages(ctx context.Context, d deps) (componentSet, error) {
	comps := b.components(d)
	k, sum := newKeyer("images")
	for _, a := range d.all() {
		k.add("dep", a.key)
	}
	for _, c := range comps {
		spec, _ := json.Marshal(struct {
			T string
			F map[string]string
			L []string
			S map[string]string
			C []string
		}{c.tag, c.files, c.layers, c.links, c.changes})
		k.add("component", string(spec))
	}
	key := sum()
	// A cached set is valid only while docker still has every image.
	if dir, ok := b.stepDir("images", key); ok {
		ids, err := readIDs(dir)
		if err == nil && allPresent(ctx, ids) {
			b.progress("images", "cached", 0, key)
			return componentSet{artifact{dir, key}, ids}, nil
		}
		if err := os.RemoveAll(dir); err != nil {
			return componentSet{}, fmt.Errorf("clearing %s: %w", dir, err)
		}
	}
	var ids map[string]string
	dir, err := b.runStep(ctx, "images", key, func(ctx context.Context, out, work string) error {
		ids = map[string]string{}
		for _, c := range comps {
			id, err := b.buildComponent(ctx, c, work)
			if err != nil {
				return fmt.Errorf("image %s: %w", c.tag, err)
			}
			ids[c.tag] = id
		}
		data, err := json.MarshalIndent(ids, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding image ids: %w", err)
		}
		return os.WriteFile(filepath.Join(out, "images.json"), data, 0o644)
	})
	if err != nil {
		return componentSet{}, err
	}
	if ids == nil {
		if ids, err = readIDs(dir); err != nil {
			return componentSet{}, err
		}
	}
	return componentSet{artifact{dir, key}, ids}, nil
}

func (b *builder) buildComponent(ctx context.Context, c component, work string) (string, error) {
	root := filepath.Join(work, strings.NewReplacer("/", "_", ":", "_").Replace(c.tag))
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o1777); err != nil {
		return "", fmt.Errorf("creating %s: %w", root, err)
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		return "", fmt.Errorf("chmod %s/tmp: %w", root, err)
	}
	for _, l := range c.layers {
		if err := run(ctx, root, "tar", "-xf", l, "--numeric-owner"); err != nil {
			return "", err
		}
	}
	for _, dst := range sortedKeys(c.files) {
		p := filepath.Join(root, dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
		}
		if err := run(ctx, root, "cp", "--preserve=mode", c.files[dst], p); err != nil {
			return "", err
		}
		if err := os.Chmod(p, 0o755); err != nil {
			return "", fmt.Errorf("chmod %s: %w", p, err)
		}
	}
	for _, dst := range sortedKeys(c.links) {
		p := filepath.Join(root, dst)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
		}
		if err := os.Symlink(c.links[dst], p); err != nil {
			return "", fmt.Errorf("linking %s: %w", p, err)
		}
	}
	return importDir(ctx, root, c.tag, c.changes)
}

func readIDs(dir string) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "images.json"))
	if err != nil {
		return nil, fmt.Errorf("reading image ids: %w", err)
	}
	ids := map[string]string{}
	if err := json.Unmarshal(data, &ids); err != nil {
		return nil, fmt.Errorf("decoding %s/images.json: %w", dir, err)
	}
	return ids, nil
}

func allPresent(ctx context.Context, ids map[string]string) bool {
	for _, id := range ids {
		if imageID(ctx, id) == "" {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
