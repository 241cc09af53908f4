package assert

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// TestVerdictSizeBounded: a million writes of which 30% fail fast, spread
// through the trial (each a tiny window of its own), and a flapping primary
// seen by the monitor: verdict.json must stay small (lists capped, totals
// kept). Before the caps, such a trial wrote 44 MB.
func TestVerdictSizeBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a million writes")
	}
	r := rand.New(rand.NewPCG(7, 7))
	const n = 1_000_000
	tr := &history.Trial{Errors: []string{"", "connection refused", "ident-a", "ident-b"}, Nodes: []history.Node{{Server: "a:5432"}}}
	tr.Ops = make([]history.Op, n)
	at := time.Millisecond
	fails := 0
	for i := range tr.Ops {
		op := &tr.Ops[i]
		op.ID, op.Client, op.Invoke = int64(i+1), uint32(i%8), at
		op.Return = at + 500*time.Microsecond
		if r.IntN(10) < 3 {
			op.Outcome, op.Err, op.Node = history.Fail, 1, history.NoNode
			op.Return = at + 10*time.Microsecond // refused at once
			fails++
		} else {
			op.Outcome, op.Timeline, op.LSN = history.OK, 1, history.LSN(0x3000000+i*0x90)
		}
		at += 100 * time.Microsecond
	}
	tr.End = at + time.Second
	tr.Instances = []history.Instance{{Name: "a"}, {Name: "b"}}
	for k := 0; k < 2000; k++ { // primary flips every 50 ms
		x := k % 2
		o := func(i int, prim bool) history.Observation {
			return history.Observation{At: time.Duration(k) * 50 * time.Millisecond, Instance: history.InstanceID(i), Reachable: true,
				InRecovery: !prim, Streaming: !prim, Timeline: 1, Ident: uint32(2 + i)}
		}
		tr.Observations = append(tr.Observations, o(x, true), o(1-x, false))
	}
	tr.Final = &history.FinalState{Instances: []history.InstanceState{{Name: "a", Reachable: true, Primary: true, Timeline: 1,
		Present: []history.IDRange{{First: 1, Last: n}}}}}
	rep := Run(tr, DefaultConfig())
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var un history.Verdict
	for _, c := range rep.Checks {
		if c.Name == history.CheckUnavailability {
			un = c
		}
	}
	total, _ := un.Figures["windows_total"].(int)
	listed := len(un.Figures["windows"].([]history.Window))
	t.Logf("verdict.json %d bytes; %d windows, %d listed; %d failed writes", len(b), total, listed, fails)
	if total < 10000 || listed != MaxWindowsListed {
		t.Errorf("windows: %d in all, %d listed; want many, %d listed", total, listed, MaxWindowsListed)
	}
	if len(b) > 1<<20 {
		t.Errorf("verdict.json is %d bytes, over 1 MiB", len(b))
	}
}
