package agent

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/pgchaos/pgchaos/faults/iofs"
)

func (e *Executor) iofsControl() string {
	if e.IOFSControl != "" {
		return e.IOFSControl
	}
	return iofs.NodeControl
}

// storageApply sets the action's storage fault on the node's filesystem
// until the action's deadline: the filesystem clears it by itself then,
// even if this agent is gone. A fault already in force (another action,
// another run) is left alone and the apply refused: the filesystem holds
// one fault at a time.
func (e *Executor) storageApply(ctx context.Context, a Action) error {
	c := iofs.NewClient(e.iofsControl())
	st, err := c.State(ctx)
	if err != nil {
		return fmt.Errorf("action %s: the node's storage-fault filesystem does not answer (is the pgchaos-iofs DaemonSet running on this node?): %w", a.ID, err)
	}
	if st.Active != nil {
		return fmt.Errorf("action %s: another storage fault is in force on this node (%s, until %s)", a.ID, st.Active, st.Deadline.Format(time.RFC3339))
	}
	ttl := a.Deadline.Sub(e.now())
	if ttl > iofs.MaxTTL {
		ttl = iofs.MaxTTL
	}
	if ttl <= 0 {
		return fmt.Errorf("action %s: deadline %s has already passed", a.ID, a.Deadline.Format(time.RFC3339))
	}
	if _, err := c.Set(ctx, *a.Storage, ttl, a.ID); err != nil {
		return fmt.Errorf("action %s: %w", a.ID, err)
	}
	return nil
}

// storageRevert clears the fault if it is still the one this action set
// (the last set event carries the action's id as its reason). No server
// (socket absent or refusing) means no fault: a stopped filesystem clears
// its fault as it stops.
func (e *Executor) storageRevert(ctx context.Context, a Action) error {
	c := iofs.NewClient(e.iofsControl())
	st, err := c.State(ctx)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the storage fault of %s: %w", a.ID, err)
	}
	if st.Active == nil || lastSetReason(st) != a.ID {
		return nil
	}
	if _, err := c.Clear(ctx, a.ID); err != nil {
		return fmt.Errorf("clearing the storage fault of %s: %w", a.ID, err)
	}
	return nil
}

// lastSetReason is the reason of the last set event ("" when none).
func lastSetReason(st iofs.State) string {
	for i := len(st.Events) - 1; i >= 0; i-- {
		if st.Events[i].Kind == iofs.EventSet {
			return st.Events[i].Reason
		}
	}
	return ""
}
