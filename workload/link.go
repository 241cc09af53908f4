package workload

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A link is one client's connection once pgx has set it up: the loop
// writes requests to it and learns of the answers either from the poller
// (a plain socket: rawLink) or from a reader goroutine (anything else, e.g.
// TLS: streamLink).
type link interface {
	// write sends b. sent says whether any of it may have left the
	// client: a write that failed with nothing sent certainly did not
	// happen.
	write(b []byte, deadline time.Time) (sent bool, err error)
	close()
}

// rawLink is a plain TCP or Unix socket the loop reads and writes with
// system calls, watched by the poller.
type rawLink struct {
	fd  int
	gen int32
}

// errBufferFull: a request did not fit in the socket's send buffer. With
// one request of some hundred bytes in flight per connection it does not
// happen short of a broken socket, so it is an error rather than a wait.
var errBufferFull = errors.New("socket send buffer full")

func (l *rawLink) write(b []byte, _ time.Time) (bool, error) {
	for n := 0; n < len(b); {
		m, err := unix.Write(l.fd, b[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			err = errBufferFull
		}
		if err != nil {
			return n > 0, fmt.Errorf("sending write: %w", err)
		}
		n += m
	}
	return true, nil
}

// read reads what the socket holds into buf. io.EOF-like ends are errors.
func (l *rawLink) read(buf []byte) (int, error) {
	for {
		n, err := unix.Read(l.fd, buf)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return 0, nil
		case err != nil:
			return 0, fmt.Errorf("reading answer: %w", err)
		case n == 0:
			return 0, errors.New("server closed the connection")
		}
		return n, nil
	}
}

func (l *rawLink) close() { _ = unix.Close(l.fd) }

// detach takes the socket of a plain connection away from Go's runtime: it
// returns a non-blocking duplicate of its descriptor and closes the
// original. ok is false, and conn untouched, for connections that are not
// plain sockets (TLS).
func detach(conn net.Conn) (fd int, ok bool, err error) {
	switch conn.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return -1, false, nil
	}
	sc, err := conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return -1, false, fmt.Errorf("taking over connection: %w", err)
	}
	var derr error
	cerr := sc.Control(func(orig uintptr) {
		fd, derr = unix.FcntlInt(orig, unix.F_DUPFD_CLOEXEC, 0)
	})
	if cerr == nil {
		cerr = derr
	}
	if cerr != nil {
		return -1, false, fmt.Errorf("taking over connection: %w", cerr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return -1, false, fmt.Errorf("taking over connection: %w", err)
	}
	_ = conn.Close() // the duplicate keeps the socket open
	return fd, true, nil
}

// streamLink is a connection the loop cannot poll (TLS): a goroutine reads
// it and hands each chunk to the loop.
type streamLink struct {
	conn   net.Conn
	client int
	once   sync.Once
}

// chunk is what a stream reader read: data, or the error that ended it.
type chunk struct {
	link *streamLink
	data []byte
	err  error
}

func (l *streamLink) write(b []byte, deadline time.Time) (bool, error) {
	_ = l.conn.SetWriteDeadline(deadline)
	n, err := l.conn.Write(b)
	if err != nil {
		return n > 0, fmt.Errorf("sending write: %w", err)
	}
	return true, nil
}

// readLoop forwards what the connection reads until it fails or is closed,
// calling wake after each chunk; it gives up a chunk when stop is closed.
func (l *streamLink) readLoop(out chan<- chunk, stop <-chan struct{}, wake func()) {
	buf := make([]byte, 4096)
	for {
		n, err := l.conn.Read(buf)
		// The loop may read the chunk after the next Read: hand it a copy
		// the size of the answer (some hundred bytes), not the buffer.
		c := chunk{link: l, data: bytes.Clone(buf[:n])}
		if err != nil {
			c.err = fmt.Errorf("reading answer: %w", err)
		}
		select {
		case out <- c:
			wake()
		case <-stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func (l *streamLink) close() { l.once.Do(func() { _ = l.conn.Close() }) }
