package history

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// FlushInterval is how often appenders push buffered records to the kernel.
// A harness killed at any moment loses at most this much of its records.
const FlushInterval = 200 * time.Millisecond

// syncEvery is how many flushes pass between two fsyncs.
const syncEvery = 5

// Appender streams newline-terminated records to a file, flushing them to the
// kernel every FlushInterval and to disk every second, so that a killed
// harness leaves a readable prefix. It is safe for concurrent use.
//
// Appending only copies the record into memory: the flush loop swaps the
// buffer for a spare and writes it outside the lock, so that a writer (the
// workload's one loop, driving every client) never waits for the file.
type Appender struct {
	mu     sync.Mutex // guards buf, spare, err, closed
	buf    []byte     // records not yet handed to the kernel
	spare  []byte
	err    error
	closed bool

	wmu  sync.Mutex // orders the writes to f; taken before mu
	f    *os.File
	done chan struct{}
	wg   sync.WaitGroup
}

// maxBuffered bounds the records held in memory: an append that finds
// more waits for them to be written (a disk slower than the records come).
const maxBuffered = 8 << 20

// NewAppender creates (or truncates) path and starts its flush loop.
func NewAppender(path string) (*Appender, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	a := &Appender{f: f, buf: make([]byte, 0, 256<<10), spare: make([]byte, 0, 256<<10), done: make(chan struct{})}
	a.wg.Add(1)
	go a.flushLoop()
	return a, nil
}

func (a *Appender) flushLoop() {
	defer a.wg.Done()
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-a.done:
			return
		case <-t.C:
		}
		a.flush()
		if n%syncEvery == 0 {
			_ = a.f.Sync()
		}
	}
}

// flush hands the buffered records to the kernel, without holding up
// appends meanwhile.
func (a *Appender) flush() {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	a.mu.Lock()
	b := a.buf
	if len(b) == 0 || a.err != nil {
		a.mu.Unlock()
		return
	}
	a.buf, a.spare = a.spare[:0], nil
	a.mu.Unlock()
	_, err := a.f.Write(b)
	a.mu.Lock()
	if err != nil && a.err == nil {
		a.err = err
	}
	a.spare = b[:0]
	a.mu.Unlock()
}

// Append writes one record; rec must end with a newline.
func (a *Appender) Append(rec []byte) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return fmt.Errorf("appending to %s: closed", a.f.Name())
	}
	if a.err != nil {
		err := a.err
		a.mu.Unlock()
		return fmt.Errorf("writing %s: %w", a.f.Name(), err)
	}
	a.buf = append(a.buf, rec...)
	full := len(a.buf) >= maxBuffered
	a.mu.Unlock()
	if full {
		a.flush()
	}
	return nil
}

// Close flushes, syncs and closes the file. It is idempotent.
func (a *Appender) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	close(a.done)
	a.mu.Unlock()
	a.wg.Wait()
	a.flush()
	a.mu.Lock()
	err := a.err
	a.mu.Unlock()
	if serr := a.f.Sync(); err == nil {
		err = serr
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("closing %s: %w", a.f.Name(), err)
	}
	return nil
}
