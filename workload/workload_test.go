package workload

import (
	"context"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/internal/pgtestbed"
	"github.com/pgchaos/pgchaos/internal/uring"
)

// TestStalledCommitsAreUnknown: with synchronous replication and no standby
// left, commits hang waiting for one. Past the per-write timeout the
// workload must record them unknown, never fail: they are committed locally
// (the test finds them on the primary afterwards), so "fail" would be a lie.
func TestStalledCommitsAreUnknown(t *testing.T) {
	ctx := context.Background()
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{Synchronous: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	dir := t.TempDir()
	led, err := history.NewLedger(dir, history.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{DSN: tb.DSN(tb.Instances[0]), Clients: 2, Duration: 2500 * time.Millisecond,
		OpTimeout: time.Second}, led)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range tb.Instances[1:] {
		if err := r.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Run(ctx); err != nil {
		t.Fatal(err)
	}
	tr := closeAndLoad(t, led, dir)
	var ok, fail, unknown int
	for _, o := range tr.Ops {
		switch o.Outcome {
		case history.OK:
			ok++
		case history.Fail:
			fail++
		case history.Unknown:
			unknown++
		}
	}
	if ok != 0 || fail != 0 || unknown < 2 {
		t.Fatalf("ok %d fail %d unknown %d; want only unknowns", ok, fail, unknown)
	}
	conn, err := tb.Connect(ctx, tb.Instances[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var present int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pgchaos_writes WHERE run = $1`, w.Config().Run).Scan(&present); err != nil {
		t.Fatal(err)
	}
	if present == 0 {
		t.Errorf("no unknown write was committed locally; the test shows nothing about unknown vs fail")
	}
	t.Logf("%d unknown writes, %d of them committed locally on the primary", unknown, present)
}

// TestWorkloadFollowsPromotedPrimary: a multi-host DSN with
// target_session_attrs=read-write finds the new primary after a failover,
// and every acknowledgement names the server and timeline that gave it.
func TestWorkloadFollowsPromotedPrimary(t *testing.T) {
	ctx := context.Background()
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	_, stop := startWorkload(t, Config{DSN: tb.MultiHostDSN(), Clients: 2, Rate: 200, OpTimeout: time.Second})
	time.Sleep(time.Second)
	if err := tb.Instances[0].Kill(); err != nil {
		t.Fatal(err)
	}
	if err := tb.Instances[1].Promote(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	tr := stop()
	seen := map[string]bool{}
	for _, o := range tr.Ops {
		if o.Outcome == history.OK {
			seen[tr.Nodes[o.Node].Instance+"/"+string(rune('0'+o.Timeline))] = true
		}
	}
	if !seen["pg0/1"] || !seen["pg1/2"] {
		t.Errorf("acknowledgements from %v; want pg0 on timeline 1 and then pg1 on timeline 2", seen)
	}
}

// TestTLSConnections: connections the poller cannot drive (TLS) are read by
// a goroutine each; their writes are acknowledged with evidence, a server
// that goes away turns the writes in flight into unknowns or fails (never
// oks), and the clients come back once it is up again.
func TestTLSConnections(t *testing.T) {
	ctx := context.Background()
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{Replicas: -1, TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	pg := tb.Instances[0]
	w, stop := startWorkload(t, Config{DSN: tb.DSN(pg) + " sslmode=require", Clients: 3, Rate: 300, OpTimeout: time.Second})
	time.Sleep(700 * time.Millisecond)
	conn, err := tb.Connect(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	var onTLS int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
		WHERE s.ssl AND a.query LIKE 'INSERT INTO pgchaos_writes%'`).Scan(&onTLS)
	_ = conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if onTLS != 3 {
		t.Errorf("%d workload connections on TLS; want 3", onTLS)
	}
	before := w.Stats.OK.Load()
	if err := pg.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	tr := stop()
	var ok, notOK, okAfter int
	for _, o := range tr.Ops {
		switch {
		case o.Outcome == history.OK && (o.LSN == 0 || o.Timeline != 1):
			t.Errorf("write %d acknowledged with LSN %s on timeline %d", o.ID, o.LSN, o.Timeline)
		case o.Outcome == history.OK && time.Since(time.UnixMicro(o.ServerClock)).Abs() > time.Minute:
			t.Errorf("write %d acknowledged at server time %s, not now", o.ID, time.UnixMicro(o.ServerClock))
		case o.Outcome == history.OK:
			ok++
			if o.ID > before+10 {
				okAfter++
			}
		default:
			notOK++
		}
	}
	if before == 0 || notOK == 0 || okAfter == 0 {
		t.Errorf("%d acknowledged before the kill, %d not acknowledged, %d acknowledged after the restart; want each > 0", before, notOK, okAfter)
	}
	t.Logf("%d ok (%d before the kill), %d failed or unknown", ok, before, notOK)
}

// startWorkload prepares and starts a workload on a fresh ledger; stop ends
// it and returns the recorded trial.
func startWorkload(t *testing.T, cfg Config) (w *Workload, stop func() *history.Trial) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	led, err := history.NewLedger(dir, history.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if w, err = New(cfg, led); err != nil {
		t.Fatal(err)
	}
	if err := w.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(rctx) }()
	t.Cleanup(cancel)
	return w, func() *history.Trial {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return closeAndLoad(t, led, dir)
	}
}

// TestBatchedAndSingleWrites runs the workload with the writes of a turn
// sent together through io_uring and one system call each (as where
// io_uring is refused), and checks that both acknowledge every write, and
// that each took the path it says.
func TestBatchedAndSingleWrites(t *testing.T) {
	ctx := context.Background()
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{Replicas: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	ringUsable := true
	if r, err := uring.New(4); err != nil {
		ringUsable = false
		t.Logf("io_uring unavailable here (%v): both runs write one at a time", err)
	} else {
		r.Close()
	}
	for _, single := range []bool{false, true} {
		cfg := Config{DSN: tb.DSN(tb.Instances[0]), Clients: 4}
		cfg.oneAtATime = single
		w, stop := startWorkload(t, cfg)
		time.Sleep(700 * time.Millisecond)
		tr := stop()
		var ok int
		for _, op := range tr.Ops {
			if op.Outcome != history.OK {
				t.Fatalf("one at a time %v: write %d is %v, want ok", single, op.ID, op.Outcome)
			}
			ok++
		}
		if ok < 100 {
			t.Errorf("one at a time %v: %d writes in 0.7 s, want at least 100", single, ok)
		}
		ring := w.ringWrites.Load()
		switch {
		case single && ring != 0:
			t.Errorf("one at a time: %d writes went through io_uring", ring)
		case !single && ringUsable && ring < int64(ok)-4:
			t.Errorf("batched: %d of %d writes went through io_uring", ring, ok)
		}
		t.Logf("one at a time %v: %d writes, %d through io_uring", single, ok, ring)
	}
}

// closeAndLoad closes a finished run's ledger and loads its trial.
func closeAndLoad(t *testing.T, led *history.Ledger, dir string) *history.Trial {
	t.Helper()
	if err := led.Close(); err != nil {
		t.Fatal(err)
	}
	tr, err := history.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
