package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// stepPrinter prints progress lines prefixed with the time since start.
type stepPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func newStepPrinter(w io.Writer) *stepPrinter {
	return &stepPrinter{w: w, start: time.Now()}
}

func (p *stepPrinter) line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%7s] %s\n", time.Since(p.start).Round(time.Second), s)
}
