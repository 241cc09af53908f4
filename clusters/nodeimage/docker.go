package nodeimage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// docker runs the docker CLI and returns its trimmed stdout.
func docker(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	var out, errb bytes.Buffer
	cmd.Stdin = stdin
	cmd.Stdout = &out
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(firstN(args, 3), " "), err, lastLine(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// imageID returns the ID of a local image, or "" when it does not exist.
func imageID(ctx context.Context, ref string) string {
	id, err := docker(ctx, nil, "image", "inspect", "--format", "{{.Id}}", ref)
	if err != nil {
		return ""
	}
	return id
}

// importDir makes an image from a directory with docker import; it returns the ID.
func importDir(ctx context.Context, dir, tag string, changes []string) (string, error) {
	tarCmd := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "-c", ".")
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		return "", fmt.Errorf("piping %s: %w", dir, err)
	}
	if err := tarCmd.Start(); err != nil {
		return "", fmt.Errorf("tar of %s: %w", dir, err)
	}
	args := []string{"import"}
	for _, c := range changes {
		args = append(args, "--change", c)
	}
	args = append(args, "-", tag)
	_, derr := docker(ctx, pipe, args...)
	terr := tarCmd.Wait()
	if derr != nil {
		return "", fmt.Errorf("importing %s as %s: %w", dir, tag, derr)
	}
	if terr != nil {
		return "", fmt.Errorf("tar of %s: %w", dir, terr)
	}
	return imageID(ctx, tag), nil
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// run runs a command and wraps its combined output into the error.
func run(ctx context.Context, dir string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(firstN(args, 3), " "), err, lastLine(string(out)))
	}
	return nil
}
