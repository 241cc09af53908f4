package imagebuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Builder runs the scripts of one adapter.
type Builder struct {
	// CacheDir holds the outputs (default /var/cache/pgchaos).
	CacheDir string
	// Area is the subdirectory of CacheDir this builder owns ("cnpg").
	Area string
	// Scripts holds the scripts, read as Dir/NAME.
	Scripts fs.FS
	Dir     string
	// Progress receives one line per step; nil discards them.
	Progress func(line string)
}

func (b Builder) say(s string) {
	if b.Progress != nil {
		b.Progress(s)
	}
}

// CheckTools reports the first tool missing from PATH.
func CheckTools(tools ...string) error {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found (run ci/host-prep.sh first): %w", tool, err)
		}
	}
	return nil
}

// ModuleDir downloads module at version (without "v") through the Go
// module proxy and returns its directory in the module cache.
func ModuleDir(ctx context.Context, module, version string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@v"+version)
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr != nil && err == nil {
		err = jerr
	}
	if info.Error != "" {
		return "", fmt.Errorf("downloading module %s@v%s: %s", module, version, info.Error)
	}
	if err != nil || info.Dir == "" {
		return "", fmt.Errorf("downloading module %s@v%s (is go on PATH and the module proxy reachable?): %w", module, version, err)
	}
	return info.Dir, nil
}

// GoVersion is the toolchain's version, part of the key of Go builds.
func GoVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// Step runs the script unless its output is cached under a key made of the
// script's text, its environment and extra; it returns the output
// directory and the key. The script gets OUT (its output directory) and
// WORK (scratch, its working directory) in its environment. Output appears
// atomically (a .done marker after a rename), so an interrupted build is
// redone, never half-used.
func (b Builder) Step(ctx context.Context, name, script string, env map[string]string, extra string) (string, string, error) {
	return b.StepFiles(ctx, name, script, env, extra, nil)
}

// StepFiles is Step with input files: each is written into WORK under its
// name before the script runs, and its content is part of the key.
func (b Builder) StepFiles(ctx context.Context, name, script string, env map[string]string, extra string, files map[string][]byte) (string, string, error) {
	text, err := fs.ReadFile(b.Scripts, filepath.Join(b.Dir, script))
	if err != nil {
		return "", "", fmt.Errorf("reading script %s: %w", script, err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "step=%s\nscript=%s\nextra=%s\n", name, text, extra)
	for _, k := range sortedKeys(env) {
		fmt.Fprintf(h, "env:%s=%s\n", k, env[k])
	}
	for _, k := range sortedKeys(files) {
		sum := sha256.Sum256(files[k])
		fmt.Fprintf(h, "file:%s=%x\n", k, sum)
	}
	key := hex.EncodeToString(h.Sum(nil))
	cache := b.CacheDir
	if cache == "" {
		cache = "/var/cache/pgchaos"
	}
	dir := filepath.Join(cache, b.Area, name, key[:16])
	if _, err := os.Stat(filepath.Join(dir, ".done")); err == nil {
		b.say(fmt.Sprintf("%-16s cached (key %s)", name, key[:12]))
		return dir, key, nil
	}
	start := time.Now()
	b.say(fmt.Sprintf("%-16s building (key %s)", name, key[:12]))
	tmp, work := dir+".tmp", dir+".work"
	for _, d := range []string{tmp, work} {
		if err := os.RemoveAll(d); err != nil {
			return "", "", fmt.Errorf("clearing %s: %w", d, err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", fmt.Errorf("creating %s: %w", d, err)
		}
	}
	for _, k := range sortedKeys(files) {
		if err := os.WriteFile(filepath.Join(work, filepath.Base(k)), files[k], 0o644); err != nil {
			return "", "", fmt.Errorf("writing input %s of %s: %w", k, name, err)
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
	b.say(fmt.Sprintf("%-16s done in %s", name, time.Since(start).Round(time.Second)))
	return dir, key, nil
}

// Import makes tag from a directory or a tarball unless docker has it.
func (b Builder) Import(ctx context.Context, dir, tarball, tag string, changes []string) error {
	if _, err := Docker(ctx, nil, "image", "inspect", "--format", "{{.Id}}", tag); err == nil {
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
	_, err := Docker(ctx, in, append(args, "-", tag)...)
	if tarCmd != nil {
		if werr := tarCmd.Wait(); err == nil && werr != nil {
			err = fmt.Errorf("tar of %s: %w", dir, werr)
		}
	}
	if err != nil {
		return fmt.Errorf("importing image %s: %w", tag, err)
	}
	b.say(fmt.Sprintf("%-16s imported %s", "docker", tag))
	return nil
}

// Docker runs the docker CLI and returns its trimmed stdout.
func Docker(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
