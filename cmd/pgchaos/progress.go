package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressSource supplies the figures of the live line.
type progressSource struct {
	Counts  func() (ok, fail, unknown int64)
	Primary func() string
	Fault   func() string
}

// progress prints a live line on a terminal (rewritten in place twice a
// second) and a plain line every five seconds otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	src   progressSource
	start time.Time
	stop  chan struct{}
	wg    sync.WaitGroup
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func startProgress(ctx context.Context, w io.Writer, src progressSource) *progress {
	p := &progress{w: w, tty: isTerminal(w), src: src, start: time.Now(), stop: make(chan struct{})}
	every := 5 * time.Second
	if p.tty {
		every = 500 * time.Millisecond
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		var lastOK int64
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-p.stop:
				return
			case now := <-t.C:
				ok, fail, unk := src.Counts()
				rate := float64(ok-lastOK) / now.Sub(last).Seconds()
				lastOK, last = ok, now
				p.print(ok, fail, unk, rate)
			}
		}
	}()
	return p
}

func (p *progress) print(ok, fail, unk int64, rate float64) {
	primary, fault := "-", "-"
	if p.src.Primary != nil {
		if s := p.src.Primary(); s != "" {
			primary = s
		}
	}
	if p.src.Fault != nil {
		if s := p.src.Fault(); s != "" {
			fault = s
		}
	}
	line := fmt.Sprintf("elapsed %s  ack/s %.0f  ok %d  fail %d  unknown %d  primary %s  fault %s",
		time.Since(p.start).Truncate(100*time.Millisecond), rate, ok, fail, unk, primary, fault)
	if p.tty {
		fmt.Fprintf(p.w, "\r%-100s", line)
		return
	}
	fmt.Fprintln(p.w, line)
}

// Stop ends the live line.
func (p *progress) Stop() {
	close(p.stop)
	p.wg.Wait()
	if p.tty {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", 100)+"\r")
	}
}
