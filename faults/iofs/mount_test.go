package iofs

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tempDirs makes a fresh base directory with backing/ and mnt/ in it, all
// 0755 so that an unprivileged server (postgres) can reach the mount.
func tempDirs(t testing.TB) (backing, mnt string) {
	t.Helper()
	base, err := os.MkdirTemp("", "iofs-")
	if err != nil {
		t.Fatal(err)
	}
	backing, mnt = filepath.Join(base, "backing"), filepath.Join(base, "mnt")
	for _, d := range []string{backing, mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if ok, _ := Mounted(mnt); ok {
			t.Errorf("%s is still mounted", mnt)
			return // never remove through a live mount
		}
		if err := os.RemoveAll(base); err != nil {
			t.Errorf("removing %s: %v", base, err)
		}
	})
	return backing, mnt
}

// mountT mounts a passthrough for a test, skipping (with the reason) where
// FUSE cannot be mounted. The mount is gone when the test ends.
func mountT(t testing.TB, ctl *Control) *Mount {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("FUSE unavailable: %v", err)
	}
	backing, mnt := tempDirs(t)
	m, err := New(backing, mnt, ctl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
		if ok, err := Mounted(mnt); ok || err != nil {
			t.Errorf("after Unmount: mounted=%v err=%v", ok, err)
		}
	})
	return m
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPassthrough(t *testing.T) {
	ctl := NewControl()
	m := mountT(t, ctl)
	if ok, err := Mounted(m.Dir); !ok || err != nil {
		t.Fatalf("Mounted(%s) = %v, %v", m.Dir, ok, err)
	}
	writeFile(t, filepath.Join(m.Dir, "d/a"), "hello")
	if b, err := os.ReadFile(filepath.Join(m.Backing, "d/a")); err != nil || string(b) != "hello" {
		t.Fatalf("backing d/a = %q, %v", b, err)
	}
	writeFile(t, filepath.Join(m.Backing, "d/b"), "from below")
	if b, err := os.ReadFile(filepath.Join(m.Dir, "d/b")); err != nil || string(b) != "from below" {
		t.Fatalf("mount d/b = %q, %v", b, err)
	}
	if err := os.Rename(filepath.Join(m.Dir, "d/a"), filepath.Join(m.Dir, "d/c")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("c", filepath.Join(m.Dir, "d/l")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(m.Dir, "d/l")); err != nil || string(b) != "hello" {
		t.Fatalf("through symlink = %q, %v", b, err)
	}
	if err := os.Link(filepath.Join(m.Dir, "d/c"), filepath.Join(m.Dir, "d/h")); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(m.Dir, "d/c"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(", world"); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(m.Backing, "d/h")); err != nil || string(b) != "hello, world" {
		t.Fatalf("hard link = %q, %v", b, err)
	}
	if err := os.Chown(filepath.Join(m.Dir, "d/c"), 12345, 12345); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(m.Backing, "d/c"), &st); err != nil || st.Uid != 12345 {
		t.Fatalf("chown through the mount: uid %d, %v", st.Uid, err)
	}
	if err := os.RemoveAll(filepath.Join(m.Dir, "d")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(m.Backing, "d")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("d still in the backing directory: %v", err)
	}
}

// timed returns how long f took, failing the test on its error.
func timed(t *testing.T, what string, f func() error) time.Duration {
	t.Helper()
	began := time.Now()
	if err := f(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return time.Since(began)
}

func TestDelays(t *testing.T) {
	ctl := NewControl()
	m := mountT(t, ctl)
	wal := filepath.Join(m.Dir, "pg_wal/seg")
	data := filepath.Join(m.Dir, "base/rel")
	writeFile(t, wal, "")
	writeFile(t, data, "")
	open := func(p string) *os.File {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		return f
	}
	fw, fd := open(wal), open(data)
	buf := make([]byte, 8192)
	write := func(f *os.File) func() error { return func() error { _, err := f.Write(buf); return err } }

	// Timings prove the delays; the counts prove what was not delayed
	// (a time bound would fail on a loaded machine).
	const fsyncDelay, writeDelay = 60 * time.Millisecond, 30 * time.Millisecond
	counts := func() Counts { return ctl.State().Counts }
	if _, err := ctl.Set(Spec{FsyncDelay: fsyncDelay, DelayPrefix: "pg_wal/"}, time.Minute, "test"); err != nil {
		t.Fatal(err)
	}
	if d := timed(t, "fsync pg_wal/seg", fw.Sync); d < fsyncDelay {
		t.Errorf("fsync of pg_wal/seg took %s, want >= %s", d, fsyncDelay)
	}
	if c := counts(); c.DelayedFsyncs != 1 {
		t.Errorf("after one fsync under pg_wal/: %+v", c)
	}
	timed(t, "fsync base/rel", fd.Sync)
	timed(t, "write pg_wal/seg", write(fw))
	if c := counts(); c.DelayedFsyncs != 1 || c.DelayedWrites != 0 {
		t.Errorf("an fsync outside the prefix or a write was delayed: %+v", c)
	}
	if _, err := ctl.Set(Spec{WriteDelay: writeDelay}, time.Minute, "test"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{fw, fd} {
		if d := timed(t, "write", write(f)); d < writeDelay {
			t.Errorf("write of %s took %s, want >= %s", f.Name(), d, writeDelay)
		}
	}
	if c := counts(); c.DelayedWrites != 2 {
		t.Errorf("after two writes with a write delay everywhere: %+v", c)
	}
	ctl.Clear("test")
	timed(t, "fsync after clear", fw.Sync)
	timed(t, "write after clear", write(fw))
	if c := counts(); c.DelayedFsyncs != 1 || c.DelayedWrites != 2 {
		t.Errorf("delays after Clear: %+v", c)
	}
}

func wantErrno(t *testing.T, what string, err error, want syscall.Errno) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func TestENOSPC(t *testing.T) {
	ctl := NewControl()
	m := mountT(t, ctl)
	wal := filepath.Join(m.Dir, "pg_wal/seg")
	data := filepath.Join(m.Dir, "base/rel")
	writeFile(t, wal, "old wal")
	writeFile(t, data, "")
	fw, err := os.OpenFile(wal, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()

	if _, err := ctl.Set(Spec{ENOSPC: true, ENOSPCPrefix: "pg_wal/"}, time.Minute, "test"); err != nil {
		t.Fatal(err)
	}
	_, err = fw.WriteAt([]byte("new"), 0)
	wantErrno(t, "write to pg_wal/seg", err, syscall.ENOSPC)
	wantErrno(t, "fallocate pg_wal/seg", syscall.Fallocate(int(fw.Fd()), 0, 0, 1<<20), syscall.ENOSPC)
	_, err = os.Create(filepath.Join(m.Dir, "pg_wal/new"))
	wantErrno(t, "create pg_wal/new", err, syscall.ENOSPC)
	wantErrno(t, "mkdir pg_wal/dir", os.Mkdir(filepath.Join(m.Dir, "pg_wal/dir"), 0o755), syscall.ENOSPC)
	wantErrno(t, "symlink pg_wal/l", os.Symlink("seg", filepath.Join(m.Dir, "pg_wal/l")), syscall.ENOSPC)
	if b, err := os.ReadFile(wal); err != nil || string(b) != "old wal" {
		t.Errorf("read of pg_wal/seg under ENOSPC: %q, %v", b, err)
	}
	if err := os.WriteFile(data, []byte("fine"), 0o644); err != nil {
		t.Errorf("write outside the prefix: %v", err)
	}
	if err := os.Remove(filepath.Join(m.Dir, "base/rel")); err != nil {
		t.Errorf("unlink under ENOSPC: %v", err)
	}
	// Everything.
	if _, err := ctl.Set(Spec{ENOSPC: true}, time.Minute, "test"); err != nil {
		t.Fatal(err)
	}
	wantErrno(t, "mkdir x", os.Mkdir(filepath.Join(m.Dir, "x"), 0o755), syscall.ENOSPC)
	wantErrno(t, "write base/rel2", os.WriteFile(filepath.Join(m.Dir, "base/rel2"), []byte("x"), 0o644), syscall.ENOSPC)

	ctl.Clear("test")
	if _, err := fw.WriteAt([]byte("new"), 0); err != nil {
		t.Errorf("write after Clear: %v", err)
	}
	if err := os.Mkdir(filepath.Join(m.Dir, "x"), 0o755); err != nil {
		t.Errorf("mkdir after Clear: %v", err)
	}
}

// TestUnmountWithOpenFile: a file held open (a server that never stopped)
// makes the ordinary unmount fail; Unmount detaches lazily and the path is
// free at once.
func TestUnmountWithOpenFile(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("FUSE unavailable: %v", err)
	}
	backing, mnt := tempDirs(t)
	m, err := New(backing, mnt, NewControl())
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(mnt, "held"), "x")
	f, err := os.Open(filepath.Join(mnt, "held"))
	if err != nil {
		_ = m.Unmount()
		t.Fatal(err)
	}
	defer f.Close()
	if err := m.Unmount(); err != nil {
		t.Fatalf("Unmount with a file open: %v", err)
	}
	if ok, err := Mounted(mnt); ok || err != nil {
		t.Fatalf("still mounted after Unmount: %v %v", ok, err)
	}
	if err := m.Unmount(); err != nil {
		t.Errorf("second Unmount: %v", err)
	}
	if _, err := os.Stat(filepath.Join(mnt, "held")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mount point still shows the mount's files: %v", err)
	}
}

func TestMountErrors(t *testing.T) {
	if err := Available(); err != nil {
		t.Skipf("FUSE unavailable: %v", err)
	}
	backing, mnt := tempDirs(t)
	file := filepath.Join(backing, "file")
	writeFile(t, file, "")
	for _, tc := range []struct {
		backing, dir, want string
	}{
		{backing, filepath.Join(mnt, "absent"), "mount point " + filepath.Join(mnt, "absent")},
		{filepath.Join(backing, "absent"), mnt, "backing directory " + filepath.Join(backing, "absent")},
		{backing, file, file + " is not a directory"},
		{backing, filepath.Join(backing), "must not contain each other"},
		{backing, "", "no mount point given"},
	} {
		m, err := New(tc.backing, tc.dir, NewControl())
		if err == nil {
			_ = m.Unmount()
			t.Errorf("New(%q, %q) succeeded", tc.backing, tc.dir)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %q): %v, want %q", tc.backing, tc.dir, err, tc.want)
		}
	}
}

// TestUnmountStale: a server killed with SIGKILL leaves a dead mount
// (ENOTCONN); UnmountStale detaches it and leaves live mounts alone.
func TestUnmountStale(t *testing.T) {
	live := mountT(t, NewControl())
	backing, mnt := tempDirs(t)
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childMountEnv+"="+backing+":"+mnt)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != "mounted\n" {
		_ = child.Process.Kill()
		_ = child.Wait()
		t.Fatalf("child: %q, %v", line, err)
	}
	_ = child.Process.Kill()
	_ = child.Wait()
	if _, err := os.ReadDir(mnt); !errors.Is(err, syscall.ENOTCONN) {
		t.Fatalf("reading a killed server's mount: %v, want ENOTCONN", err)
	}
	got, err := UnmountStale(filepath.Dir(mnt))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != mnt {
		t.Errorf("UnmountStale = %v, want [%s]", got, mnt)
	}
	if ok, _ := Mounted(live.Dir); !ok {
		t.Error("UnmountStale detached a live mount")
	}
}
