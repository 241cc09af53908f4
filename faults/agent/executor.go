package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Executor applies and reverts actions on this machine and keeps them in its
// Store until they are reverted. Several processes may share one Store (the
// agent's loop and the commands run through exec): a file lock serialises them.
type Executor struct {
	Store Store
	// Proc is the proc filesystem to search for pods' processes ("/proc").
	Proc string
	// Self is the pgchaos binary used to enter network namespaces
	// (default: this executable).
	Self string
	// Docker is the docker command for node actions ("docker").
	Docker string
	// IOFSControl is the control socket of the node's storage-fault
	// filesystem for IOFS actions (default iofs.NodeControl).
	IOFSControl string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives one line per applied or reverted action; nil discards.
	Log func(string)
	// Check, when set, may refuse an action before anything is recorded
	// or done (Guard.Check); reverting is never refused.
	Check func(context.Context, Action) error

	mu sync.Mutex
}

func (e *Executor) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Executor) log(format string, a ...any) {
	if e.Log != nil {
		e.Log(fmt.Sprintf(format, a...))
	}
}

// lock serialises executors that share the store, across processes.
func (e *Executor) lock() (func(), error) {
	e.mu.Lock()
	if err := os.MkdirAll(e.Store.Dir, 0o700); err != nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("creating state directory %s: %w", e.Store.Dir, err)
	}
	p := filepath.Join(e.Store.Dir, ".lock")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		e.mu.Unlock()
		return nil, fmt.Errorf("opening lock %s: %w", p, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		e.mu.Unlock()
		return nil, fmt.Errorf("locking %s: %w", p, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
		e.mu.Unlock()
	}, nil
}

// Apply records the action with its deadline, then applies it. If applying
// fails, whatever was done is reverted and the action forgotten.
func (e *Executor) Apply(ctx context.Context, a Action) (Action, error) {
	if err := a.Validate(); err != nil {
		return a, err
	}
	if a.Expired(e.now()) {
		return a, fmt.Errorf("action %s: deadline %s has already passed", a.ID, a.Deadline.Format(time.RFC3339))
	}
	if e.Check != nil {
		if err := e.Check(ctx, a); err != nil {
			return a, err
		}
	}
	unlock, err := e.lock()
	if err != nil {
		return a, err
	}
	defer unlock()
	if _, err := e.Store.Get(a.ID); err == nil {
		return a, fmt.Errorf("action %s is already applied here (revert it first)", a.ID)
	}
	a.Applied, a.Frozen = time.Time{}, nil
	// The dead man's switch is armed before anything happens.
	if err := e.Store.Put(a); err != nil {
		return a, err
	}
	done, err := e.apply(ctx, a)
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if rerr := e.revert(rctx, done); rerr != nil {
			return a, fmt.Errorf("%w (and reverting it failed, the action stays recorded: %v)", err, rerr)
		}
		_ = e.Store.Delete(a.ID)
		return a, err
	}
	done.Applied = e.now()
	if err := e.Store.Put(done); err != nil {
		return done, err
	}
	e.log("applied %s: %s (deadline %s)", a.ID, a.Describe(), a.Deadline.Format(time.RFC3339))
	return done, nil
}

// Revert reverts one action and forgets it; an unknown id is ErrNotFound.
func (e *Executor) Revert(ctx context.Context, id string) error {
	unlock, err := e.lock()
	if err != nil {
		return err
	}
	defer unlock()
	a, err := e.Store.Get(id)
	if err != nil {
		return err
	}
	return e.revertLocked(ctx, a, "reverted")
}

func (e *Executor) revertLocked(ctx context.Context, a Action, why string) error {
	if err := e.revert(ctx, a); err != nil {
		return fmt.Errorf("reverting %s (%s): %w", a.ID, a.Describe(), err)
	}
	if err := e.Store.Delete(a.ID); err != nil {
		return err
	}
	e.log("%s %s: %s", why, a.ID, a.Describe())
	return nil
}

// RevertWhere reverts every held action that match selects; it goes on
// after an error and returns the ids reverted and every error.
func (e *Executor) RevertWhere(ctx context.Context, why string, match func(Action) bool) ([]string, error) {
	unlock, err := e.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	as, lerr := e.Store.List()
	var done []string
	errs := []error{lerr}
	for _, a := range as {
		if !match(a) {
			continue
		}
		if err := e.revertLocked(ctx, a, why); err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, a.ID)
	}
	return done, errors.Join(errs...)
}

// RevertExpired reverts every action whose deadline has passed: the dead
// man's switch.
func (e *Executor) RevertExpired(ctx context.Context) ([]string, error) {
	now := e.now()
	return e.RevertWhere(ctx, "deadline passed, reverted", func(a Action) bool { return a.Expired(now) })
}

// RevertRun reverts every action of a run ("" = every action).
func (e *Executor) RevertRun(ctx context.Context, runID string) ([]string, error) {
	return e.RevertWhere(ctx, "reverted", func(a Action) bool { return runID == "" || a.RunID == runID })
}

// Run is the agent's loop: it reverts expired actions every interval until
// ctx is done, then reverts every action it still holds (an agent that is
// stopped or uninstalled leaves no fault behind).
func (e *Executor) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := e.RevertExpired(ctx); err != nil {
			e.log("%v", err)
		}
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			_, err := e.RevertRun(rctx, "")
			return err
		case <-t.C:
		}
	}
}

// apply does the action; it returns the action as far as it got (with the
// processes frozen so far, for a revert).
func (e *Executor) apply(ctx context.Context, a Action) (Action, error) {
	switch a.Kind {
	case Partition:
		return a, e.partition(ctx, a)
	case Freeze:
		return e.freeze(a)
	case NodeStop, NodeKill, NodePause:
		return a, e.nodeApply(ctx, a)
	case IOFS:
		return a, e.storageApply(ctx, a)
	}
	return a, fmt.Errorf("action %s: unknown kind %q", a.ID, a.Kind)
}

// revert undoes the action; it is idempotent and succeeds when the target
// is gone (a deleted pod takes its network namespace and processes with it).
func (e *Executor) revert(ctx context.Context, a Action) error {
	switch a.Kind {
	case Partition:
		return e.unpartition(ctx, a)
	case Freeze:
		return e.thaw(a)
	case NodeStop, NodeKill, NodePause:
		return e.nodeRevert(ctx, a)
	case IOFS:
		return e.storageRevert(ctx, a)
	}
	return nil
}
