package clusters

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// LoadIntoKind loads images into every node of a kind cluster (through
// docker save and the node's containerd), skipping nodes that have them.
func LoadIntoKind(ctx context.Context, kindCluster string, images ...string) error {
	out, err := dockerOut(ctx, nil, "ps", "--filter", "label=io.x-k8s.kind.cluster="+kindCluster, "--format", "{{.Names}}")
	if err != nil {
		return fmt.Errorf("listing nodes of kind cluster %s: %w", kindCluster, err)
	}
	nodes := strings.Fields(out)
	if len(nodes) == 0 {
		return fmt.Errorf("kind cluster %s has no running node", kindCluster)
	}
	for _, img := range images {
		if img == "" {
			continue
		}
		var missing []string
		for _, n := range nodes {
			have, _ := dockerOut(ctx, nil, "exec", n, "ctr", "-n", "k8s.io", "images", "ls", "-q", "name=="+qualified(img))
			if strings.TrimSpace(have) == "" {
				missing = append(missing, n)
			}
		}
		for _, n := range missing {
			if err := loadOne(ctx, img, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// qualified is the name containerd stores for a docker image reference.
func qualified(img string) string {
	first, _, _ := strings.Cut(img, "/")
	if !strings.ContainsAny(first, ".:") && first != "localhost" {
		img = "docker.io/" + img
	}
	return img
}

func loadOne(ctx context.Context, img, node string) error {
	save := exec.CommandContext(ctx, "docker", "save", img)
	pipe, err := save.StdoutPipe()
	if err != nil {
		return fmt.Errorf("saving image %s: %w", img, err)
	}
	var serr bytes.Buffer
	save.Stderr = &serr
	if err := save.Start(); err != nil {
		return fmt.Errorf("saving image %s: %w", img, err)
	}
	_, ierr := dockerOut(ctx, pipe, "exec", "-i", node, "ctr", "-n", "k8s.io", "images", "import",
		"--all-platforms", "--digests", "--snapshotter=overlayfs", "-")
	werr := save.Wait()
	if ierr != nil {
		return fmt.Errorf("loading image %s into node %s: %w", img, node, ierr)
	}
	if werr != nil {
		return fmt.Errorf("saving image %s: %w: %s", img, werr, strings.TrimSpace(serr.String()))
	}
	return nil
}

// dockerOut runs the docker CLI and returns its trimmed stdout.
func dockerOut(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args[:min(3, len(args))], " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}
