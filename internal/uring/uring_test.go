package uring

import (
	"errors"
	"testing"

	"github.com/pgchaos/pgchaos/internal/socktest"
	"golang.org/x/sys/unix"
)

func TestWritesInOneSubmit(t *testing.T) {
	r, err := New(4)
	if err != nil {
		t.Skipf("io_uring unavailable here (%v): the workload writes one at a time", err)
	}
	defer r.Close()
	a, b := socktest.Pair(t)
	c, d := socktest.Pair(t)
	closed, _ := socktest.Pair(t)
	bad, err := unix.Dup(closed)
	if err != nil {
		t.Fatal(err)
	}
	_ = unix.Close(bad) // a descriptor number that is not open
	for round := 0; round < 3; round++ {
		writes := []struct {
			fd  int
			msg string
		}{{a, "first"}, {c, "second!"}, {a, "third"}, {bad, "lost"}}
		for i, w := range writes {
			if err := r.Queue(w.fd, []byte(w.msg), uint64(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Queue(a, []byte("x"), 9); !errors.Is(err, ErrFull) {
			t.Fatalf("fifth write in a ring of 4: %v, want ErrFull", err)
		}
		if r.Queued() != 4 {
			t.Fatalf("queued %d, want 4", r.Queued())
		}
		res := map[uint64]int32{}
		if err := r.Submit(func(tag uint64, n int32) { res[tag] = n }); err != nil {
			t.Fatal(err)
		}
		if len(res) != 4 || res[0] != 5 || res[1] != 7 || res[2] != 5 || res[3] != -int32(unix.EBADF) {
			t.Fatalf("round %d: results %v, want 0:5 1:7 2:5 3:-EBADF", round, res)
		}
		if r.Queued() != 0 {
			t.Fatalf("queued %d after Submit", r.Queued())
		}
		buf := make([]byte, 64)
		n, err := unix.Read(b, buf)
		if err != nil || string(buf[:n]) != "firstthird" {
			t.Fatalf("round %d: peer of a read %q (%v), want the two writes in order", round, buf[:n], err)
		}
		n, err = unix.Read(d, buf)
		if err != nil || string(buf[:n]) != "second!" {
			t.Fatalf("round %d: peer of c read %q (%v)", round, buf[:n], err)
		}
	}
	if err := r.Submit(func(uint64, int32) { t.Error("completion with nothing queued") }); err != nil {
		t.Fatal(err)
	}
}
