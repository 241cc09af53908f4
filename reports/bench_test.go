package reports

import (
	"bytes"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

// bigTrial is a 10-minute trial of n writes, one per 600/n s, with a fault
// in the middle where a tenth of them failed, and the final state missing
// the writes acknowledged just before it.
func bigTrial(n int) *history.Trial {
	span := 10 * time.Minute
	t := &history.Trial{End: span, Errors: []string{""}, Nodes: []history.Node{{Server: "s", Instance: "pg0"}}}
	t.Ops = make([]history.Op, n)
	step := span / time.Duration(n)
	for i := range t.Ops {
		at := time.Duration(i) * step
		o := history.Op{ID: int64(i + 1), Invoke: at, Return: at + time.Duration(500+i%1000)*time.Microsecond, Outcome: history.OK}
		if i > n/2 && i < n/2+n/10 && i%3 != 0 {
			o.Outcome = history.Fail
		}
		t.Ops[i] = o
	}
	t.Faults = []history.FaultWindow{{Name: "kill-primary", Injected: span / 2, Recovered: span/2 + span/10}}
	t.Final = &history.FinalState{Instances: []history.InstanceState{{Name: "pg0", Reachable: true, Primary: true,
		Present: []history.IDRange{{First: 1, Last: int64(n/2 - 100)}, {First: int64(n / 2), Last: int64(n)}}}}}
	for i := 0; i < 2400; i++ {
		t.Observations = append(t.Observations, history.Observation{At: time.Duration(i) * 250 * time.Millisecond, Reachable: true, Timeline: 1})
	}
	t.Instances = []history.Instance{{Name: "pg0"}}
	return t
}

func BenchmarkNewTimeline1M(b *testing.B) {
	t := bigTrial(1_000_000)
	b.ResetTimer()
	for range b.N {
		if tl := NewTimeline(t, true); tl.Lost != 99 {
			b.Fatalf("%d lost", tl.Lost)
		}
	}
}

func BenchmarkRender1M(b *testing.B) {
	h := bigTrial(1_000_000)
	run := Run{Dir: "big", Trials: []Trial{{Name: "big", History: h, Checked: true, Verdicts: []history.Verdict{
		{Name: history.CheckLostAckedWrites, Status: history.Failed, Figures: map[string]any{"lost": 99.0, "acked": 900000.0}},
	}}}}
	var buf bytes.Buffer
	b.ResetTimer()
	for range b.N {
		buf.Reset()
		run.Trials[0].Timeline = nil
		if err := Render(&buf, run); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/report")
}
