package monitor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
	"github.com/pgchaos/pgchaos/internal/pgtestbed"
)

// TestMonitorObservesRolesAndOutages polls a real primary and two replicas,
// kills one replica, and reads the observations back from monitor.jsonl.
func TestMonitorObservesRolesAndOutages(t *testing.T) {
	ctx := context.Background()
	tb, err := pgtestbed.Start(ctx, pgtestbed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	var targets []Target
	for _, in := range tb.Instances {
		targets = append(targets, Target{Name: in.Name, DSN: tb.DSN(in)})
	}
	dir := t.TempDir()
	start := time.Now()
	led, err := history.NewLedger(dir, history.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	_ = led.Close()
	log, err := history.NewObservationLog(dir, start, Instances(targets, func(s string) string { return s }))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Interval: 100 * time.Millisecond}, targets, log, start)
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(mctx) }()
	time.Sleep(time.Second)
	if got := m.Primaries(); len(got) != 1 || got[0] != "pg0" {
		t.Errorf("Primaries() = %v, want [pg0]", got)
	}
	killedAt := time.Since(start)
	if err := tb.Instances[2].Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	tr, err := history.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	per := map[history.InstanceID]int{}
	var sawDown bool
	for _, o := range tr.Observations {
		per[o.Instance]++
		switch {
		case o.Instance == 0:
			if !o.Reachable || o.InRecovery || o.Timeline != 1 || o.WriteLSN == 0 {
				t.Errorf("primary observation %+v", o)
			}
		case o.Instance == 1 || (o.Instance == 2 && o.At < killedAt):
			if !o.Reachable || !o.InRecovery || o.ReplayLSN == 0 {
				t.Errorf("replica observation %+v", o)
			}
		case o.Instance == 2 && !o.Reachable:
			sawDown = true
			if tr.Error(o.Err) == "" {
				t.Errorf("unreachable observation without its error: %+v", o)
			}
		}
	}
	for i := range tb.Instances {
		// 2 s at 100 ms: about 20 polls each; allow for a slow machine.
		if n := per[history.InstanceID(i)]; n < 8 {
			t.Errorf("instance %d observed %d times in 2 s", i, n)
		}
	}
	if !sawDown {
		t.Error("the killed replica was never observed unreachable")
	}
	var streaming bool
	for _, o := range tr.Observations {
		if o.Instance == 1 && o.Streaming && o.Timeline == 1 {
			streaming = true
		}
	}
	if !streaming {
		t.Error("replica pg1 never observed streaming on timeline 1")
	}
	// Every reachable observation names its server: one identity per
	// instance, three different ones; a streaming replica names its source.
	idents := map[history.InstanceID]string{}
	srcs := map[string]bool{}
	for _, o := range tr.Observations {
		if !o.Reachable {
			continue
		}
		id := tr.Error(o.Ident)
		if id == "" || !strings.Contains(id, "@") {
			t.Fatalf("observation without a server identity: %+v", o)
		}
		if prev, ok := idents[o.Instance]; ok && prev != id {
			t.Errorf("instance %d changed identity without a restart: %s then %s", o.Instance, prev, id)
		}
		idents[o.Instance] = id
		if o.Streaming && o.Upstream != 0 {
			srcs[tr.Error(o.Upstream)] = true
		}
	}
	if len(idents) != 3 || idents[0] == idents[1] || idents[1] == idents[2] || idents[0] == idents[2] {
		t.Errorf("identities %v: want three different servers", idents)
	}
	want := fmt.Sprintf("127.0.0.1:%d", tb.Instances[0].Port)
	if !srcs[want] {
		t.Errorf("replicas stream from %v, want %s", srcs, want)
	}
}
