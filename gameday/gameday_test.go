package gameday

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/pgchaos/pgchaos/assert"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/internal/bedcluster"
	"github.com/pgchaos/pgchaos/internal/pgtestbed"
	"github.com/pgchaos/pgchaos/monitor"
	"github.com/pgchaos/pgchaos/operators"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

func TestPlanValidation(t *testing.T) {
	good := `format: pgchaos-gameday
name: g
steps:
  - {at: 30s, note: warm}
  - {at: 1m, fault: primary-pod-delete}
  - {wait_key: true, fault: planned-switchover, hold: 5s}
`
	p, err := ParsePlan([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(p.Steps[1].Hold) != 10*time.Second || time.Duration(p.CoolDown) != 30*time.Second {
		t.Fatalf("defaults not filled: %+v", p)
	}
	if n := len(p.Faults()); n != 2 {
		t.Fatalf("%d faults", n)
	}
	var b strings.Builder
	p.Print(&b)
	for _, want := range []string{"1. at 30s: note \"warm\"", "when you press c: fault planned-switchover for 5s", "scope cluster"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan print lacks %q:\n%s", want, b.String())
		}
	}
	for edit, want := range map[[2]string]string{
		{"fault: primary-pod-delete}", "fault: primary-pod-deleted}"}: "primary-pod-deleted",
		{"{at: 30s, note: warm}", "{at: 2m, note: warm}"}:             "before the previous",
		{"name: g\n", "name: g\nsurprise: 1\n"}:                       "surprise",
		{"{at: 30s, note: warm}", "{at: 30s}"}:                        "a fault or a note",
		{"{wait_key: true,", "{wait_key: true, at: 3m,"}:              "exclusive",
		{"hold: 5s", "hold: 1h"}:                                      "over 30m",
		{"format: pgchaos-gameday", "format: x"}:                      "format",
	} {
		bad := strings.Replace(good, edit[0], edit[1], 1)
		if _, err := ParsePlan([]byte(bad)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q -> %q: want an error about %q, got %v", edit[0], edit[1], want, err)
		}
	}
}

// primaryOutage stops the testbed's primary (immediate) and starts it
// again on recovery: a real outage of the only writable server.
type primaryOutage struct{ tb *pgtestbed.Cluster }

func (primaryOutage) Name() string                                { return "primary-outage" }
func (primaryOutage) Available(context.Context, faults.Env) error { return nil }
func (primaryOutage) Describe(h faults.Hit) string                { return "stop " + h.Name() }
func (p primaryOutage) Target(context.Context, faults.Env) (faults.Hit, error) {
	return faults.Hit{Instances: []operators.Instance{{Name: p.tb.Primary().Name}}}, nil
}
func (p primaryOutage) Inject(ctx context.Context, _ faults.Env, _ faults.Hit) (faults.Recover, error) {
	pr := p.tb.Primary()
	return func(ctx context.Context) error { return pr.Start(ctx) }, pr.StopImmediate(ctx)
}

func startBed(t *testing.T) (*pgtestbed.Cluster, scenario.Spec, []workload.FinalTarget) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real PostgreSQL servers")
	}
	tb, err := pgtestbed.Start(context.Background(), pgtestbed.Options{Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	var mon []monitor.Target
	var final []workload.FinalTarget
	for _, in := range tb.Instances {
		mon = append(mon, monitor.Target{Name: in.Name, DSN: tb.DSN(in)})
		final = append(final, workload.FinalTarget{Name: in.Name, DSN: tb.DSN(in)})
	}
	spec := scenario.Spec{Out: filepath.Join(t.TempDir(), "gameday"), Seed: 11, Monitor: mon,
		Workload: workload.Config{DSN: tb.DSN(tb.Primary()), Clients: 2, Rate: 200, OpTimeout: 2 * time.Second}}
	return tb, spec, final
}

// A whole game day on real servers: a timed note, a timed outage of the
// primary, a step that waits for the key, a note typed meanwhile; the live
// snapshots show the writes, the outage and the fault; the trial is judged.
func TestGameDayOnRealServers(t *testing.T) {
	tb, spec, final := startBed(t)
	plan := &Plan{Format: PlanFormat, Name: "t", CoolDown: Duration(time.Second), ReadyTimeout: Duration(10 * time.Second), Steps: []Step{
		{At: Duration(time.Second), Note: "warming up"},
		{At: Duration(2 * time.Second), Fault: "primary-outage", Hold: Duration(2 * time.Second)},
		{WaitKey: true, Fault: "primary-outage", Hold: Duration(500 * time.Millisecond), Note: "again"},
	}}
	cont, notes := make(chan struct{}), make(chan string, 1)
	var mu sync.Mutex
	var snaps []Snapshot
	// As a person would: once the view says the step waits, a note, then c.
	go func() {
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			mu.Lock()
			waiting := len(snaps) > 0 && snaps[len(snaps)-1].Waiting
			mu.Unlock()
			if waiting {
				break
			}
		}
		notes <- "typed during the game day"
		time.Sleep(500 * time.Millisecond)
		close(cont)
	}()
	out, err := Run(context.Background(), Options{Plan: plan, Spec: spec, Cluster: bedcluster.Cluster{TB: tb}, Final: final,
		Control:  Control{Continue: cont, Notes: notes},
		Live:     func(s Snapshot) { mu.Lock(); snaps = append(snaps, s); mu.Unlock() },
		Lookup:   func(string) (faults.Fault, error) { return primaryOutage{tb}, nil },
		Progress: func(l string) { t.Log(l) }})
	if err != nil {
		t.Fatal(err)
	}
	if out.Aborted || out.Steps != 3 {
		t.Fatalf("outcome %+v", out)
	}
	tr, err := history.Load(spec.Out)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Faults) != 2 || tr.Faults[0].Recovered == 0 || tr.Faults[1].Recovered == 0 {
		t.Fatalf("fault windows %+v", tr.Faults)
	}
	var noteTexts []string
	for _, e := range tr.Events {
		if e.Kind == EventNote {
			noteTexts = append(noteTexts, e.Detail)
		}
	}
	if strings.Join(noteTexts, "|") != "warming up|typed during the game day|again" {
		t.Fatalf("notes %q", noteTexts)
	}
	rep := assert.Run(tr, assert.DefaultConfig())
	for _, c := range rep.Checks {
		if c.Name == history.CheckLostAckedWrites && c.Status != history.Pass {
			t.Errorf("lost-acked-writes %s: %s", c.Status, c.Summary)
		}
		if c.Name == history.CheckUnavailability {
			if n, _ := c.Figures["count"].(int); n < 1 {
				t.Errorf("the primary's outage left no unavailability window: %+v", c.Figures)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var sawFault, sawUnavailable, sawWaiting, sawPrimary bool
	for _, s := range snaps {
		sawFault = sawFault || strings.HasPrefix(s.Fault, "primary-outage")
		sawUnavailable = sawUnavailable || s.Unavailable > time.Second
		sawWaiting = sawWaiting || s.Waiting
		for _, in := range s.Instances {
			sawPrimary = sawPrimary || in.Role == "primary"
		}
	}
	last := snaps[len(snaps)-1]
	if !sawFault || !sawUnavailable || !sawWaiting || !sawPrimary || last.OK == 0 {
		t.Fatalf("snapshots: fault %v unavailable %v waiting %v primary %v, last %+v", sawFault, sawUnavailable, sawWaiting, sawPrimary, last)
	}
}

// Aborting during a fault reverts it, stops the trial and reads the final
// state: the trial is recorded and checkable.
func TestGameDayAbort(t *testing.T) {
	tb, spec, final := startBed(t)
	plan := &Plan{Format: PlanFormat, Name: "t", CoolDown: Duration(time.Minute), ReadyTimeout: Duration(10 * time.Second), Steps: []Step{
		{At: Duration(time.Second), Fault: "primary-outage", Hold: Duration(10 * time.Minute)},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(3 * time.Second); cancel() }()
	start := time.Now()
	out, err := Run(ctx, Options{Plan: plan, Spec: spec, Cluster: bedcluster.Cluster{TB: tb}, Final: final,
		Lookup: func(string) (faults.Fault, error) { return primaryOutage{tb}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if !out.Aborted || time.Since(start) > time.Minute {
		t.Fatalf("outcome %+v after %s", out, time.Since(start))
	}
	if !tb.Primary().Running() {
		t.Fatal("the aborted fault was not reverted: the primary is still stopped")
	}
	tr, err := history.Load(spec.Out)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Truncated || tr.Final == nil || len(tr.Faults) != 1 || tr.Faults[0].Recovered == 0 {
		t.Fatalf("aborted trial: truncated %v final %v faults %+v", tr.Truncated, tr.Final != nil, tr.Faults)
	}
}

// The metrics endpoint serves the latest snapshot.
func TestMetricsEndpoint(t *testing.T) {
	m := NewMetrics()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := m.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.Observe(Snapshot{OK: 1234, Failed: 5, AckRate: 199.5, Unavailable: 3 * time.Second, Fault: "primary-pod-delete on pg-1",
		Step: 2, Instances: []InstanceView{{Name: "pg-1", Role: "primary", Timeline: 3}, {Name: "pg-2", Role: "replica", Timeline: 3, LagBytes: 4096}}})
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`pgchaos_gameday_writes{outcome="ok"} 1234`, `pgchaos_gameday_write_rate{outcome="ok"} 199.5`,
		`pgchaos_gameday_unavailable_seconds 3`, `pgchaos_gameday_instance_role{instance="pg-1",role="primary"} 1`,
		`pgchaos_gameday_replica_lag_bytes{instance="pg-2"} 4096`, `pgchaos_gameday_fault_active{fault="primary-pod-delete on pg-1"} 1`,
		`pgchaos_gameday_step 2`, `pgchaos_gameday_instance_timeline{instance="pg-2"} 3`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// The view's keys reach the runner's controls, and it shows the snapshot.
func TestViewKeys(t *testing.T) {
	cont, notes := make(chan struct{}, 1), make(chan string, 1)
	aborted := false
	v := NewView("t", cont, notes, func() { aborted = true })
	v.Update(SnapMsg(Snapshot{OK: 42, AckRate: 200, Unavailable: 2500 * time.Millisecond, Step: 2, Steps: 3, Waiting: true,
		Fault: "primary-pod-delete on pg-1", Deadline: 4 * time.Second,
		Instances: []InstanceView{{Name: "pg-1", Role: "primary", Timeline: 2}, {Name: "pg-2", Role: "replica", Timeline: 2, LagBytes: 512, Streaming: true}}}))
	screen := v.View()
	for _, want := range []string{"step 2 of 3", "WAITING: press c", "acknowledged 42 (200/s)", "UNAVAILABLE for 2.5s", "pg-2              replica      2         512 B", "FAULT primary-pod-delete on pg-1 — reverted in 4s"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	v.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("c")})
	select {
	case <-cont:
	default:
		t.Fatal("c did not continue")
	}
	v.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("n")})
	for _, k := range []tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune("db")}, {Type: tea.KeySpace}, {Type: tea.KeyRunes, Runes: []rune("ok")}} {
		v.Update(k)
	}
	if !strings.Contains(v.View(), "note> db ok_") {
		t.Fatalf("typing a note:\n%s", v.View())
	}
	v.Update(tea.KeyMsg{Type: tea.KeyEnter})
	if n := <-notes; n != "db ok" {
		t.Fatalf("note %q", n)
	}
	if aborted {
		t.Fatal("aborted before a")
	}
	v.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("a")})
	if !aborted {
		t.Fatal("a did not abort")
	}
	if _, cmd := v.Update(EndMsg("done")); cmd == nil {
		t.Fatal("the end does not quit")
	}
}

// neverReady is the testbed as a cluster that never becomes ready again
// (an operator that does not heal): WaitReady blocks until cancelled.
type neverReady struct{ bedcluster.Cluster }

func (neverReady) WaitReady(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

// After an abort, the wait for a settled cluster (up to a minute) ends as
// soon as SkipWait is ready (a second Ctrl-C), and the final read still
// happens.
func TestGameDayAbortSkipWait(t *testing.T) {
	tb, spec, final := startBed(t)
	plan := &Plan{Format: PlanFormat, Name: "t", CoolDown: Duration(time.Minute), ReadyTimeout: Duration(10 * time.Second), Steps: []Step{
		{At: Duration(time.Minute), Note: "never reached"},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	skip := make(chan struct{})
	var mu sync.Mutex
	var said []string
	go func() {
		time.Sleep(2 * time.Second)
		cancel()
		time.Sleep(2 * time.Second)
		close(skip)
	}()
	start := time.Now()
	out, err := Run(ctx, Options{Plan: plan, Spec: spec, Cluster: neverReady{bedcluster.Cluster{TB: tb}}, Final: final,
		Control:  Control{SkipWait: skip},
		Progress: func(l string) { mu.Lock(); said = append(said, l); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	mu.Lock()
	log := strings.Join(said, "\n")
	mu.Unlock()
	if !out.Aborted || !strings.Contains(log, "not waiting any longer") {
		t.Fatalf("outcome %+v; progress:\n%s", out, log)
	}
	// Without the skip the wait alone lasts abortSettle (a minute).
	if took >= abortSettle {
		t.Fatalf("Run took %s: the skip did not end the wait", took)
	}
	tr, err := history.Load(spec.Out)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Final == nil {
		t.Fatal("no final read after the skipped wait")
	}
}
