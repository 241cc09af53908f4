package reports

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/history"
)

const ms = time.Millisecond

func TestBinWidth(t *testing.T) {
	for _, c := range []struct {
		span, want time.Duration
	}{
		{0, 100 * ms},
		{time.Second, 100 * ms},
		{10 * time.Second, 100 * ms},
		{40 * time.Second, 100 * ms},
		{40*time.Second + 1, 200 * ms},
		{60 * time.Second, 200 * ms},
		{100 * time.Second, 250 * ms},
		{3 * time.Minute, 500 * ms},
		{time.Hour, 10 * time.Second},
		{24 * time.Hour, 5 * time.Minute},
		{1000 * time.Hour, 3 * time.Hour},
	} {
		got := BinWidth(c.span)
		if got != c.want {
			t.Errorf("BinWidth(%s) = %s, want %s", c.span, got, c.want)
		}
		if c.span > 0 && int((c.span+got-1)/got) > maxBins {
			t.Errorf("BinWidth(%s) = %s gives more than %d bins", c.span, got, maxBins)
		}
	}
}

func TestPercentile(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i)*ms)
	}
	for _, c := range []struct {
		vals []time.Duration
		q    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{[]time.Duration{7 * ms}, 0.5, 7 * ms},
		{[]time.Duration{7 * ms}, 0.99, 7 * ms},
		{[]time.Duration{1, 2, 3, 4}, 0.5, 2},
		{[]time.Duration{1, 2, 3, 4, 5}, 0.5, 3},
		{hundred, 0.5, 50 * ms},
		{hundred, 0.99, 99 * ms},
		{hundred, 1, 100 * ms},
		{hundred, 0.001, 1 * ms},
		{hundred, 0, 1 * ms},
	} {
		if got := Percentile(c.vals, c.q); got != c.want {
			t.Errorf("Percentile(%d values, %v) = %v, want %v", len(c.vals), c.q, got, c.want)
		}
	}
}

func op(id int64, inv, ret time.Duration, o history.Outcome) history.Op {
	return history.Op{ID: id, Invoke: inv, Return: ret, Outcome: o, Node: 0}
}

func TestBinned(t *testing.T) {
	ops := []history.Op{
		op(1, 10*ms, 20*ms, history.OK),       // bin 0, 10 ms
		op(2, 30*ms, 60*ms, history.OK),       // bin 0, 30 ms
		op(3, 50*ms, 150*ms, history.OK),      // bin 1 by return, 100 ms
		op(4, 120*ms, 130*ms, history.Fail),   // bin 1
		op(5, 90*ms, 290*ms, history.Unknown), // bin 0 by invocation
		op(6, 250*ms, 0, history.Pending),     // bin 2 by invocation
		op(7, 280*ms, 900*ms, history.OK),     // past the span: last bin
	}
	lost := func(id int64) bool { return id == 2 || id == 7 }
	bins := Binned(ops, 300*ms, 100*ms, lost)
	if len(bins) != 3 {
		t.Fatalf("%d bins, want 3", len(bins))
	}
	want := []Bin{
		{Start: 0, OK: 2, Unknown: 1, Lost: 1, P50: 10 * ms, P99: 30 * ms},
		{Start: 100 * ms, OK: 1, Failed: 1, P50: 100 * ms, P99: 100 * ms},
		{Start: 200 * ms, OK: 1, Unknown: 1, Lost: 1, P50: 620 * ms, P99: 620 * ms},
	}
	for i := range want {
		if bins[i] != want[i] {
			t.Errorf("bin %d = %+v, want %+v", i, bins[i], want[i])
		}
	}
	// Every write is counted once.
	total := 0
	for _, b := range bins {
		total += b.OK + b.Failed + b.Unknown
	}
	if total != len(ops) {
		t.Errorf("%d writes binned, want %d", total, len(ops))
	}
	if b := Binned(nil, 0, 0, nil); len(b) != 1 || b[0].OK != 0 {
		t.Errorf("Binned of nothing = %+v, want one empty bin", b)
	}
}

func obs(inst int, at time.Duration, up, rec, str bool, tl uint32) history.Observation {
	return history.Observation{Instance: history.InstanceID(inst), At: at, Reachable: up, InRecovery: rec, Streaming: str, Timeline: tl}
}

func TestRoleSpans(t *testing.T) {
	o := []history.Observation{
		obs(0, 0, true, false, false, 1),
		obs(1, 0, true, true, true, 1),
		obs(0, 250*ms, true, false, false, 1),
		obs(1, 250*ms, true, true, true, 1),
		obs(0, 500*ms, false, false, false, 0),
		obs(1, 500*ms, true, true, false, 1),
		obs(1, 750*ms, true, false, false, 2), // promoted
		obs(0, 750*ms, false, false, false, 0),
		obs(0, 1000*ms, true, true, true, 2), // rejoined
		obs(1, 1000*ms, true, false, false, 2),
	}
	got := RoleSpans(o, 1100*ms)
	want := []RoleSpan{
		{Instance: 0, Start: 0, End: 500 * ms, Role: RolePrimary, Timeline: 1},
		{Instance: 0, Start: 500 * ms, End: 1000 * ms, Role: RoleDown},
		{Instance: 0, Start: 1000 * ms, End: 1100 * ms, Role: RoleReplica, Timeline: 2},
		{Instance: 1, Start: 0, End: 500 * ms, Role: RoleReplica, Timeline: 1},
		{Instance: 1, Start: 500 * ms, End: 750 * ms, Role: RoleReplicaIdle, Timeline: 1},
		{Instance: 1, Start: 750 * ms, End: 1100 * ms, Role: RolePrimary, Timeline: 2},
	}
	if !slices.Equal(got, want) {
		t.Errorf("RoleSpans:\n got %+v\nwant %+v", got, want)
	}
	// The last observation holds for one median poll interval when the
	// trial's end is earlier than that.
	got = RoleSpans(o, 0)
	if last := got[len(got)-1]; last.End != 1250*ms {
		t.Errorf("last span ends at %s, want 1.25s", last.End)
	}
}

func TestLostWrites(t *testing.T) {
	tr := &history.Trial{
		Ops: []history.Op{op(1, 0, 1, history.OK), op(2, 0, 1, history.OK), op(3, 0, 1, history.Fail), op(4, 0, 1, history.OK), op(5, 0, 1, history.OK)},
		Final: &history.FinalState{Instances: []history.InstanceState{
			{Name: "old", Reachable: true, Present: []history.IDRange{{First: 1, Last: 5}}},
			{Name: "new", Reachable: true, Primary: true, Present: []history.IDRange{{First: 1, Last: 1}, {First: 3, Last: 3}, {First: 5, Last: 9}}},
		}},
	}
	got, n := LostWrites(tr)
	if n != 2 || !slices.Equal(got, []bool{false, true, false, true, false}) {
		t.Errorf("LostWrites = %v, %d, want writes 2 and 4", got, n)
	}
	tl := NewTimeline(tr, true)
	if tl.Lost != 2 || tl.Writes != 5 || tl.OK != 4 || tl.Failed != 1 || tl.Unknown != 0 || tl.Bins[0].Lost != 2 {
		t.Errorf("NewTimeline = %+v", tl)
	}
	if tl := NewTimeline(tr, false); tl.Lost != 0 || tl.Bins[0].Lost != 0 {
		t.Errorf("NewTimeline without countLost counted %d lost", tl.Lost)
	}
	tr.Final = nil
	if got, n := LostWrites(tr); got != nil || n != 0 {
		t.Error("LostWrites without a final state is not nil")
	}
}

func TestScales(t *testing.T) {
	x := linear{0, 10, 100, 1100}
	for _, c := range [][2]float64{{0, 100}, {10, 1100}, {5, 600}, {-1, 0}} {
		if got := x.At(c[0]); got != c[1] {
			t.Errorf("linear.At(%v) = %v, want %v", c[0], got, c[1])
		}
	}
	// A y axis grows upwards: range reversed.
	y := linear{0, 200, 150, 10}
	if got := y.At(100); got != 80 {
		t.Errorf("reversed linear.At(100) = %v, want 80", got)
	}
	if got := (linear{3, 3, 7, 9}).At(100); got != 7 {
		t.Errorf("degenerate domain maps to %v, want 7", got)
	}
	l := logScale{1e-3, 1, 100, 0}
	for _, c := range [][2]float64{{1e-3, 100}, {1, 0}, {0.1, 100.0 / 3}, {1e-9, 100}, {50, 0}} {
		if got := l.At(c[0]); math.Abs(got-c[1]) > 1e-9 {
			t.Errorf("logScale.At(%v) = %v, want %v", c[0], got, c[1])
		}
	}
}

func TestTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{0, 10, 5, []float64{0, 2, 4, 6, 8, 10}},
		{0, 9.8, 12, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{0, 1, 4, []float64{0, 0.5, 1}},
		{0, 0.3, 3, []float64{0, 0.1, 0.2, 0.3}},
		{0, 5000, 4, []float64{0, 2000, 4000}},
		{2, 2, 4, []float64{2}},
	} {
		if got := NiceTicks(c.lo, c.hi, c.n); !slices.Equal(got, c.want) {
			t.Errorf("NiceTicks(%v, %v, %d) = %v, want %v", c.lo, c.hi, c.n, got, c.want)
		}
	}
	for _, v := range NiceTicks(0, 7, 12) {
		if math.Signbit(v) {
			t.Errorf("NiceTicks gave -0")
		}
	}
	for _, c := range [][2]float64{{0, 1}, {0.3, 1}, {1, 1}, {7, 10}, {10, 10}, {11, 20}, {21, 25}, {4200, 5000}, {60000, 100000}} {
		if got := NiceMax(c[0]); got != c[1] {
			t.Errorf("NiceMax(%v) = %v, want %v", c[0], got, c[1])
		}
	}
	if got := LogTicks(1e-4, 1); !slices.Equal(got, []float64{1e-4, 1e-3, 1e-2, 1e-1, 1}) {
		t.Errorf("LogTicks(1e-4, 1) = %v", got)
	}
	if got := LogTicks(1e-3, 1e-2); !slices.Equal(got, []float64{1e-3, 2e-3, 5e-3, 1e-2}) {
		t.Errorf("LogTicks(1e-3, 1e-2) = %v", got)
	}
	if d0, d1 := LogDomain(0.00023, 0.31); d0 != 1e-4 || d1 != 1 {
		t.Errorf("LogDomain(0.00023, 0.31) = %v, %v, want 1e-4, 1", d0, d1)
	}
	if d0, d1 := LogDomain(0.01, 0.01); d0 != 0.01 || d1 != 0.1 {
		t.Errorf("LogDomain of one value = %v, %v, want one decade", d0, d1)
	}
}

func TestFormats(t *testing.T) {
	for _, c := range [][2]string{
		{fmtLatency(0.00085), "850 µs"},
		{fmtLatency(0.0123), "12.3 ms"},
		{fmtLatency(1.5), "1.5 s"},
		{fmtSeconds(2.5), "2.5 s"},
		{fmtCount(0), "0"},
		{fmtCount(999), "999"},
		{fmtCount(1460), "1,460"},
		{fmtCount(1234567), "1,234,567"},
		{fmtCount(-1234), "-1,234"},
		{shorten("short", 10), "short"},
		{shorten("pg0 is on timeline 1, not on the newest", 20), "pg0 is on timeline…"},
		{bytesText(187432), "183 KiB"},
		{secs(1.639486), "1.64 s"},
		{secs(0.003432), "0.003 s"},
	} {
		if c[0] != c[1] {
			t.Errorf("got %q, want %q", c[0], c[1])
		}
	}
}

func TestPlaceLabels(t *testing.T) {
	// Label 1 overlaps label 0: a second row; label 2 fits after label 0;
	// label 3 overlaps the last label of both rows: a third row.
	rows, n := placeLabels([]float64{0, 50, 200, 60}, []float64{100, 100, 10, 10})
	if n != 3 || !slices.Equal(rows, []int{0, 1, 0, 2}) {
		t.Errorf("placeLabels rows %v (%d rows), want [0 1 0 2] (3 rows)", rows, n)
	}
}
