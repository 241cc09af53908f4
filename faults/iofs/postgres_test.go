package iofs_test

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/faults/iofs"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/internal/pgtestbed"
	"github.com/pgchaos/pgchaos/monitor"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// The proofs on a real PostgreSQL: a primary whose whole base directory
// (data directory, log, sockets) lives on the FUSE mount, under the
// project's workload, recorded as a trial and judged by the checkers.

// walPrefix is the primary's pg_wal/ relative to the mount's root: the
// testbed's base directory is <mount>/tb and the primary is pg0.
const walPrefix = "tb/pg0/pg_wal/"

// pgOnFUSE starts a lone primary (no replicas) with its base directory on
// a fresh mount. The server is stopped before the mount goes away.
func pgOnFUSE(t *testing.T, extraConf ...string) (*pgtestbed.Cluster, *iofs.Control) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a real PostgreSQL server")
	}
	ctl := iofs.NewControl()
	t.Cleanup(ctl.Close)
	m := iofs.MountT(t, ctl)
	began := time.Now()
	tb, err := pgtestbed.Start(t.Context(), pgtestbed.Options{
		Replicas:  -1,
		BaseDir:   filepath.Join(m.Dir, "tb"),
		ExtraConf: extraConf,
		Logger:    slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("starting PostgreSQL on the FUSE mount: %v", err)
	}
	t.Logf("PostgreSQL up on %s in %s", tb.BaseDir, time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := tb.Close(); err != nil {
			t.Errorf("closing testbed: %v", err)
		}
	})
	return tb, ctl
}

// startTrial starts the workload (and the monitor) against the primary.
func startTrial(t *testing.T, tb *pgtestbed.Cluster, rate float64) (*scenario.Trial, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "trial")
	pg0 := tb.Primary()
	tr, err := scenario.Start(t.Context(), scenario.Spec{
		Out:      dir,
		Workload: workload.Config{DSN: tb.DSN(pg0), Clients: 4, Rate: rate, OpTimeout: 3 * time.Second},
		Monitor:  []monitor.Target{{Name: pg0.Name, DSN: tb.DSN(pg0)}},
		Command:  "go test ./faults/iofs -run " + t.Name(),
	})
	if err != nil {
		t.Fatalf("starting trial: %v", err)
	}
	t.Cleanup(func() { tr.Stop(); _ = tr.Wait() })
	return tr, dir
}

// finish stops the workload, reads the final state and judges the trial.
func finish(t *testing.T, tb *pgtestbed.Cluster, tr *scenario.Trial, dir string) (*history.Trial, history.Report) {
	t.Helper()
	tr.Stop()
	if err := tr.Wait(); err != nil {
		t.Fatalf("trial: %v", err)
	}
	h, err := history.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	pg0 := tb.Primary()
	h.Final, err = scenario.RecordFinal(t.Context(), dir, h.Meta.Start, h.Meta.Table, h.Meta.Run,
		[]workload.FinalTarget{{Name: pg0.Name, DSN: tb.DSN(pg0)}}, 30*time.Second)
	if err != nil {
		t.Fatalf("reading final state: %v", err)
	}
	rep, err := scenario.Judge(dir, h, assert.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		t.Logf("verdict %-28s %-8s %s", c.Name, c.Status, c.Summary)
	}
	return h, rep
}

// status returns the status of check name.
func status(rep history.Report, name string) history.Status {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c.Status
		}
	}
	return ""
}

// latencies are the commit latencies (Return-Invoke) of the acknowledged
// writes invoked in [from, to), sorted.
func latencies(h *history.Trial, from, to time.Duration) []time.Duration {
	var l []time.Duration
	for _, op := range h.Ops {
		if op.Outcome == history.OK && op.Invoke >= from && op.Invoke < to {
			l = append(l, op.Return-op.Invoke)
		}
	}
	slices.Sort(l)
	return l
}

func median(l []time.Duration) time.Duration {
	if len(l) == 0 {
		return 0
	}
	return l[len(l)/2]
}

// outcomes counts the ops invoked in [from, to) by outcome.
func outcomes(h *history.Trial, from, to time.Duration) map[history.Outcome]int {
	n := map[history.Outcome]int{}
	for _, op := range h.Ops {
		if op.Invoke >= from && op.Invoke < to {
			n[op.Outcome]++
		}
	}
	return n
}

func sleepT(t *testing.T, d time.Duration) {
	t.Helper()
	if !scenario.Sleep(t.Context(), d) {
		t.Fatal("interrupted")
	}
}

// TestPostgresCommitLatency: +N ms per fsync (or per write) of the
// primary's pg_wal/ for a window raises the median commit latency of
// acknowledged writes by at least N, and it returns to baseline after the
// window.
func TestPostgresCommitLatency(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec iofs.Spec
	}{
		{"fsync+50ms", iofs.Spec{FsyncDelay: 50 * time.Millisecond, DelayPrefix: walPrefix}},
		{"write+30ms", iofs.Spec{WriteDelay: 30 * time.Millisecond, DelayPrefix: walPrefix}},
	} {
		t.Run(tc.name, func(t *testing.T) { commitLatency(t, tc.spec) })
	}
}

func commitLatency(t *testing.T, spec iofs.Spec) {
	delay := spec.FsyncDelay + spec.WriteDelay
	tb, ctl := pgOnFUSE(t)
	tr, dir := startTrial(t, tb, 200)
	sleepT(t, 1*time.Second) // connections, first segment
	base0 := tr.Since()
	sleepT(t, 4*time.Second)

	injected, err := tr.Faults.Injected("iofs-latency", tb.Primary().Name, spec.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.Set(spec, time.Minute, t.Name()); err != nil {
		t.Fatal(err)
	}
	sleepT(t, 5*time.Second)
	ctl.Clear(t.Name())
	recovered, err := tr.Faults.Recovered("iofs-latency")
	if err != nil {
		t.Fatal(err)
	}
	sleepT(t, 4*time.Second)
	end := tr.Since()
	h, rep := finish(t, tb, tr, dir)

	// Ops invoked within 100 ms of a change may straddle it: left out.
	const settle = 100 * time.Millisecond
	before := latencies(h, base0, injected)
	during := latencies(h, injected+settle, recovered)
	after := latencies(h, recovered+settle, end)
	mb, md, ma := median(before), median(during), median(after)
	t.Logf("commit latency medians: before %s (%d writes), during %s: %s (%d), after %s (%d); rise %s",
		mb, len(before), spec, md, len(during), ma, len(after), md-mb)
	if len(before) < 50 || len(during) < 20 || len(after) < 50 {
		t.Fatalf("too few acknowledged writes to judge: %d before, %d during, %d after", len(before), len(during), len(after))
	}
	if md-mb < delay {
		t.Errorf("median commit latency rose by %s during the window, want >= %s", md-mb, delay)
	}
	if ma-mb >= delay/2 {
		t.Errorf("median commit latency after the window %s, baseline %s: not back", ma, mb)
	}
	if st := status(rep, history.CheckLostAckedWrites); st != history.Pass {
		t.Errorf("%s: %s", history.CheckLostAckedWrites, st)
	}
	st := ctl.State()
	delayed := st.Counts.DelayedFsyncs + st.Counts.DelayedWrites
	t.Logf("operations delayed: %+v for %d acknowledged writes in the window (%.2f per write)",
		st.Counts, len(during), float64(delayed)/float64(max(len(during), 1)))
	if (spec.FsyncDelay > 0) != (st.Counts.DelayedFsyncs > 0) || (spec.WriteDelay > 0) != (st.Counts.DelayedWrites > 0) {
		t.Errorf("counts %+v do not match the fault %s", st.Counts, spec)
	}
	if evs := st.Events; len(evs) != 2 || evs[0].Kind != iofs.EventSet || evs[1].Kind != iofs.EventClear {
		t.Errorf("control events: %v", evs)
	}
}

// TestPostgresWALENOSPC: ENOSPC on the primary's pg_wal/ under load, with
// PostgreSQL's default restart_after_crash = on and with it off (as an
// operator's instance manager may set it). What PostgreSQL does is logged
// (its server log, condensed, and the ledger's outcomes); the test
// requires that no write is acknowledged while WAL cannot be written, that
// after the clear the server comes back (by itself, or by pg_ctl start
// when it exited), survives a clean restart, accepts writes again, and
// that no acknowledged write is lost.
func TestPostgresWALENOSPC(t *testing.T) {
	for _, restartAfterCrash := range []string{"on", "off"} {
		t.Run("restart_after_crash="+restartAfterCrash, func(t *testing.T) {
			walENOSPC(t, "restart_after_crash = "+restartAfterCrash)
		})
	}
}

func walENOSPC(t *testing.T, conf string) {
	tb, ctl := pgOnFUSE(t, conf)
	pg0 := tb.Primary()
	tr, dir := startTrial(t, tb, 200)
	sleepT(t, 3*time.Second)

	spec := iofs.Spec{ENOSPC: true, ENOSPCPrefix: walPrefix}
	injected, err := tr.Faults.Injected("iofs-wal-enospc", pg0.Name, spec.String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctl.Set(spec, time.Minute, t.Name()); err != nil {
		t.Fatal(err)
	}
	sleepT(t, 5*time.Second)
	runningUnderFault := pg0.Running()
	ctl.Clear(t.Name())
	recovered, err := tr.Faults.Recovered("iofs-wal-enospc")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("postmaster running at the end of the window: %v; ENOSPC returned %d times", runningUnderFault, ctl.State().Counts.ENOSPC)

	// Back by itself, or restarted.
	how := "by itself (crash recovery succeeded once WAL could be written)"
	deadline := time.Now().Add(15 * time.Second)
	for {
		if conn, err := tb.Connect(t.Context(), pg0); err == nil {
			_ = conn.Close(t.Context())
			break
		}
		if !pg0.Running() {
			if _, err := tr.Faults.Event("restart", "pg_ctl start of "+pg0.Name+" after the clear"); err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			if err := pg0.Start(t.Context()); err != nil {
				t.Fatalf("restarting after the clear: %v", err)
			}
			how = fmt.Sprintf("postmaster had exited; pg_ctl start after the clear, up in %s", time.Since(began).Round(time.Millisecond))
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s neither accepts connections nor stopped 15s after the clear\n%s", pg0.Name, pg0.LogTail(30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	back := tr.Since()
	t.Logf("back %s after the clear: %s", (back - recovered).Round(time.Millisecond), how)
	sleepT(t, 2*time.Second)
	// A clean restart with the WAL written around the fault.
	if _, err := tr.Faults.Event("restart", "clean restart of "+pg0.Name); err != nil {
		t.Fatal(err)
	}
	if err := pg0.StopFast(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := pg0.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	restarted := tr.Since()
	sleepT(t, 2*time.Second)
	end := tr.Since()
	h, rep := finish(t, tb, tr, dir)

	t.Logf("server log, condensed:\n%s", condense(pg0.LogTail(2000)))
	pre, during, post := outcomes(h, 0, injected), outcomes(h, injected, recovered), outcomes(h, back, end)
	t.Logf("outcomes before the window %v, during %v, after it %v", pre, during, post)
	errs := map[string]int{}
	for _, op := range h.Ops {
		if op.Invoke >= injected && op.Invoke < recovered && op.Outcome != history.OK {
			errs[firstLine(h.Error(op.Err))]++
		}
	}
	for e, n := range errs {
		t.Logf("during the window %4d x %s", n, e)
	}
	// A write invoked in the first moments may have been flushed before the
	// fault reached its commit: only later ones must not be acknowledged.
	if n := len(latencies(h, injected+200*time.Millisecond, recovered)); n > 0 {
		t.Errorf("%d writes acknowledged while pg_wal/ returned ENOSPC", n)
	}
	if during[history.Fail]+during[history.Unknown] == 0 {
		t.Error("no write failed during the window")
	}
	if post[history.OK] == 0 || len(latencies(h, restarted, end)) == 0 {
		t.Errorf("writes acknowledged after the clear %d, after the clean restart %d: want both > 0",
			post[history.OK], len(latencies(h, restarted, end)))
	}
	if st := status(rep, history.CheckLostAckedWrites); st != history.Pass {
		t.Errorf("%s: %s", history.CheckLostAckedWrites, st)
	}
}

// condense turns a server log into its distinct messages (timestamp and
// pid dropped, PIDs, LSNs and times replaced), in order of first
// appearance, each with its count; connection refusals are left out.
func condense(log string) string {
	var order []string
	count := map[string]int{}
	for _, l := range strings.Split(log, "\n") {
		// "2026-11-22 03:16:07.549 UTC [22760] LOG:  ..."
		if _, rest, ok := strings.Cut(l, "] "); ok && strings.HasPrefix(l, "20") {
			l = rest
		}
		if l == "" || strings.Contains(l, "the database system is") && strings.HasPrefix(l, "FATAL") {
			continue
		}
		l = pidRE.ReplaceAllString(l, "PID n")
		l = lsnRE.ReplaceAllString(l, "X/X")
		l = timeRE.ReplaceAllString(l, "T")
		if count[l] == 0 {
			order = append(order, l)
		}
		count[l]++
	}
	var b strings.Builder
	for _, l := range order {
		fmt.Fprintf(&b, "%4d x %s\n", count[l], l)
	}
	return b.String()
}

var (
	pidRE  = regexp.MustCompile(`PID \d+`)
	lsnRE  = regexp.MustCompile(`\b[0-9A-F]+/[0-9A-F]+\b`)
	timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? UTC`)
)

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}
