package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/faults/iofs"
)

func TestIOFSBadInput(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "absent.sock")
	wantBadInput(t, "--backing is required", "iofs", "serve", "--mount", "/tmp", "--control", sock)
	wantBadInput(t, "--control is required", "iofs", "set", "--fsync-delay", "50ms")
	wantBadInput(t, "--control is required", "iofs", "clear")
	wantBadInput(t, "nothing to set", "iofs", "set", "--control", sock)
	wantBadInput(t, "invalid argument \"fast\" for \"--fsync-delay\"", "iofs", "set", "--control", sock, "--fsync-delay", "fast")
	wantBadInput(t, "--deadline 0s out of range", "iofs", "set", "--control", sock, "--enospc", "pg_wal/", "--deadline", "0")
	wantBadInput(t, "write delay -1s out of range", "iofs", "set", "--control", sock, "--write-delay", "-1s")
	wantBadInput(t, sock+": dial unix", "iofs", "set", "--control", sock, "--fsync-delay", "50ms")
	wantBadInput(t, sock, "iofs", "status", "--control", sock)
	if iofs.Available() == nil {
		dir := t.TempDir()
		wantBadInput(t, "mount point "+filepath.Join(dir, "absent"), "iofs", "serve",
			"--backing", dir, "--mount", filepath.Join(dir, "absent"), "--control", filepath.Join(dir, "c.sock"))
	}
}

// TestIOFSServeSetClear runs `pgchaos iofs serve` and drives it with set,
// status and clear as the node agent would; then interrupts it and checks
// that nothing is left (no mount, no socket).
func TestIOFSServeSetClear(t *testing.T) {
	if err := iofs.Available(); err != nil {
		t.Skipf("FUSE unavailable: %v", err)
	}
	dir := t.TempDir()
	backing, mnt, sock := filepath.Join(dir, "b"), filepath.Join(dir, "m"), filepath.Join(dir, "c.sock")
	for _, d := range []string{backing, mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	done := make(chan error, 1)
	go func() {
		root := newRootCmd(&out, &errb)
		root.SetArgs([]string{"iofs", "serve", "--backing", backing, "--mount", mnt, "--control", sock})
		done <- root.ExecuteContext(ctx)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v (stderr %s)", err, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("serve did not stop within 10s of its interrupt")
		}
	}
	defer stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ok, _ := iofs.Mounted(mnt); ok {
			if _, err := os.Stat(sock); err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not up within 10s: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	f, err := os.Create(filepath.Join(mnt, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	code, stdout, stderr := runCLI(t, "iofs", "set", "--control", sock, "--fsync-delay", "80ms", "--deadline", "1m")
	if code != 0 || !strings.HasPrefix(stdout, "set fsync +80ms on everything until ") {
		t.Fatalf("set: exit %d, %q %q", code, stdout, stderr)
	}
	began := time.Now()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d < 80*time.Millisecond {
		t.Errorf("fsync took %s under +80ms", d)
	}
	code, stdout, stderr = runCLI(t, "iofs", "set", "--control", sock, "--enospc", "/", "--deadline", "1m")
	if code != 0 || !strings.Contains(stdout, "ENOSPC on everything") {
		t.Fatalf("set --enospc: exit %d, %q %q", code, stdout, stderr)
	}
	if _, err := f.Write([]byte("x")); err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Errorf("write under ENOSPC: %v", err)
	}
	code, stdout, _ = runCLI(t, "iofs", "status", "--control", sock)
	if code != 0 || !strings.Contains(stdout, `"enospc": true`) {
		t.Errorf("status: exit %d, %s", code, stdout)
	}
	if code, stdout, stderr = runCLI(t, "iofs", "clear", "--control", sock); code != 0 || stdout != "cleared\n" {
		t.Fatalf("clear: exit %d, %q %q", code, stdout, stderr)
	}
	if _, err := f.Write([]byte("x")); err != nil {
		t.Errorf("write after clear: %v", err)
	}
	// The dead man's switch, through the command line.
	if code, _, stderr = runCLI(t, "iofs", "set", "--control", sock, "--enospc", "", "--deadline", "300ms"); code != 0 {
		t.Fatalf("set: %s", stderr)
	}
	if _, err := f.Write([]byte("x")); err == nil {
		t.Error("write succeeded under ENOSPC")
	}
	for end := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := f.Write([]byte("x")); err == nil {
			break
		} else if time.Now().After(end) {
			t.Fatalf("write still fails 3s after a 300ms deadline: %v", err)
		}
	}
	stop() // with f still open: the unmount must fall back to a lazy one
	if ok, _ := iofs.Mounted(mnt); ok {
		t.Errorf("%s still mounted after serve stopped", mnt)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
	if !strings.Contains(out.String(), "serving "+backing+" at "+mnt) {
		t.Errorf("serve printed %q", out.String())
	}
}
