package scenario

import (
	"context"
	"sync"
	"time"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
)

// Applied is a fault injected into a trial; Revert undoes it once.
type Applied struct {
	// At is when the injection was recorded, on the trial's clock.
	At     time.Duration
	name   string
	log    *history.FaultLog
	ctx    context.Context
	once   sync.Once
	recov  faults.Recover
	revErr error
}

// Apply records fault f on target in log, then injects it. The returned
// Applied is non-nil whenever the injection was recorded, also when Inject
// failed: whatever was applied must be reverted (Revert).
func Apply(ctx context.Context, log *history.FaultLog, f faults.Fault, env faults.Env, target faults.Hit, detail string) (*Applied, error) {
	at, err := log.Injected(f.Name(), target.Name(), detail)
	if err != nil {
		return nil, err
	}
	a := &Applied{At: at, name: f.Name(), log: log, ctx: ctx, recov: func(context.Context) error { return nil }}
	r, err := f.Inject(ctx, env, target)
	if r != nil {
		a.recov = r
	}
	return a, err
}

// Revert reverts the fault the first time it is called, within a minute
// that outlives the trial's context, and records the recovery; later calls
// return the first one's error.
func (a *Applied) Revert() error {
	if a == nil {
		return nil
	}
	a.once.Do(func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(a.ctx), time.Minute)
		defer cancel()
		a.revErr = a.recov(rctx)
		if a.revErr == nil {
			_, a.revErr = a.log.Recovered(a.name)
		}
	})
	return a.revErr
}
