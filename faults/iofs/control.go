package iofs

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Event kinds: what changed a Control's fault.
const (
	// EventSet is a Set: the fault in Event.Spec is in force until
	// Event.Deadline.
	EventSet = "set"
	// EventClear is a Clear by a caller.
	EventClear = "clear"
	// EventExpired is the dead man's switch: the deadline of the last Set
	// passed without a new Set, and the Control cleared the fault itself.
	EventExpired = "expired"
)

// MaxTTL bounds the deadline of one Set.
const MaxTTL = 24 * time.Hour

// maxEvents bounds the events a Control keeps; older ones are dropped (and
// counted) so a long-running agent does not grow without bound.
const maxEvents = 4096

// Event is one change of a Control's fault.
type Event struct {
	// At is when the change took effect (wall clock, with the monotonic
	// reading while in memory).
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	// Spec is the fault in force after the change (zero after a clear).
	Spec Spec `json:"spec"`
	// Deadline is when a set fault clears itself.
	Deadline time.Time `json:"deadline,omitzero"`
	// Reason says who or what made the change, when known.
	Reason string `json:"reason,omitempty"`
}

// String renders the event on one line.
func (e Event) String() string {
	s := e.At.Format(time.RFC3339Nano) + " " + e.Kind + ": " + e.Spec.String()
	if !e.Deadline.IsZero() {
		s += " until " + e.Deadline.Format(time.RFC3339Nano)
	}
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}

// Control is the live, thread-safe fault of one filesystem. The zero value
// is not usable: make one with NewControl. The filesystem reads the fault
// with one atomic load per operation, so an inactive Control costs nothing
// measurable.
type Control struct {
	cur atomic.Pointer[Spec] // nil: no fault

	// Counts of what the faults did, since NewControl.
	delayedWrites, delayedFsyncs, enospc atomic.Int64

	mu       sync.Mutex
	gen      uint64 // bumped by every change; a stale timer sees it moved
	timer    *time.Timer
	deadline time.Time
	events   []Event
	dropped  int
	closed   bool
}

// NewControl returns a Control with no fault.
func NewControl() *Control { return &Control{} }

// active returns the fault in force, nil when there is none.
func (c *Control) active() *Spec { return c.cur.Load() }

// Set puts spec in force for ttl: when ttl passes without another Set (or
// a Clear), the Control clears the fault itself. Setting an empty Spec is a
// Clear. It returns the deadline.
func (c *Control) Set(spec Spec, ttl time.Duration, reason string) (time.Time, error) {
	if err := spec.Validate(); err != nil {
		return time.Time{}, fmt.Errorf("setting storage fault: %w", err)
	}
	if ttl <= 0 || ttl > MaxTTL {
		return time.Time{}, fmt.Errorf("setting storage fault %s: deadline %s out of range (0, %s]: every fault needs a deadline", spec, ttl, MaxTTL)
	}
	if spec.Empty() {
		c.Clear(reason)
		return time.Time{}, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return time.Time{}, errors.New("setting storage fault " + spec.String() + ": control is closed")
	}
	c.gen++
	gen := c.gen
	if c.timer != nil {
		c.timer.Stop()
	}
	now := time.Now()
	c.deadline = now.Add(ttl)
	s := spec
	c.cur.Store(&s)
	c.timer = time.AfterFunc(ttl, func() { c.expire(gen) })
	c.record(Event{At: now, Kind: EventSet, Spec: spec, Deadline: c.deadline, Reason: reason})
	return c.deadline, nil
}

// Clear removes the fault (if any; clearing nothing records nothing).
func (c *Control) Clear(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked(EventClear, reason)
}

// expire is the dead man's switch of the Set that had generation gen.
func (c *Control) expire(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return // a later Set or Clear took over
	}
	c.clearLocked(EventExpired, "deadline passed without a new set")
}

func (c *Control) clearLocked(kind, reason string) {
	c.gen++
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.deadline = time.Time{}
	if c.cur.Swap(nil) == nil {
		return
	}
	c.record(Event{At: time.Now(), Kind: kind, Reason: reason})
}

func (c *Control) record(e Event) {
	if len(c.events) == maxEvents {
		n := copy(c.events, c.events[maxEvents/2:])
		c.events = c.events[:n]
		c.dropped += maxEvents - n
	}
	c.events = append(c.events, e)
}

// State is a snapshot of a Control.
type State struct {
	// Active is the fault in force; nil when there is none.
	Active *Spec `json:"active"`
	// Deadline is when Active clears itself.
	Deadline time.Time `json:"deadline,omitzero"`
	// Events are the changes so far, oldest first.
	Events []Event `json:"events"`
	// Dropped counts the oldest events no longer kept.
	Dropped int `json:"dropped,omitempty"`
	// Counts says what the faults did so far.
	Counts Counts `json:"counts"`
}

// Counts are the operations the faults acted on since NewControl.
type Counts struct {
	// DelayedWrites counts write requests that were delayed.
	DelayedWrites int64 `json:"delayed_writes"`
	// DelayedFsyncs counts fsync and fdatasync calls that were delayed.
	DelayedFsyncs int64 `json:"delayed_fsyncs"`
	// ENOSPC counts operations failed with ENOSPC.
	ENOSPC int64 `json:"enospc"`
}

// State returns a snapshot of the fault in force and of every change.
func (c *Control) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := State{Deadline: c.deadline, Events: append([]Event(nil), c.events...), Dropped: c.dropped,
		Counts: Counts{DelayedWrites: c.delayedWrites.Load(), DelayedFsyncs: c.delayedFsyncs.Load(), ENOSPC: c.enospc.Load()}}
	if s := c.cur.Load(); s != nil {
		cp := *s
		st.Active = &cp
	}
	return st
}

// Close clears the fault and refuses later Sets. It is idempotent.
func (c *Control) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked(EventClear, "control closed")
	c.closed = true
}
