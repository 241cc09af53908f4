package nodeimage

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// nodeDockerfile finishes the node image on top of the imported root filesystem,
// as kind's images/base/Dockerfile does.
const nodeDockerfile = `FROM BASE
COPY files/ /
COPY bin/ /usr/bin/
RUN set -e; chmod 0755 /kind/bin/* /usr/local/bin/* /usr/bin/kubeadm /usr/bin/kubelet /usr/bin/kubectl; \
  find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete; \
  rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
    /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
    /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*; \
  echo "ReadKMsg=no" >> /etc/systemd/journald.conf; \
  [ -e /sbin/init ] || ln -s /lib/systemd/systemd /sbin/init; \
  systemctl enable kubelet.service containerd.service undo-mount-hacks.service; \
  systemctl mask systemd-binfmt.service; \
  mkdir -p /etc/kubernetes/manifests /opt/cni/bin /etc/cni/net.d; \
  for p in /usr/lib/cni/*; do ln -sf "$p" /opt/cni/bin/; done; \
  ln -sf /usr/bin/containerd /usr/local/bin/containerd; \
  ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer|length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \
    | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json; \
  echo "K8S_VERSION" > /kind/version
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
`

// nodeRecipe names the version of the Go steps of nodeImage and preload (which
// are not in the key as text): change it when they change.
const nodeRecipe = "2"

// shimInNode is where the runtime shim lives inside the node.
const shimInNode = "/usr/local/bin/pgchaos-runc-shim"

// adaptContainerdConfig turns kind's containerd config into one for Debian's
// containerd 1.6 on a host without CAP_SYS_RESOURCE.
func adaptContainerdConfig(s string, shim bool) (string, error) {
	for _, r := range [][2]string{
		{"[proxy_plugins]\n# fuse-overlayfs is used for rootless\n[proxy_plugins.\"fuse-overlayfs\"]\n  type = \"snapshot\"\n  address = \"/run/containerd-fuse-overlayfs.sock\"\n", ""},
		// Negative oom_score_adj needs CAP_SYS_RESOURCE, missing here.
		{"restrict_oom_score_adj = false", "restrict_oom_score_adj = true"},
	} {
		if !strings.Contains(s, r[0]) {
			return "", fmt.Errorf("adapting containerd config: %q not found", r[0])
		}
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	if shim {
		old := "    SystemdCgroup = true\n"
		if strings.Count(s, old) != 2 {
			return "", fmt.Errorf("adapting containerd config: want 2 runtime option blocks")
		}
		s = strings.ReplaceAll(s, old, old+"    BinaryName = \""+shimInNode+"\"\n")
	}
	return s, nil
}

// nodeImage assembles the node image and preloads every component image.
func (b *builder) nodeImage(ctx context.Context, rootfs, k8s artifact, comps componentSet) (string, error) {
	v := b.opts.Versions
	kindDir, err := moduleDir(ctx, "sigs.k8s.io/kind", v.Kind)
	if err != nil {
		return "", err
	}
	lppDir, err := moduleDir(ctx, "github.com/rancher/local-path-provisioner", v.LocalPath)
	if err != nil {
		return "", err
	}
	storage, err := storageManifest(lppDir, v)
	if err != nil {
		return "", err
	}
	cni := strings.Replace(cniManifest, "image: IMAGE", "image: "+podroutesTag(comps), 1)
	k, sum := newKeyer("node")
	k.add("rootfs", rootfs.key)
	k.add("kubernetes", k8s.key)
	k.add("images", comps.key)
	k.add("dockerfile", nodeDockerfile)
	k.add("cni", cni)
	k.add("storage", storage)
	k.add("kind", v.Kind)
	k.add("recipe", nodeRecipe)
	if err := k.addTree("kindfiles", filepath.Join(kindDir, "images", "base", "files")); err != nil {
		return "", err
	}
	if b.opts.ShimBinary != "" {
		if err := k.addFile("shim", b.opts.ShimBinary); err != nil {
			return "", err
		}
	}
	cfg, err := os.ReadFile(filepath.Join(kindDir, "images", "base", "files", "etc", "containerd", "config.toml"))
	if err != nil {
		return "", fmt.Errorf("reading kind's containerd config: %w", err)
	}
	containerdCfg, err := adaptContainerdConfig(string(cfg), b.opts.ShimBinary != "")
	if err != nil {
		return "", err
	}
	k.add("containerd", containerdCfg)
	key := sum()
	tag := "pgchaos/kind-node:" + v.Kubernetes + "-" + key[:12]
	if imageID(ctx, tag) != "" {
		b.progress("node", "cached", 0, key)
		return tag, nil
	}
	_, err = b.runStep(ctx, "node", key, func(ctx context.Context, out, work string) error {
		base := "pgchaos/cache-rootfs:" + rootfs.key[:12]
		if imageID(ctx, base) == "" {
			f, err := os.Open(filepath.Join(rootfs.dir, "rootfs.tar"))
			if err != nil {
				return fmt.Errorf("opening root filesystem: %w", err)
			}
			defer f.Close()
			if _, err := docker(ctx, f, "import", "-", base); err != nil {
				return fmt.Errorf("importing root filesystem: %w", err)
			}
		}
		bctx := filepath.Join(work, "context")
		files := filepath.Join(bctx, "files")
		if err := run(ctx, "", "mkdir", "-p", files, filepath.Join(bctx, "bin"), filepath.Join(files, "kind", "manifests"), filepath.Join(files, "usr", "local", "bin")); err != nil {
			return err
		}
		src := filepath.Join(kindDir, "images", "base", "files")
		for _, d := range []string{"etc", "kind", "usr"} {
			if err := run(ctx, "", "cp", "-r", filepath.Join(src, d), files); err != nil {
				return err
			}
		}
		if err := run(ctx, "", "chmod", "-R", "u+w", files); err != nil {
			return err
		}
		writes := map[string]string{
			filepath.Join(files, "etc", "containerd", "config.toml"):          containerdCfg,
			filepath.Join(files, "kind", "manifests", "default-cni.yaml"):     cni,
			filepath.Join(files, "kind", "manifests", "default-storage.yaml"): storage,
			filepath.Join(bctx, "Dockerfile"):                                 strings.NewReplacer("BASE", base, "K8S_VERSION", v.Kubernetes).Replace(nodeDockerfile),
		}
		for p, content := range writes {
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				return fmt.Errorf("writing %s: %w", p, err)
			}
		}
		for _, c := range []string{"kubeadm", "kubelet", "kubectl"} {
			if err := run(ctx, "", "cp", filepath.Join(k8s.dir, "bin", c), filepath.Join(bctx, "bin", c)); err != nil {
				return err
			}
		}
		if b.opts.ShimBinary != "" {
			if err := run(ctx, "", "cp", b.opts.ShimBinary, filepath.Join(files, shimInNode)); err != nil {
				return err
			}
		}
		stage := "pgchaos/cache-node-stage:" + key[:12]
		if _, err := docker(ctx, nil, "build", "--network", "none", "-q", "-t", stage, bctx); err != nil {
			return fmt.Errorf("building node stage: %w", err)
		}
		if err := b.preload(ctx, stage, tag, comps); err != nil {
			return err
		}
		if _, err := docker(ctx, nil, "rmi", stage); err != nil {
			return fmt.Errorf("removing stage image: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return tag, nil
}

func podroutesTag(c componentSet) string {
	for tag := range c.ids {
		if strings.HasPrefix(tag, "docker.io/pgchaos/podroutes:") {
			return tag
		}
	}
	return ""
}

// preload imports every component image into the containerd of a container of the
// stage image (content only, pinned, as kind's own builder does) and commits it.
func (b *builder) preload(ctx context.Context, stage, tag string, comps componentSet) error {
	name := "pgchaos-preload-" + strings.TrimPrefix(tag[strings.LastIndex(tag, "-")+1:], "")
	_, _ = docker(ctx, nil, "rm", "-f", name)
	if _, err := docker(ctx, nil, "run", "-d", "--privileged", "--network", "none", "--name", name,
		"--entrypoint", "sleep", stage, "infinity"); err != nil {
		return fmt.Errorf("starting preload container: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_, _ = docker(cctx, nil, "rm", "-f", name)
	}()
	if _, err := docker(ctx, nil, "exec", "-d", name, "sh", "-c", "containerd >/tmp/containerd.log 2>&1"); err != nil {
		return fmt.Errorf("starting containerd in %s: %w", name, err)
	}
	ready := false
	for i := 0; i < 60 && !ready; i++ {
		if _, err := docker(ctx, nil, "exec", name, "ctr", "version"); err == nil {
			ready = true
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !ready {
		return fmt.Errorf("containerd in %s did not start within 30 s", name)
	}
	for _, ref := range sortedKeys(comps.ids) {
		id := comps.ids[ref]
		if _, err := docker(ctx, nil, "tag", id, ref); err != nil {
			return fmt.Errorf("tagging %s: %w", ref, err)
		}
		if err := pipeSave(ctx, ref, name); err != nil {
			return err
		}
	}
	// containerd 1.6's ctr has no import --label: pin afterwards, as kind's builder does at import.
	if _, err := docker(ctx, nil, "exec", name, "sh", "-c",
		"for r in $(ctr -n k8s.io images ls -q); do ctr -n k8s.io images label \"$r\" io.cri-containerd.pinned=pinned >/dev/null || exit 1; done"); err != nil {
		return fmt.Errorf("pinning images in %s: %w", name, err)
	}
	if _, err := docker(ctx, nil, "exec", name, "sh", "-c", "kill $(pidof containerd); for i in $(seq 1 50); do pidof containerd >/dev/null || exit 0; sleep 0.2; done; exit 1"); err != nil {
		return fmt.Errorf("stopping containerd in %s: %w", name, err)
	}
	if _, err := docker(ctx, nil, "commit",
		"--change", `ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]`,
		"--change", `CMD []`, name, tag); err != nil {
		return fmt.Errorf("committing %s: %w", tag, err)
	}
	return nil
}

// pipeSave streams `docker save ref` into the container's ctr import.
func pipeSave(ctx context.Context, ref, container string) error {
	save := exec.CommandContext(ctx, "docker", "save", ref)
	pipe, err := save.StdoutPipe()
	if err != nil {
		return fmt.Errorf("saving %s: %w", ref, err)
	}
	if err := save.Start(); err != nil {
		return fmt.Errorf("saving %s: %w", ref, err)
	}
	_, ierr := docker(ctx, pipe, "exec", "-i", container, "ctr", "-n", "k8s.io", "images", "import",
		"--no-unpack", "--all-platforms", "--digests", "-")
	if ierr != nil {
		_, _ = io.Copy(io.Discard, pipe)
	}
	serr := save.Wait()
	if ierr != nil {
		return fmt.Errorf("importing %s into the node's containerd: %w", ref, ierr)
	}
	if serr != nil {
		return fmt.Errorf("saving %s: %w", ref, serr)
	}
	return nil
}
