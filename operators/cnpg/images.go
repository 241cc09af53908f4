package cnpg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

//go:embed scripts/*.sh
var scripts embed.FS

// ImageOptions configures BuildImages.
type ImageOptions struct {
	// CacheDir holds the build outputs, keyed by the content of their inputs
	// (default /var/cache/pgchaos; this package uses its cnpg/ subdirectory).
	CacheDir string
	// Version is the CloudNativePG module version without "v" (default DefaultVersion).
	Version string
	// PostgresMajor is the PostgreSQL major version from Debian (default 15).
	PostgresMajor string
	// DebianSuite and DebianMirror locate the packages (default bookworm, deb.debian.org).
	DebianSuite, DebianMirror string
	// Progress receives one line per step; nil discards them.
	Progress func(line string)
}

func (o *ImageOptions) defaults() {
	if o.CacheDir == "" {
		o.CacheDir = "/var/cache/pgchaos"
	}
	if o.Version == "" {
		o.Version = DefaultVersion
	}
	if o.PostgresMajor == "" {
		o.PostgresMajor = "15"
	}
	if o.DebianSuite == "" {
		o.DebianSuite = "bookworm"
	}
	if o.DebianMirror == "" {
		o.DebianMirror = "http://deb.debian.org/debian"
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
}

// Images are locally built image references.
type Images struct {
	// Operator is the operator image (tagged by content).
	Operator string
	// Postgres is the PostgreSQL image; its tag starts with the major
	// version, which is how CloudNativePG detects it.
	Postgres string
}

// BuildImages builds (or finds in the cache) the operator image from the
// CloudNativePG module's cmd/manager and a PostgreSQL image from Debian's
// packages, both with docker import (no registry is needed). Tags carry a
// content key, so a changed input never reuses a stale image on the nodes.
func BuildImages(ctx context.Context, opts ImageOptions) (Images, error) {
	opts.defaults()
	for _, tool := range []string{"docker", "go", "debootstrap", "jq", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			return Images{}, fmt.Errorf("%s not found (run ci/host-prep.sh first): %w", tool, err)
		}
	}
	var imgs Images
	env := map[string]string{"VERSION": opts.Version, "GOARCH": runtime.GOARCH}
	dir, key, err := step(ctx, opts, "cnpg-operator", "operator.sh", env, goVersion(ctx))
	if err != nil {
		return Images{}, err
	}
	imgs.Operator = "pgchaos.local/cloudnative-pg:" + opts.Version + "-" + key[:12]
	if err := importImage(ctx, opts, filepath.Join(dir, "root"), "", imgs.Operator, []string{
		`ENTRYPOINT ["/manager"]`, "USER 65532:65532", "WORKDIR /",
	}); err != nil {
		return Images{}, err
	}
	env = map[string]string{"SUITE": opts.DebianSuite, "MIRROR": opts.DebianMirror, "PG_MAJOR": opts.PostgresMajor}
	dir, key, err = step(ctx, opts, "cnpg-postgres", "postgres.sh", env, "")
	if err != nil {
		return Images{}, err
	}
	imgs.Postgres = "pgchaos.local/postgresql:" + opts.PostgresMajor + "-" + key[:12]
	bin := "/usr/lib/postgresql/" + opts.PostgresMajor + "/bin"
	if err := importImage(ctx, opts, "", filepath.Join(dir, "rootfs.tar"), imgs.Postgres, []string{
		"ENV PATH=" + bin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"ENV LANG=en_US.utf8", "ENV PGDATA=/var/lib/postgresql/data/pgdata",
		"USER 26", "WORKDIR /",
	}); err != nil {
		return Images{}, err
	}
	return imgs, nil
}

func goVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// step runs an embedded script unless its output is cached under a key made
// of the script's text, its environment and extra; it returns the output
// directory and the key. Output appears atomically (a .done marker after a
// rename), so an interrupted build is redone, never half-used.
func step(ctx context.Context, opts ImageOptions, name, script string, env map[string]string, extra string) (string, string, error) {
	text, err := scripts.ReadFile("scripts/" + script)
	if err != nil {
		return "", "", fmt.Errorf("reading script %s: %w", script, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "step=%s\nscript=%s\nextra=%s\n", name, text, extra)
	for _, k := range sortedKeys(env) {
		fmt.Fprintf(h, "env:%s=%s\n", k, env[k])
	}
	key := hex.EncodeToString(h.Sum(nil))
	dir := filepath.Join(opts.CacheDir, "cnpg", name, key[:16])
	if _, err := os.Stat(filepath.Join(dir, ".done")); err == nil {
		opts.Progress(fmt.Sprintf("%-14s cached (key %s)", name, key[:12]))
		return dir, key, nil
	}
	start := time.Now()
	opts.Progress(fmt.Sprintf("%-14s building (key %s)", name, key[:12]))
	tmp, work := dir+".tmp", dir+".work"
	for _, d := range []string{tmp, work} {
		if err := os.RemoveAll(d); err != nil {
			return "", "", fmt.Errorf("clearing %s: %w", d, err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", fmt.Errorf("creating %s: %w", d, err)
		}
	}
	logPath := filepath.Join(work, "log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", "", fmt.Errorf("creating %s: %w", logPath, err)
	}
	cmd := exec.CommandContext(ctx, "nice", "-n", "15", "bash", "-c", string(text), script)
	cmd.Env = append(os.Environ(), "OUT="+tmp, "WORK="+work)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, work
	err = cmd.Run()
	_ = logf.Close()
	if err != nil {
		return "", "", fmt.Errorf("building %s: script %s: %w (log %s: %s)", name, script, err, logPath, tail(logPath, 5))
	}
	if err := os.WriteFile(filepath.Join(tmp, ".done"), []byte(key+"\n"), 0o644); err != nil {
		return "", "", fmt.Errorf("marking %s done: %w", name, err)
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", "", fmt.Errorf("storing %s: %w", name, err)
	}
	_ = os.RemoveAll(work)
	opts.Progress(fmt.Sprintf("%-14s done in %s", name, time.Since(start).Round(time.Second)))
	return dir, key, nil
}

// importImage makes tag from a directory or a tarball unless docker has it.
func importImage(ctx context.Context, opts ImageOptions, dir, tarball, tag string, changes []string) error {
	if _, err := docker(ctx, nil, "image", "inspect", "--format", "{{.Id}}", tag); err == nil {
		return nil
	}
	var in io.Reader
	var tarCmd *exec.Cmd
	if dir != "" {
		tarCmd = exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "-c", ".")
		pipe, err := tarCmd.StdoutPipe()
		if err != nil {
			return fmt.Errorf("piping %s: %w", dir, err)
		}
		if err := tarCmd.Start(); err != nil {
			return fmt.Errorf("tar of %s: %w", dir, err)
		}
		in = pipe
	} else {
		f, err := os.Open(tarball)
		if err != nil {
			return fmt.Errorf("opening %s: %w", tarball, err)
		}
		defer f.Close()
		in = f
	}
	args := []string{"import"}
	for _, c := range changes {
		args = append(args, "--change", c)
	}
	_, err := docker(ctx, in, append(args, "-", tag)...)
	if tarCmd != nil {
		if werr := tarCmd.Wait(); err == nil && werr != nil {
			err = fmt.Errorf("tar of %s: %w", dir, werr)
		}
	}
	if err != nil {
		return fmt.Errorf("importing image %s: %w", tag, err)
	}
	opts.Progress(fmt.Sprintf("%-14s imported %s", "docker", tag))
	return nil
}

// docker runs the docker CLI and returns its trimmed stdout.
func docker(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args[:min(3, len(args))], " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
