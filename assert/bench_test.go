package assert

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// synthetic builds a trial of n writes as a real failover leaves it: 16
// clients writing 20,000 times a second to pg-0 (timeline 1) on a cluster of
// three; at 40% of the ledger pg-0 is killed, the writes in flight go
// unknown, those sent for the next 10 s fail, and pg-1 (timeline 2) takes
// over; the last 50 writes pg-0 acknowledged are past the fork and lost.
// A few writes time out throughout and half of them were applied.
func synthetic(n int) *history.Trial {
	r := rand.New(rand.NewPCG(42, 42))
	const (
		clients  = 16
		interval = 50 * time.Microsecond
		outage   = 10 * time.Second
		lostN    = 50
	)
	t := &history.Trial{
		Errors: []string{"", "connection refused", "unexpected EOF", "timeout"},
		Nodes: []history.Node{
			{Server: "10.0.0.1:5432", Instance: "pg-0"},
			{Server: "10.0.0.2:5432", Instance: "pg-1"},
			{Server: "10.0.0.3:5432", Instance: "pg-2"},
		},
		Instances: []history.Instance{{Name: "pg-0"}, {Name: "pg-1"}, {Name: "pg-2"}},
		Ops:       make([]history.Op, n),
	}
	crash := time.Duration(n*4/10) * interval
	var lsn1, lsn2 history.LSN = 0x3000000, 0
	lastOKOnOld := -1
	for i := range t.Ops {
		inv := time.Duration(i) * interval
		lat := 300*time.Microsecond + time.Duration(r.IntN(1500))*time.Microsecond
		if r.IntN(10000) == 0 {
			lat = 50 * time.Millisecond
		}
		op := history.Op{ID: int64(i) + 1, Client: uint32(i % clients), Invoke: inv, Return: inv + lat, Node: history.NoNode}
		switch {
		case inv < crash && inv+lat >= crash:
			op.Outcome, op.Return, op.Err = history.Unknown, crash+5*time.Second, 2
		case inv >= crash && inv < crash+outage:
			op.Outcome, op.Return, op.Err = history.Fail, inv+time.Millisecond, 1
		case r.IntN(100000) == 0:
			op.Outcome, op.Return, op.Err = history.Unknown, inv+5*time.Second, 3
		case inv < crash:
			lsn1 += 0x98
			op.Outcome, op.Node, op.Timeline, op.LSN = history.OK, 0, 1, lsn1
			lastOKOnOld = i
		default:
			if lsn2 == 0 {
				lsn2 = lsn1 + 0x1000
			}
			lsn2 += 0x98
			op.Outcome, op.Node, op.Timeline, op.LSN = history.OK, 1, 2, lsn2
		}
		t.Ops[i] = op
	}
	// The fork: before the last lostN writes acknowledged on timeline 1.
	fork := t.Ops[lastOKOnOld].LSN - history.LSN(lostN-1)*0x98
	var present []history.IDRange
	for i := range t.Ops {
		op := &t.Ops[i]
		keep := (op.Outcome == history.OK && (op.Timeline == 2 || op.LSN < fork)) ||
			(op.Outcome == history.Unknown && op.ID%2 == 0 && op.Invoke >= crash+outage)
		if !keep {
			continue
		}
		if k := len(present); k > 0 && present[k-1].Last+1 == op.ID {
			present[k-1].Last = op.ID
		} else {
			present = append(present, history.IDRange{First: op.ID, Last: op.ID})
		}
	}
	last := t.Ops[n-1].Return
	t.End = last + 10*time.Millisecond
	hist := []history.TimelineSwitch{{TLI: 1, SwitchLSN: fork}}
	t.Final = &history.FinalState{ReadAt: t.End + time.Second, Instances: []history.InstanceState{
		{Name: "pg-0", Reachable: true, Timeline: 2, History: hist, Present: present},
		{Name: "pg-1", Reachable: true, Primary: true, Timeline: 2, History: hist, Present: present},
		{Name: "pg-2", Reachable: true, Timeline: 2, History: hist, Present: present},
	}}
	t.Faults = []history.FaultWindow{{Name: "kill-primary", Target: "pg-0", Injected: crash, Recovered: crash + 2*outage}}
	t.Events = []history.Event{{At: crash + outage - time.Second, Kind: history.EventPromoted, Detail: "pg-1"}}
	for at := time.Duration(0); at < t.End; at += 250 * time.Millisecond {
		switch {
		case at < crash:
			t.Observations = append(t.Observations,
				history.Observation{At: at, Instance: 0, Reachable: true, Timeline: 1, WriteLSN: lsn1},
				history.Observation{At: at, Instance: 1, Reachable: true, InRecovery: true, Streaming: true, Timeline: 1},
				history.Observation{At: at, Instance: 2, Reachable: true, InRecovery: true, Streaming: true, Timeline: 1})
		case at < crash+outage:
			t.Observations = append(t.Observations,
				history.Observation{At: at, Instance: 0, Err: 1},
				history.Observation{At: at, Instance: 1, Reachable: true, InRecovery: true, Timeline: 1},
				history.Observation{At: at, Instance: 2, Reachable: true, InRecovery: true, Timeline: 1})
		default:
			back := at >= crash+outage+5*time.Second
			t.Observations = append(t.Observations,
				history.Observation{At: at, Instance: 0, Reachable: back, InRecovery: back, Streaming: back, Timeline: 2},
				history.Observation{At: at, Instance: 1, Reachable: true, Timeline: 2, WriteLSN: lsn2},
				history.Observation{At: at, Instance: 2, Reachable: true, InRecovery: true, Streaming: true, Timeline: 2})
		}
	}
	return t
}

func benchmarkCheckers(b *testing.B, n int) {
	t := synthetic(n)
	cfg := DefaultConfig()
	// What the synthetic failover must show, checked once, untimed.
	r := Run(t, cfg)
	want := []history.Status{history.Failed, history.Pass, history.Pass, history.Pass, history.Pass, history.Pass}
	for i, v := range r.Checks {
		if v.Status != want[i] {
			b.Fatalf("%s: %s, want %s: %s%s", v.Name, v.Status, want[i], v.Summary, v.Reason)
		}
	}
	if lost := r.Checks[0].Figures["lost"]; lost != 50 {
		b.Fatalf("lost = %v, want 50", lost)
	}
	runtime.GC()
	var before, after runtime.MemStats
	var alloc uint64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		r = Run(t, cfg)
		b.StopTimer()
		runtime.ReadMemStats(&after)
		alloc += after.TotalAlloc - before.TotalAlloc
		b.StartTimer()
	}
	b.StopTimer()
	runtime.KeepAlive(r)
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	// The ledger itself (56 bytes a write) plus what the checkers allocate.
	b.ReportMetric(56+float64(alloc)/float64(b.N)/float64(n), "bytes/op")
}

// BenchmarkCheckers10M runs every checker on a failover of 10 million writes.
func BenchmarkCheckers10M(b *testing.B) { benchmarkCheckers(b, 10_000_000) }

// BenchmarkCheckers1M is the same on 1 million writes, for quick runs.
func BenchmarkCheckers1M(b *testing.B) { benchmarkCheckers(b, 1_000_000) }
