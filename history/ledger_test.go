package history

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLSNRoundTrip(t *testing.T) {
	for _, s := range []string{"0/0", "0/16B3F28", "16/B374D848", "FFFFFFFF/FFFFFFFF"} {
		l, err := ParseLSN(s)
		if err != nil {
			t.Fatalf("ParseLSN(%q): %v", s, err)
		}
		if got := l.String(); got != s {
			t.Errorf("ParseLSN(%q).String() = %q", s, got)
		}
	}
	for _, bad := range []string{"", "16", "x/1", "1/", "100000000/0"} {
		if _, err := ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) succeeded, want an error", bad)
		}
	}
	a, _ := ParseLSN("1/0")
	b, _ := ParseLSN("0/FFFFFFFF")
	if a-b != 1 {
		t.Errorf("1/0 - 0/FFFFFFFF = %d, want 1", a-b)
	}
}

func writeLedger(t *testing.T, dir string) {
	t.Helper()
	l, err := NewLedger(dir, Meta{Target: "host=x", Clients: 2, Table: "pgchaos_writes", Run: 7})
	if err != nil {
		t.Fatal(err)
	}
	n, err := l.Node(Node{Server: "127.0.0.1:5432", Instance: "pg0"})
	if err != nil || n != 0 {
		t.Fatalf("Node = %d, %v", n, err)
	}
	if n2, _ := l.Node(Node{Server: "127.0.0.1:5432", Instance: "pg0"}); n2 != 0 {
		t.Fatalf("same node got a new id %d", n2)
	}
	id1, _, _ := l.Begin(0)
	id2, _, _ := l.Begin(1)
	id3, _, _ := l.Begin(0)
	if id1 != 1 || id2 != 2 || id3 != 3 {
		t.Fatalf("ids %d %d %d, want 1 2 3", id1, id2, id3)
	}
	lsn, _ := ParseLSN("0/3000148")
	if _, err := l.Acked(id1, Ack{Node: n, LSN: lsn, Timeline: 1, ServerClock: 99}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Finished(id2, Fail, errors.New(`ERROR: "quoted" read-only`)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Finished(id3, OK, nil); err == nil {
		t.Fatal("Finished accepted OK")
	}
	if _, err := l.Finished(id3, Unknown, errors.New("timeout")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Begin(1); err != nil { // id 4 stays pending
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestLedgerRoundTrip(t *testing.T) {
	dir := t.TempDir()
	writeLedger(t, dir)
	tr, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Truncated {
		t.Error("closed ledger read as truncated")
	}
	if tr.Meta.Run != 7 || tr.Meta.Clients != 2 || tr.Meta.Version != LedgerVersion {
		t.Errorf("meta = %+v", tr.Meta)
	}
	if len(tr.Ops) != 4 {
		t.Fatalf("%d ops, want 4", len(tr.Ops))
	}
	want := []Outcome{OK, Fail, Unknown, Pending}
	for i, o := range tr.Ops {
		if o.Outcome != want[i] || o.ID != int64(i+1) {
			t.Errorf("op %d: id %d outcome %s, want %s", i, o.ID, o.Outcome, want[i])
		}
	}
	if tr.Ops[0].LSN.String() != "0/3000148" || tr.Ops[0].Timeline != 1 || tr.Ops[0].ServerClock != 99 || tr.Ops[0].Node != 0 {
		t.Errorf("ack evidence lost: %+v", tr.Ops[0])
	}
	if got := tr.Error(tr.Ops[1].Err); got != `ERROR: "quoted" read-only` {
		t.Errorf("error message = %q", got)
	}
	if tr.Ops[3].Node != NoNode {
		t.Errorf("pending op has node %d", tr.Ops[3].Node)
	}
	if tr.Ops[0].Return < tr.Ops[0].Invoke {
		t.Errorf("return %v before invoke %v", tr.Ops[0].Return, tr.Ops[0].Invoke)
	}
}

func TestLedgerTruncatedPrefix(t *testing.T) {
	dir := t.TempDir()
	writeLedger(t, dir)
	p := filepath.Join(dir, LedgerFile)
	b, _ := os.ReadFile(p)
	// Cut the end record and half of the invocation of write 4 before it,
	// as a kill would (the file ends with a newline: the last element is "").
	lines := strings.SplitAfter(string(b), "\n")
	cut := strings.Join(lines[:len(lines)-3], "") + lines[len(lines)-3][:7]
	if err := os.WriteFile(p, []byte(cut), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := Load(dir)
	if err != nil {
		t.Fatalf("a killed writer's prefix must load: %v", err)
	}
	if !tr.Truncated {
		t.Error("ledger without end record not marked truncated")
	}
	if len(tr.Ops) != 3 || tr.Ops[2].Outcome != Unknown {
		t.Errorf("prefix: %d ops, last %v", len(tr.Ops), tr.Ops[len(tr.Ops)-1].Outcome)
	}
}

func TestLoadRejectsBadLedgers(t *testing.T) {
	hdr := `{"t":"header","format":"pgchaos-ledger","version":1,"start":"2026-11-22T00:00:00Z"}` + "\n"
	cases := map[string]string{
		"empty":            "",
		"no header":        `{"t":"inv","id":1,"c":0,"at":1}` + "\n",
		"garbage":          hdr + "this is not json\n" + `{"t":"end","at":2}` + "\n",
		"future version":   strings.Replace(hdr, `"version":1`, `"version":99`, 1),
		"other format":     strings.Replace(hdr, "pgchaos-ledger", "other", 1),
		"id gap":           hdr + `{"t":"inv","id":2,"c":0,"at":1}` + "\n",
		"outcome twice":    hdr + `{"t":"inv","id":1,"c":0,"at":1}` + "\n" + `{"t":"unk","id":1,"at":2}` + "\n" + `{"t":"fail","id":1,"at":3}` + "\n",
		"unknown node":     hdr + `{"t":"inv","id":1,"c":0,"at":1}` + "\n" + `{"t":"ok","id":1,"at":2,"n":0,"lsn":"0/1","tl":1}` + "\n",
		"never invoked":    hdr + `{"t":"fail","id":5,"at":3}` + "\n",
		"record after end": hdr + `{"t":"end","at":2}` + "\n" + `{"t":"inv","id":1,"c":0,"at":3}` + "\n",
		"unknown type":     hdr + `{"t":"boom","at":2}` + "\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, LedgerFile), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(dir); err == nil {
				t.Fatal("Load accepted a bad ledger")
			} else if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	if _, err := Load(t.TempDir()); !errors.Is(err, ErrNoLedger) {
		t.Errorf("empty directory: %v, want ErrNoLedger", err)
	}
}

func TestMonitorAndFaultLogs(t *testing.T) {
	dir := t.TempDir()
	writeLedger(t, dir)
	start := time.Now()
	ol, err := NewObservationLog(dir, start, []Instance{{Name: "pg0"}, {Name: "pg1"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = ol.Record(Observation{At: time.Second, Instance: 0, Reachable: true, Timeline: 2, WriteLSN: 0x3000148}, "")
	_ = ol.Record(Observation{At: 2 * time.Second, Instance: 1}, "connection refused")
	if err := ol.Close(); err != nil {
		t.Fatal(err)
	}
	fl, err := NewFaultLog(dir, start)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fl.Injected("kill", "pg0", "SIGKILL")
	_, _ = fl.Event(EventPromoted, "pg1")
	_, _ = fl.Recovered("kill")
	_, _ = fl.Injected("stop", "pg1", "")
	if err := fl.Close(); err != nil {
		t.Fatal(err)
	}
	tr, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Instances) != 2 || len(tr.Observations) != 2 {
		t.Fatalf("instances %d observations %d", len(tr.Instances), len(tr.Observations))
	}
	o := tr.Observations[0]
	if !o.Reachable || o.Timeline != 2 || o.WriteLSN != 0x3000148 || o.At != time.Second {
		t.Errorf("observation = %+v", o)
	}
	if tr.Error(tr.Observations[1].Err) != "connection refused" || tr.Observations[1].Reachable {
		t.Errorf("unreachable observation = %+v", tr.Observations[1])
	}
	if len(tr.Faults) != 2 || tr.Faults[0].Recovered == 0 || tr.Faults[1].Recovered != 0 {
		t.Errorf("faults = %+v", tr.Faults)
	}
	if len(tr.Events) != 1 || tr.Events[0].Kind != EventPromoted {
		t.Errorf("events = %+v", tr.Events)
	}
	fs := &FinalState{Instances: []InstanceState{{Name: "pg0", Reachable: true, Primary: true, LSN: 0x10, Present: []IDRange{{1, 3}}}}}
	if err := WriteFinal(dir, fs); err != nil {
		t.Fatal(err)
	}
	tr, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Final == nil || tr.Final.Instances[0].LSN != 0x10 || tr.Final.Authoritative() != 0 {
		t.Errorf("final = %+v", tr.Final)
	}
}
