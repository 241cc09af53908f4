package gameday

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/operators/kube"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// settle is how long the cluster must stay ready with the same primary
// to count as ready (scenario.WaitSettled).
const settle = 10 * time.Second

// abortSettle bounds the wait for the cluster to be ready after an abort.
const abortSettle = time.Minute

// EventNote is the kind of a note written on the timeline.
const EventNote = "note"

// Control is how the person running the game day steers it; nil channels
// are never ready. Aborting is cancelling Run's context.
type Control struct {
	// Continue lets a step that waits for a key go on.
	Continue <-chan struct{}
	// Notes are written on the timeline as they come.
	Notes <-chan string
	// SkipWait, once ready, ends the bounded wait for a settled cluster
	// after an abort (a second Ctrl-C): the final read goes ahead at once.
	SkipWait <-chan struct{}
}

// Options configure Run.
type Options struct {
	Plan    *Plan
	Spec    scenario.Spec
	Kube    *kube.Client
	Cluster operators.Cluster
	// Env carries what the faults act through (see scenario.Plan.Env).
	Env   faults.Env
	Final []workload.FinalTarget
	// Control steers the game day; Live, when set, receives a snapshot
	// every 250 ms (the terminal view, the metrics).
	Control  Control
	Live     func(Snapshot)
	Progress func(string)
	// Lookup finds a step's fault (default faults.ByName; tests bring
	// faults of their own).
	Lookup func(name string) (faults.Fault, error)
}

// Outcome is what the game day did.
type Outcome struct {
	Dir  string
	Seed int64
	// Aborted: the game day was stopped before its end (a key, Ctrl-C,
	// SIGTERM); what ran is recorded and can be judged.
	Aborted bool
	// Steps is how many steps ran to their end.
	Steps int
}

// Run runs the plan over one continuous trial in Spec.Out: the workload
// and the monitor from the start, each step at its time or key, each fault
// injected, held, reverted and waited for, notes on the timeline, then the
// cool-down and the final read of every instance. Cancelling ctx aborts:
// the active fault is reverted, the trial is stopped and its final state
// read, and Run returns with Aborted set and no error.
func Run(ctx context.Context, o Options) (out Outcome, err error) {
	say := o.Progress
	if say == nil {
		say = func(string) {}
	}
	p := o.Plan
	if o.Spec.Seed == 0 {
		o.Spec.Seed = rand.Int64N(1<<53) + 1
	}
	out.Dir, out.Seed = o.Spec.Out, o.Spec.Seed
	env := o.Env
	env.Kube, env.Cluster = o.Kube, o.Cluster
	env.Rand = rand.New(rand.NewPCG(uint64(o.Spec.Seed), 0x9e3779b97f4a7c15))
	lookup := o.Lookup
	if lookup == nil {
		lookup = faults.ByName
	}
	for _, s := range p.Steps {
		if s.Fault == "" {
			continue
		}
		f, err := lookup(s.Fault)
		if err != nil {
			return out, err
		}
		if err := f.Available(ctx, env); err != nil {
			return out, fmt.Errorf("fault %s is not available here: %w", f.Name(), err)
		}
	}
	// The trial outlives an abort: it is stopped explicitly below.
	tr, err := scenario.Start(context.WithoutCancel(ctx), o.Spec)
	if err != nil {
		return out, err
	}
	lv := newLiveState(tr, o.Spec, p)
	say = lv.logger(say)
	env.Note = func(kind, detail string) { _, _ = tr.Faults.Event(kind, detail) }
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if o.Live != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				o.Live(lv.snapshot())
				select {
				case <-bg.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	if o.Control.Notes != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-bg.Done():
					return
				case n, ok := <-o.Control.Notes:
					if !ok {
						return
					}
					_, _ = tr.Faults.Event(EventNote, n)
					say("note: " + n)
				}
			}
		}()
	}
	defer func() {
		stopBG()
		wg.Wait()
		tr.Stop()
		if werr := tr.Wait(); err == nil {
			err = werr
		}
		if out.Aborted && o.Cluster != nil && err == nil {
			// A day aborted mid-failover: give the cluster a bounded time
			// to have a primary again, so the final read can decide.
			say(fmt.Sprintf("waiting up to %s for the cluster to be ready before the final read", abortSettle))
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortSettle)
			if o.Control.SkipWait != nil {
				go func() {
					select {
					case <-o.Control.SkipWait:
						say("not waiting any longer: final read now")
						cancel()
					case <-wctx.Done():
					}
				}()
			}
			if werr := scenario.WaitSettled(wctx, o.Cluster, settle); werr != nil {
				say("cluster not ready: " + werr.Error())
			}
			cancel()
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if len(o.Final) > 0 && err == nil {
			say("final read of every instance")
			eff := tr.Workload.Config()
			if _, ferr := scenario.RecordFinal(fctx, o.Spec.Out, tr.Ledger.Start(), eff.Table, eff.Run, o.Final, 30*time.Second); ferr != nil {
				err = fmt.Errorf("final read: %w", ferr)
			}
		}
		if o.Live != nil {
			o.Live(lv.snapshot())
		}
	}()
	start := time.Now()
	abort := func() (Outcome, error) {
		out.Aborted = true
		_, _ = tr.Faults.Event(EventNote, "game day aborted")
		say("aborted: reverting, then the final read")
		return out, nil
	}
	for i, s := range p.Steps {
		lv.setStep(i, s.WaitKey)
		if s.WaitKey {
			say(fmt.Sprintf("step %d waits: press c to go on", i+1))
			select {
			case <-ctx.Done():
				return abort()
			case <-o.Control.Continue:
			}
		} else if !scenario.Sleep(ctx, time.Until(start.Add(time.Duration(s.At)))) {
			return abort()
		}
		lv.setStep(i, false)
		if s.Note != "" {
			_, _ = tr.Faults.Event(EventNote, s.Note)
			say(fmt.Sprintf("step %d: note %q", i+1, s.Note))
		}
		if s.Fault != "" {
			f, err := lookup(s.Fault)
			if err != nil {
				return out, err
			}
			aborted, err := runFault(ctx, tr, env, o.Cluster, f, time.Duration(s.Hold), time.Duration(p.ReadyTimeout), lv, say)
			if err != nil {
				return out, fmt.Errorf("step %d: %w", i+1, err)
			}
			if aborted {
				return abort()
			}
		}
		out.Steps++
	}
	say(fmt.Sprintf("cool-down %s", time.Duration(p.CoolDown)))
	if !scenario.Sleep(ctx, time.Duration(p.CoolDown)) {
		return abort()
	}
	return out, nil
}

// runFault injects one step's fault, holds it, reverts it and waits for
// the cluster; it reports an abort (ctx cancelled) after reverting.
func runFault(ctx context.Context, tr *scenario.Trial, env faults.Env, c operators.Cluster, f faults.Fault, hold, ready time.Duration,
	lv *liveState, say func(string)) (aborted bool, err error) {
	env.Hold = hold
	target, err := f.Target(ctx, env)
	if err != nil {
		if ctx.Err() != nil {
			return true, nil
		}
		return false, fmt.Errorf("fault %s: %w", f.Name(), err)
	}
	if err := faults.CheckNodesAllowed(ctx, env, target); err != nil {
		return false, fmt.Errorf("fault %s: %w", f.Name(), err)
	}
	detail := f.Describe(target)
	say(fmt.Sprintf("inject %s: %s (hold %s)", f.Name(), detail, hold))
	lv.setFault(f.Name()+" on "+target.Name(), time.Now().Add(hold))
	defer lv.setFault("", time.Time{})
	applied, err := scenario.Apply(ctx, tr.Faults, f, env, target, detail)
	reverted := false
	revert := func() error {
		rerr := applied.Revert()
		if rerr == nil && applied != nil && !reverted {
			reverted = true
			say("reverted " + f.Name())
		}
		return rerr
	}
	defer func() {
		if rerr := revert(); err == nil && rerr != nil {
			err = fmt.Errorf("reverting %s: %w", f.Name(), rerr)
		}
	}()
	if err != nil {
		if ctx.Err() != nil {
			return true, nil
		}
		return false, err
	}
	if !scenario.Sleep(ctx, hold) {
		return true, nil
	}
	if err := revert(); err != nil {
		return false, err
	}
	rctx, cancel := context.WithTimeout(ctx, ready)
	rerr := scenario.WaitSettled(rctx, c, settle)
	cancel()
	switch {
	case ctx.Err() != nil:
		return true, nil
	case rerr != nil:
		_, _ = tr.Faults.Event(history.EventClusterNotReady, rerr.Error())
		say(fmt.Sprintf("cluster not ready %s after %s: %v", ready, f.Name(), rerr))
	default:
		_, _ = tr.Faults.Event(history.EventClusterReady, "")
		say("cluster ready again after " + f.Name())
	}
	return false, nil
}
