package iofs

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// benchFile opens a 16 MiB file (a WAL segment's size) in dir, written
// with zeros and synced (as PostgreSQL initialises a segment), so that
// every op overwrites allocated blocks.
func benchFile(b *testing.B, dir string) *os.File {
	b.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "seg"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.Close() })
	if _, err := f.Write(make([]byte, 16<<20)); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	return f
}

// benchTargets runs fn against a plain directory and against the mount,
// without a fault and with a fault on another prefix (the cost of matching).
func benchTargets(b *testing.B, fn func(b *testing.B, f *os.File)) {
	b.Run("direct", func(b *testing.B) {
		backing, _ := tempDirs(b)
		fn(b, benchFile(b, backing))
	})
	b.Run("fuse", func(b *testing.B) {
		m := mountT(b, NewControl())
		fn(b, benchFile(b, m.Dir))
	})
	b.Run("fuse-fault-elsewhere", func(b *testing.B) {
		ctl := NewControl()
		if _, err := ctl.Set(Spec{FsyncDelay: time.Second, WriteDelay: time.Second, DelayPrefix: "other/"}, time.Hour, "bench"); err != nil {
			b.Fatal(err)
		}
		m := mountT(b, ctl)
		fn(b, benchFile(b, m.Dir))
	})
}

// BenchmarkWriteFdatasync is a commit's I/O: an 8 KiB write then
// fdatasync, at the next offset of a 16 MiB segment.
func BenchmarkWriteFdatasync(b *testing.B) {
	benchTargets(b, func(b *testing.B, f *os.File) {
		buf := make([]byte, 8192)
		b.SetBytes(int64(len(buf)))
		var off int64
		for b.Loop() {
			if _, err := f.WriteAt(buf, off); err != nil {
				b.Fatal(err)
			}
			if err := syscall.Fdatasync(int(f.Fd())); err != nil {
				b.Fatal(err)
			}
			off = (off + int64(len(buf))) % (16 << 20)
		}
	})
}

// BenchmarkWrite is bulk writing without sync: 128 KiB writes.
func BenchmarkWrite(b *testing.B) {
	benchTargets(b, func(b *testing.B, f *os.File) {
		buf := make([]byte, 128<<10)
		b.SetBytes(int64(len(buf)))
		var off int64
		for b.Loop() {
			if _, err := f.WriteAt(buf, off); err != nil {
				b.Fatal(err)
			}
			off = (off + int64(len(buf))) % (16 << 20)
		}
	})
}

// BenchmarkRead is reading 8 KiB pages (from the page cache).
func BenchmarkRead(b *testing.B) {
	benchTargets(b, func(b *testing.B, f *os.File) {
		buf := make([]byte, 8192)
		b.SetBytes(int64(len(buf)))
		var off int64
		for b.Loop() {
			if _, err := f.ReadAt(buf, off); err != nil {
				b.Fatal(err)
			}
			off = (off + int64(len(buf))) % (16 << 20)
		}
	})
}
