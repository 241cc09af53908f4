package scenario

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/monitor"
	"github.com/pgchaos/pgchaos/workload"
)

// Spec describes one recorded trial.
type Spec struct {
	// Out is the trial directory; it is created, and must not hold a trial.
	Out      string
	Workload workload.Config
	// Monitor lists the instances to observe one by one (may be empty).
	Monitor       []monitor.Target
	MonitorConfig monitor.Config
	// Command is the command line, recorded to reproduce the run.
	Command string
	Seed    int64
	Version string
}

// Trial is a running trial.
type Trial struct {
	Spec     Spec
	Ledger   *history.Ledger
	Workload *workload.Workload
	Monitor  *monitor.Monitor
	Faults   *history.FaultLog
	obs      *history.ObservationLog

	cancel   context.CancelFunc
	done     chan struct{}
	runErr   error
	monDone  chan error
	stop     sync.Once
	closeMu  sync.Mutex
	closed   bool
	closeErr error
}

// PrepareDir creates dir and refuses one that already holds a trial.
func PrepareDir(dir string) error {
	if dir == "" {
		return errors.New("no output directory given (--out DIR)")
	}
	if _, err := os.Stat(filepath.Join(dir, history.LedgerFile)); err == nil {
		return fmt.Errorf("%s already holds a trial; choose a new directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return nil
}

// Start prepares the target (the workload's table), creates the trial's
// files and starts the monitor and the workload. The workload runs until its
// duration passes, ctx is cancelled, or Stop is called.
func Start(ctx context.Context, spec Spec) (*Trial, error) {
	if err := PrepareDir(spec.Out); err != nil {
		return nil, err
	}
	for _, mt := range spec.Monitor {
		if _, err := workload.ParseDSN(mt.DSN, time.Second); err != nil {
			return nil, fmt.Errorf("monitor target %s: %w", mt.Name, err)
		}
	}
	t := &Trial{Spec: spec, done: make(chan struct{}), monDone: make(chan error, 1)}
	w, err := workload.New(spec.Workload, nil)
	if err != nil {
		return nil, err
	}
	eff := w.Config()
	if err := w.Prepare(ctx); err != nil {
		return nil, err
	}
	led, err := history.NewLedger(spec.Out, history.Meta{
		Target: redactAll(eff), Clients: eff.Clients, Rate: eff.Rate,
		Table: eff.Table, Run: eff.Run, Seed: spec.Seed, Command: spec.Command, PGChaos: spec.Version,
	})
	if err != nil {
		return nil, err
	}
	t.Ledger = led
	if t.Workload, err = workload.New(eff, led); err != nil {
		_ = led.Close()
		return nil, err
	}
	if t.Faults, err = history.NewFaultLog(spec.Out, led.Start()); err != nil {
		_ = led.Close()
		return nil, err
	}
	if len(spec.Monitor) > 0 {
		t.obs, err = history.NewObservationLog(spec.Out, led.Start(), monitor.Instances(spec.Monitor, workload.RedactDSN))
		if err != nil {
			_ = led.Close()
			_ = t.Faults.Close()
			return nil, err
		}
		if t.Monitor, err = monitor.New(spec.MonitorConfig, spec.Monitor, t.obs, led.Start()); err != nil {
			_ = t.close()
			return nil, err
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	t.cancel = cancel
	mctx, mcancel := context.WithCancel(context.WithoutCancel(ctx))
	if t.Monitor != nil {
		go func() { t.monDone <- t.Monitor.Run(mctx) }()
	} else {
		t.monDone <- nil
	}
	go func() {
		defer close(t.done)
		t.runErr = t.Workload.Run(rctx)
		// The monitor keeps observing until the workload is done, then a
		// little longer is up to the caller (it may read final state).
		mcancel()
	}()
	return t, nil
}

// Since is the offset of now on the trial's clock.
func (t *Trial) Since() time.Duration { return t.Ledger.Since() }

// Stop ends the workload early.
func (t *Trial) Stop() { t.stop.Do(t.cancel) }

// Done is closed when the workload has ended.
func (t *Trial) Done() <-chan struct{} { return t.done }

// Wait waits for the workload to end, then closes every file of the trial.
func (t *Trial) Wait() error {
	<-t.done
	merr := <-t.monDone
	t.monDone <- merr // keep it for a second Wait
	return errors.Join(t.runErr, merr, t.close())
}

func (t *Trial) close() error {
	t.closeMu.Lock()
	defer t.closeMu.Unlock()
	if t.closed {
		return t.closeErr
	}
	t.closed = true
	var errs []error
	if t.obs != nil {
		errs = append(errs, t.obs.Close())
	}
	if t.Faults != nil {
		errs = append(errs, t.Faults.Close())
	}
	errs = append(errs, t.Ledger.Close())
	t.closeErr = errors.Join(errs...)
	return t.closeErr
}

func redactAll(c workload.Config) string {
	s := workload.RedactDSN(c.DSN)
	for _, d := range c.MoreDSNs {
		s += " | " + workload.RedactDSN(d)
	}
	return s
}
