package nodeimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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

// keyer accumulates the inputs of a step into a content key.
type keyer struct{ h io.Writer }

func newKeyer(step string) (*keyer, func() string) {
	h := sha256.New()
	k := &keyer{h: h}
	k.add("step", step)
	return k, func() string { return hex.EncodeToString(h.Sum(nil)) }
}

// add records a named input value.
func (k *keyer) add(name, value string) {
	fmt.Fprintf(k.h, "%d:%s=%d:%s\n", len(name), name, len(value), value)
}

// addFile records the content of a file.
func (k *keyer) addFile(name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("hashing %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hashing %s: %w", path, err)
	}
	k.add(name, hex.EncodeToString(h.Sum(nil)))
	return nil
}

// addTree records every regular file under dir (path, mode and content).
func (k *keyer) addTree(name, dir string) error {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("walking %s: %w", dir, err)
	}
	sort.Strings(files)
	for _, p := range files {
		rel, _ := filepath.Rel(dir, p)
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("hashing %s: %w", p, err)
		}
		if err := k.addFile(name+"/"+rel+"@"+st.Mode().Perm().String(), p); err != nil {
			return err
		}
	}
	return nil
}

// stepDir returns the finished output directory of a step and whether it exists.
func (b *builder) stepDir(step, key string) (string, bool) {
	dir := filepath.Join(b.opts.CacheDir, step, key[:16])
	_, err := os.Stat(filepath.Join(dir, ".done"))
	return dir, err == nil
}

// runStep produces the output directory of a step unless it is cached: fn writes
// into a scratch output directory that is renamed into place only on success.
func (b *builder) runStep(ctx context.Context, step, key string, fn func(ctx context.Context, out, work string) error) (string, error) {
	dir, ok := b.stepDir(step, key)
	if ok {
		b.progress(step, "cached", 0, key)
		return dir, nil
	}
	if b.cachedOnly {
		return "", fmt.Errorf("step %s: %w (%s)", step, ErrNotCached, dir)
	}
	start := time.Now()
	b.progress(step, "building", 0, key)
	tmp := dir + ".tmp"
	work := filepath.Join(b.opts.CacheDir, "work", step+"-"+key[:16])
	for _, d := range []string{tmp, work} {
		if err := os.RemoveAll(d); err != nil {
			return "", fmt.Errorf("clearing %s: %w", d, err)
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("creating %s: %w", d, err)
		}
	}
	stop := b.ticker(ctx, step, start)
	err := fn(ctx, tmp, work)
	stop()
	if err != nil {
		return "", fmt.Errorf("step %s: %w", step, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".done"), []byte(key+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("marking %s done: %w", step, err)
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("storing %s: %w", step, err)
	}
	if err := os.RemoveAll(work); err != nil {
		return "", fmt.Errorf("clearing %s: %w", work, err)
	}
	b.progress(step, "done", time.Since(start), key)
	return dir, nil
}

// ticker reports every 30 s that a step is still running, until stopped.
func (b *builder) ticker(ctx context.Context, step string, start time.Time) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				b.progress(step, "running", time.Since(start), "")
			}
		}
	}()
	return func() { close(done) }
}

// runScript runs an embedded build script with bash and the given environment;
// its output goes to work/log, and the tail of that log is in the error.
func (b *builder) runScript(ctx context.Context, name string, work string, env map[string]string) error {
	text, err := scripts.ReadFile("scripts/" + name)
	if err != nil {
		return fmt.Errorf("reading script %s: %w", name, err)
	}
	logPath := filepath.Join(work, "log")
	logf, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("creating %s: %w", logPath, err)
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, "nice", "-n", "10", "bash", "-c", string(text), name)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Dir = work
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("script %s: %w (log %s: %s)", name, err, logPath, tail(logPath, 5))
	}
	return nil
}

// tail returns the last n lines of a file, joined by " | ".
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
