package iofs

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// FSName is the filesystem type's name: mounts appear in /proc/mounts as
// type "fuse.pgchaos-iofs" with the backing directory as source.
const FSName = "pgchaos-iofs"

// cacheTimeout is how long the kernel may cache names and attributes.
// Every change goes through the mount, so the cache never goes stale.
const cacheTimeout = time.Second

// Available says why a FUSE mount cannot be made here (nil: it can).
func Available() error {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fmt.Errorf("no FUSE device: %w (load the fuse module, or give the container /dev/fuse)", err)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("mounting FUSE with allow_other needs root (euid %d)", os.Geteuid())
	}
	return nil
}

// Mount is a mounted passthrough filesystem.
type Mount struct {
	// Backing is the directory the mount mirrors.
	Backing string
	// Dir is the mount point.
	Dir string

	server *fuse.Server
}

// New mounts a passthrough of backing at dir, governed by ctl. Both must
// be existing directories (absolute or relative); dir should be empty.
// The returned Mount is serving when New returns.
func New(backing, dir string, ctl *Control) (*Mount, error) {
	if ctl == nil {
		return nil, fmt.Errorf("mounting %s at %s: no Control", backing, dir)
	}
	if err := Available(); err != nil {
		return nil, fmt.Errorf("mounting %s at %s: %w", backing, dir, err)
	}
	b, err := checkDir("backing directory", backing)
	if err != nil {
		return nil, err
	}
	d, err := checkDir("mount point", dir)
	if err != nil {
		return nil, err
	}
	if b == d || strings.HasPrefix(d, b+"/") || strings.HasPrefix(b, d+"/") {
		return nil, fmt.Errorf("mounting %s at %s: the backing directory and the mount point must not contain each other", b, d)
	}
	lb, err := fs.NewLoopbackRoot(b)
	if err != nil {
		return nil, fmt.Errorf("mounting %s at %s: %w", b, d, err)
	}
	root := &node{LoopbackNode: lb.(*fs.LoopbackNode), ctl: ctl}
	// The root must be the wrapper, so that its children are wrapped too.
	root.RootData.RootNode = root
	timeout := cacheTimeout
	server, err := fs.Mount(d, root, &fs.Options{
		EntryTimeout: &timeout,
		AttrTimeout:  &timeout,
		MountOptions: fuse.MountOptions{
			AllowOther:        true,
			Options:           []string{"default_permissions"},
			FsName:            b,
			Name:              FSName,
			DirectMountStrict: true,
			MaxBackground:     64,
			// go-fuse logs opcodes it does not implement (POLL): noise.
			Logger: log.New(io.Discard, "", 0),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("mounting %s at %s: %w", b, d, err)
	}
	return &Mount{Backing: b, Dir: d, server: server}, nil
}

// checkDir resolves a directory's path and checks that it is one.
func checkDir(what, dir string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("no %s given", what)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", what, dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", what, abs, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s %s is not a directory", what, abs)
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return "", fmt.Errorf("%s %s: %w", what, dir, err)
	}
	return abs, nil
}

// Unmount unmounts the filesystem. When files are still open on it (a
// server that has not stopped), the ordinary unmount fails with EBUSY and
// Unmount detaches the mount lazily instead (MNT_DETACH): the path is free
// at once, open files keep working until closed, and the kernel ends the
// FUSE connection after the last one. Unmount is idempotent.
func (m *Mount) Unmount() error {
	if m.server == nil {
		return nil
	}
	err := m.server.Unmount() // retries an ordinary unmount for ~0.3 s
	if err == nil {
		m.server = nil
		return nil
	}
	if lerr := syscall.Unmount(m.Dir, syscall.MNT_DETACH); lerr != nil && !errors.Is(lerr, syscall.EINVAL) {
		// EINVAL: no longer a mount point (someone else unmounted it).
		return fmt.Errorf("unmounting %s: %w; lazy unmount: %w", m.Dir, err, lerr)
	}
	m.server = nil
	return nil
}

// Mounted reports whether dir is a mount point of this package's type,
// from /proc/self/mountinfo.
func Mounted(dir string) (bool, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false, fmt.Errorf("checking mount %s: %w", dir, err)
	}
	points, err := mountPoints()
	if err != nil {
		return false, fmt.Errorf("checking mount %s: %w", dir, err)
	}
	for _, p := range points {
		if p == abs {
			return true, nil
		}
	}
	return false, nil
}

// mountPoints lists the mount points of this package's type.
func mountPoints() ([]string, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("reading mount table: %w", err)
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		// id parent major:minor root mount-point options [tags...] - fstype source super-options
		fields := strings.Fields(line)
		sep := -1
		for k, f := range fields {
			if f == "-" {
				sep = k
				break
			}
		}
		if sep < 5 || sep+1 >= len(fields) {
			continue
		}
		if fields[sep+1] == "fuse."+FSName {
			points = append(points, unescapeMount(fields[4]))
		}
	}
	return points, nil
}

// UnmountStale detaches the mounts of this package's type at or under dir
// whose server is gone (a process killed while serving leaves its mount
// behind, answering ENOTCONN), and returns their paths. Live mounts are
// left alone.
func UnmountStale(dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("finding stale mounts under %s: %w", dir, err)
	}
	points, err := mountPoints()
	if err != nil {
		return nil, fmt.Errorf("finding stale mounts under %s: %w", abs, err)
	}
	var done []string
	var errs []error
	for _, p := range points {
		if p != abs && !strings.HasPrefix(p, strings.TrimSuffix(abs, "/")+"/") {
			continue
		}
		if !dead(p) {
			continue
		}
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("unmounting stale %s: %w", p, err))
			continue
		}
		done = append(done, p)
	}
	return done, errors.Join(errs...)
}

// dead reports whether the mount at p has lost its server. Opening the
// directory always reaches the server (a stat may be answered from the
// kernel's attribute cache).
func dead(p string) bool {
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err == nil {
		_ = syscall.Close(fd)
	}
	return errors.Is(err, syscall.ENOTCONN)
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for k := 0; k < len(s); k++ {
		if s[k] == '\\' && k+3 < len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[k+1 : k+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + c - '0'
			}
			if ok {
				b.WriteByte(v)
				k += 3
				continue
			}
		}
		b.WriteByte(s[k])
	}
	return b.String()
}
