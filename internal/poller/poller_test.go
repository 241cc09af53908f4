//go:build linux

package poller

import (
	"runtime"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/internal/socktest"
	"golang.org/x/sys/unix"
)

func TestReadinessWakeAndTimeout(t *testing.T) {
	p, err := New(4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, b := socktest.Pair(t)
	c, d := socktest.Pair(t)
	if err := p.Add(a, 7, 3); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(c, 8, 1); err != nil {
		t.Fatal(err)
	}
	// Nothing ready: the timeout passes, no events, not woken.
	start := time.Now()
	evs, woken, err := p.Wait(20 * time.Millisecond)
	if err != nil || len(evs) != 0 || woken {
		t.Fatalf("idle wait: %v %v %v", evs, woken, err)
	}
	if el := time.Since(start); el < 20*time.Millisecond {
		t.Errorf("idle wait returned after %s, before its 20ms timeout", el)
	}
	// Data on one socket: exactly its token and generation.
	if _, err := unix.Write(b, []byte("x")); err != nil {
		t.Fatal(err)
	}
	evs, woken, err = p.Wait(time.Second)
	if err != nil || woken || len(evs) != 1 || evs[0] != (Event{Token: 7, Gen: 3}) {
		t.Fatalf("after a write: %v %v %v; want token 7 gen 3 only", evs, woken, err)
	}
	// Level-triggered: unread data is reported again.
	evs, _, _ = p.Wait(time.Second)
	if len(evs) != 1 || evs[0].Token != 7 {
		t.Fatalf("unread data not reported again: %v", evs)
	}
	var buf [8]byte
	if _, err := unix.Read(a, buf[:]); err != nil {
		t.Fatal(err)
	}
	// A wake from another goroutine ends a wait that would last for ever.
	go func() { time.Sleep(10 * time.Millisecond); p.Wake() }()
	evs, woken, err = p.Wait(-1)
	if err != nil || !woken || len(evs) != 0 {
		t.Fatalf("woken wait: %v %v %v", evs, woken, err)
	}
	// The wake is consumed: the next wait times out.
	if _, woken, _ = p.Wait(time.Millisecond); woken {
		t.Errorf("one Wake reported twice")
	}
	// A peer that hangs up is reported (so a reader sees EOF); a removed fd
	// is not.
	_ = unix.Close(d)
	evs, _, _ = p.Wait(time.Second)
	if len(evs) != 1 || evs[0].Token != 8 {
		t.Fatalf("hang-up: %v; want token 8", evs)
	}
	if err := p.Remove(c); err != nil {
		t.Fatal(err)
	}
	if evs, _, _ = p.Wait(5 * time.Millisecond); len(evs) != 0 {
		t.Errorf("removed fd reported: %v", evs)
	}
	if err := p.Add(a, -1, 0); err == nil {
		t.Errorf("reserved token accepted")
	}
}

// TestWaitSurvivesSignals: a signal to the waiting thread (the Go runtime's
// preemption uses SIGURG) interrupts epoll_wait; Wait must wait on rather
// than return early with nothing.
func TestWaitSurvivesSignals(t *testing.T) {
	p, err := New(4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	tids := make(chan int, 1)
	type result struct {
		evs   []Event
		woken bool
		err   error
		took  time.Duration
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		start := time.Now()
		evs, woken, err := p.Wait(-1)
		res <- result{evs, woken, err, time.Since(start)}
	}()
	tid := <-tids
	for i := 0; i < 50; i++ {
		time.Sleep(time.Millisecond)
		_ = unix.Tgkill(unix.Getpid(), tid, unix.SIGURG)
	}
	p.Wake()
	r := <-res
	if r.err != nil || !r.woken || len(r.evs) != 0 {
		t.Fatalf("wait under signals returned after %s: %v %v %v; want woken by Wake after ~50ms", r.took, r.evs, r.woken, r.err)
	}
	// A timed wait keeps its length under signals too.
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tids <- unix.Gettid()
		start := time.Now()
		evs, woken, err := p.Wait(40 * time.Millisecond)
		res <- result{evs, woken, err, time.Since(start)}
	}()
	tid = <-tids
	for i := 0; i < 20; i++ {
		time.Sleep(time.Millisecond)
		_ = unix.Tgkill(unix.Getpid(), tid, unix.SIGURG)
	}
	if r = <-res; r.err != nil || r.woken || r.took < 40*time.Millisecond {
		t.Fatalf("40ms wait under signals: returned after %s (%v %v)", r.took, r.woken, r.err)
	}
}
