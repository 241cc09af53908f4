package agent

import (
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ImageRepo is the repository of locally built agent images.
const ImageRepo = "pgchaos.local/pgchaos-agent"

// CheckStatic reports why binary cannot run in the agent image: it must be
// a statically linked Linux executable (CGO_ENABLED=0, as `make build` makes it).
func CheckStatic(binary string) error {
	f, err := elf.Open(binary)
	if err != nil {
		return fmt.Errorf("agent binary %s: %w", binary, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("agent binary %s is dynamically linked: build it with CGO_ENABLED=0 (make build does)", binary)
		}
	}
	return nil
}

// BuildImage builds the agent image from a base image that has iptables (on
// kind, the node image's kube-proxy image: Debian's iptables and nothing
// else) and the static pgchaos binary; nothing is pulled. The tag is the
// hash of both, so an unchanged binary reuses the image.
func BuildImage(ctx context.Context, binary, base string) (string, error) {
	if err := CheckStatic(binary); err != nil {
		return "", err
	}
	f, err := os.Open(binary)
	if err != nil {
		return "", fmt.Errorf("agent binary %s: %w", binary, err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", binary, err)
	}
	h.Write([]byte(base))
	tag := ImageRepo + ":" + hex.EncodeToString(h.Sum(nil))[:12]
	if exec.CommandContext(ctx, "docker", "image", "inspect", tag).Run() == nil {
		return tag, nil
	}
	if err := exec.CommandContext(ctx, "docker", "image", "inspect", base).Run(); err != nil {
		return "", fmt.Errorf("agent base image %s is not in docker (run pgchaos images build): %w", base, err)
	}
	dir, err := os.MkdirTemp("", "pgchaos-agent-image-")
	if err != nil {
		return "", fmt.Errorf("agent image context: %w", err)
	}
	defer os.RemoveAll(dir)
	data, err := os.ReadFile(binary)
	if err != nil {
		return "", fmt.Errorf("agent binary %s: %w", binary, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pgchaos"), data, 0o755); err != nil {
		return "", fmt.Errorf("agent image context: %w", err)
	}
	df := "FROM " + base + "\nCOPY pgchaos /usr/local/bin/pgchaos\nENTRYPOINT [\"/usr/local/bin/pgchaos\", \"agent\", \"run\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return "", fmt.Errorf("agent image context: %w", err)
	}
	cmd := exec.CommandContext(ctx, "docker", "build", "-q", "-t", tag, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building agent image %s: %w: %s", tag, err, strings.TrimSpace(string(out)))
	}
	return tag, nil
}
