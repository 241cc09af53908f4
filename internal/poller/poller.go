//go:build linux

package poller

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Event is one readiness report: the token and generation given to Add.
type Event struct {
	Token, Gen int32
}

// Poller is an epoll instance with a wake-up eventfd. Wait must be called
// from one goroutine at a time; Wake from any.
type Poller struct {
	ep, wake int
	raw      []unix.EpollEvent
	out      []Event
}

// wakeToken marks the eventfd's readiness; Add refuses it.
const wakeToken = -1

// New creates a poller reporting up to batch events per Wait.
func New(batch int) (*Poller, error) {
	if batch <= 0 {
		batch = 64
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("creating epoll instance: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		_ = unix.Close(ep)
		return nil, fmt.Errorf("creating eventfd: %w", err)
	}
	p := &Poller{ep: ep, wake: wake, raw: make([]unix.EpollEvent, batch), out: make([]Event, 0, batch)}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: wakeToken}); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("watching eventfd: %w", err)
	}
	return p, nil
}

// Add watches fd for readability (and hang-up, and errors), reported with
// token and gen. fd stays the caller's; Remove it before closing it.
func (p *Poller) Add(fd int, token, gen int32) error {
	if token == wakeToken {
		return errors.New("poller: token -1 is reserved")
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: token, Pad: gen}
	if err := unix.EpollCtl(p.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("watching fd %d: %w", fd, err)
	}
	return nil
}

// Remove stops watching fd.
func (p *Poller) Remove(fd int) error {
	if err := unix.EpollCtl(p.ep, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return fmt.Errorf("unwatching fd %d: %w", fd, err)
	}
	return nil
}

// Wait blocks until a watched fd is ready, Wake is called, or timeout
// passes (rounded up to a millisecond; negative waits for ever). It returns
// the ready fds' events, valid until the next Wait, and whether Wake was
// called since the last Wait.
func (p *Poller) Wait(timeout time.Duration) ([]Event, bool, error) {
	deadline := time.Now().Add(timeout)
	var n int
	for {
		ms := -1
		if timeout >= 0 {
			ms = int((time.Until(deadline) + time.Millisecond - 1) / time.Millisecond)
			ms = max(ms, 0)
		}
		var err error
		n, err = unix.EpollWait(p.ep, p.raw, ms)
		if err == nil {
			break
		}
		// A signal (the Go runtime's preemption, a profiler) interrupts
		// the wait: wait on for what is left of the timeout.
		if !errors.Is(err, unix.EINTR) {
			return nil, false, fmt.Errorf("waiting on epoll: %w", err)
		}
		if timeout >= 0 && !time.Now().Before(deadline) {
			return p.out[:0], false, nil
		}
	}
	out, woken := p.out[:0], false
	for _, ev := range p.raw[:n] {
		if ev.Fd == wakeToken {
			var b [8]byte
			_, _ = unix.Read(p.wake, b[:]) // resets the counter; EAGAIN if raced
			woken = true
			continue
		}
		out = append(out, Event{Token: ev.Fd, Gen: ev.Pad})
	}
	p.out = out
	return out, woken, nil
}

// Wake makes the current or next Wait return. Safe from any goroutine.
func (p *Poller) Wake() {
	one := [8]byte{1}
	// The eventfd's counter only saturates after 2^64-2 wakes, and a full
	// counter already guarantees a wake-up: errors need no handling.
	_, _ = unix.Write(p.wake, one[:])
}

// Close releases the epoll instance and the eventfd.
func (p *Poller) Close() error {
	err := unix.Close(p.wake)
	if cerr := unix.Close(p.ep); err == nil {
		err = cerr
	}
	return err
}
