package iofs

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestReadAfterWrite is PostgreSQL's WAL traffic in miniature: one process
// rewrites a page in place (a WAL page as it fills) and fsyncs it, slowly
// (the fault), while readers with long-lived descriptors (walsenders) read
// it back after each write returned, and other processes open the file and
// look at it (backends, the instance manager). A reader must never see the
// page older than the last write that returned before its read began.
//
// With the kernel's page cache in front of the mount (no FOPEN_DIRECT_IO),
// an open or an attribute refresh (auto_inval_data) can drop a page the
// writer has filled but whose WRITE the server has not applied yet; a read
// then caches the server's older copy, and readers see it until the page
// is written again. On CloudNativePG a replica streamed such a stale page
// (zeros where the primary had a record), found "invalid record length"
// and never streamed again.
func TestReadAfterWrite(t *testing.T) {
	ctl := NewControl()
	m := mountT(t, ctl)
	path := filepath.Join(m.Dir, "pg_wal", "segment")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	const pages, pageSize = 4, 8192
	if err := os.WriteFile(path, make([]byte, pages*pageSize), 0o600); err != nil {
		t.Fatal(err)
	}
	// Every fsync under pg_wal/ is slow, as with primary-wal-slow.
	if _, err := ctl.Set(Spec{FsyncDelay: 2 * time.Millisecond, DelayPrefix: "pg_wal/"}, time.Minute, "test"); err != nil {
		t.Fatal(err)
	}
	w, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var acked [pages]atomic.Uint64
	deadline := time.Now().Add(4 * time.Second)
	var wg sync.WaitGroup
	var stale atomic.Int64
	var firstStale atomic.Value
	// The writer: page i%pages gets the sequence number i, written whole,
	// then fsynced; acked says what returned.
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, pageSize)
		for i := uint64(1); time.Now().Before(deadline); i++ {
			for j := 0; j < pageSize; j += 8 {
				binary.LittleEndian.PutUint64(buf[j:], i)
			}
			p := int(i % pages)
			if _, err := w.WriteAt(buf, int64(p*pageSize)); err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
			if err := w.Sync(); err != nil {
				t.Errorf("fsync %d: %v", i, err)
				return
			}
			acked[p].Store(i)
		}
	}()
	// Readers with long-lived descriptors check every page they read.
	for r := 0; r < 2; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			buf := make([]byte, pageSize)
			for n := 0; time.Now().Before(deadline); n++ {
				p := n % pages
				want := acked[p].Load()
				if _, err := f.ReadAt(buf, int64(p*pageSize)); err != nil {
					t.Errorf("read: %v", err)
					return
				}
				if got := binary.LittleEndian.Uint64(buf); got < want {
					if stale.Add(1) == 1 {
						firstStale.Store([2]uint64{got, want})
					}
				}
			}
		}()
	}
	// Openers: each open (and stat) may invalidate the kernel's cache.
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, pageSize)
		for time.Now().Before(deadline) {
			fd, err := syscall.Open(path, syscall.O_RDONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			var st syscall.Stat_t
			_ = syscall.Fstat(fd, &st)
			_, _ = syscall.Pread(fd, buf, 0)
			_ = syscall.Close(fd)
		}
	}()
	wg.Wait()
	if n := stale.Load(); n > 0 {
		v := firstStale.Load().([2]uint64)
		t.Fatalf("%d reads returned a page older than a write that had returned (first: sequence %d after %d was written)", n, v[0], v[1])
	}
}

// TestNoKernelPageCache: the mount keeps no page cache of its own. A page
// read through the mount and then changed in the backing file (as the
// server's own write lands) must read back changed through the same open
// descriptor at once. With the kernel's page cache in front of the mount
// the second read returns the cached, older copy.
func TestNoKernelPageCache(t *testing.T) {
	m := mountT(t, NewControl())
	const size = 8192
	old, changed := make([]byte, size), make([]byte, size)
	for i := range changed {
		changed[i] = 0x5a
	}
	if err := os.WriteFile(filepath.Join(m.Backing, "f"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(m.Dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	b, err := os.OpenFile(filepath.Join(m.Backing, "f"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.WriteAt(changed, 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	if buf[0] != 0x5a || buf[size-1] != 0x5a {
		t.Fatalf("read %#x..%#x through the mount after the backing file changed to 0x5a: the kernel served its cached page", buf[0], buf[size-1])
	}
}
