package history

import (
	"bufio"
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
type Appender struct {
	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	err    error
	done   chan struct{}
	wg     sync.WaitGroup
	closed bool
}

// NewAppender creates (or truncates) path and starts its flush loop.
func NewAppender(path string) (*Appender, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	a := &Appender{f: f, w: bufio.NewWriterSize(f, 256<<10), done: make(chan struct{})}
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
		a.mu.Lock()
		if a.err == nil && a.w.Buffered() > 0 {
			a.err = a.w.Flush()
		}
		a.mu.Unlock()
		if n%syncEvery == 0 {
			// fsync outside the lock: writers go on while the disk works.
			_ = a.f.Sync()
		}
	}
}

// Append writes one record; rec must end with a newline.
func (a *Appender) Append(rec []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.appendLocked(rec)
}

func (a *Appender) appendLocked(rec []byte) error {
	if a.closed {
		return fmt.Errorf("appending to %s: closed", a.f.Name())
	}
	if a.err != nil {
		return fmt.Errorf("writing %s: %w", a.f.Name(), a.err)
	}
	if _, err := a.w.Write(rec); err != nil {
		a.err = err
		return fmt.Errorf("writing %s: %w", a.f.Name(), err)
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
	err := a.err
	if err == nil {
		err = a.w.Flush()
	}
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
